//! Judging replies with the independent judges (tiller-judge), then summarizing each group of
//! replies that share a concept, condition, coefficient and prompt kind.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tiller_judge::{Stance, Tagger, distinct_n, formality, is_demeaning, is_toxic, stance, vader_compound};

use super::plan::{Concept, Condition, Kind};
use super::run::Reply;

/// Every judge on every reply: a sentiment slider may move formality too, and the tables show it.
pub struct Scores {
    pub vader: f64,
    pub f_score: f64,
    pub words: usize,
    pub contraction_rate: f64,
    pub slang_rate: f64,
    pub refusal: bool,
    pub stance: Stance,
    /// The lexicon's toxicity, or a demeaning put-down in ordinary words.
    pub toxic: bool,
}

pub fn judge(tagger: &Tagger, text: &str) -> Scores {
    let f = formality(tagger, text);
    Scores {
        vader: vader_compound(text),
        f_score: f.f_score,
        words: f.words,
        contraction_rate: f.contraction_rate,
        slang_rate: f.slang_rate,
        refusal: stance(text) == Stance::Refuse,
        stance: stance(text),
        toxic: is_toxic(text) || is_demeaning(text),
    }
}

/// Which replies a row of the table summarizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub condition: Condition,
    /// Coefficient × 100 (exact for the grid, and orderable).
    pub coef_pct: i32,
    pub kind: Kind,
}

impl GroupKey {
    pub fn coef(&self) -> f32 {
        self.coef_pct as f32 / 100.0
    }
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub n: usize,
    pub vader: f64,
    pub f_score: f64,
    /// Per 100 words.
    pub contractions: f64,
    pub slang: f64,
    pub refusal: f64,
    /// Refused or deflected: did not comply.
    pub declined: f64,
    pub toxic: f64,
    /// exp(Σ nll / Σ tokens) under the unsteered model.
    pub perplexity: f64,
    /// The same, over the tokens after each reply's first sentence.
    pub perplexity_after_first: f64,
    pub distinct2: f64,
    pub tokens: f64,
    /// Share of replies that were steered.
    pub steered: f64,
    /// Share of replies whose prompt opened the gate (NaN without one).
    pub gated: f64,
    /// The gate's score of each prompt (empty without a gate).
    pub gate_scores: Vec<f32>,
}

/// Group replies and average their scores; F-scores are averaged over replies with words.
pub fn summarize(c: &Concept, replies: &[Reply], scores: &[Scores]) -> BTreeMap<GroupKey, Summary> {
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, r) in replies.iter().enumerate() {
        let kind = c.prompts[r.job.prompt].kind;
        let key = |kind| GroupKey { condition: r.job.condition, coef_pct: (r.job.coef * 100.0).round() as i32, kind };
        groups.entry(key(kind)).or_default().push(i);
        for &wider in kind.parents() {
            groups.entry(key(wider)).or_default().push(i);
        }
    }
    groups
        .into_iter()
        .map(|(key, idx)| {
            let n = idx.len();
            let mean = |f: &dyn Fn(usize) -> f64| idx.iter().map(|&i| f(i)).sum::<f64>() / n.max(1) as f64;
            let worded: Vec<usize> = idx.iter().copied().filter(|&i| scores[i].words > 0).collect();
            let (nll, toks) =
                idx.iter().fold((0.0, 0usize), |(a, t), &i| (a + replies[i].nll, t + replies[i].ids.len()));
            let (nll1, toks1) = idx
                .iter()
                .filter_map(|&i| replies[i].nll_after_first)
                .fold((0.0, 0usize), |(a, t), (n, k)| (a + n, t + k));
            let gates: Vec<bool> = idx.iter().filter_map(|&i| replies[i].gate.map(|g| g.engaged())).collect();
            let gate_scores: Vec<f32> = idx.iter().filter_map(|&i| replies[i].gate.map(|g| g.score)).collect();
            let texts: Vec<&str> = idx.iter().map(|&i| replies[i].text.as_str()).collect();
            let summary = Summary {
                n,
                vader: mean(&|i| scores[i].vader),
                f_score: worded.iter().map(|&i| scores[i].f_score).sum::<f64>() / worded.len().max(1) as f64,
                contractions: 100.0 * mean(&|i| scores[i].contraction_rate),
                slang: 100.0 * mean(&|i| scores[i].slang_rate),
                refusal: mean(&|i| f64::from(u8::from(scores[i].refusal))),
                declined: mean(&|i| f64::from(u8::from(scores[i].stance != Stance::Comply))),
                toxic: mean(&|i| f64::from(u8::from(scores[i].toxic))),
                perplexity: if toks > 0 { (nll / toks as f64).exp() } else { f64::NAN },
                perplexity_after_first: if toks1 > 0 { (nll1 / toks1 as f64).exp() } else { f64::NAN },
                distinct2: distinct_n(&texts, 2),
                tokens: toks as f64 / n.max(1) as f64,
                steered: mean(&|i| f64::from(u8::from(replies[i].steered))),
                gated: if gates.is_empty() {
                    f64::NAN
                } else {
                    gates.iter().filter(|&&g| g).count() as f64 / gates.len() as f64
                },
                gate_scores,
            };
            (key, summary)
        })
        .collect()
}

/// One reply with its scores, for the samples file.
pub fn sample_json(c: &Concept, r: &Reply, s: &Scores) -> Value {
    json!({
        "concept": c.id,
        "condition": r.job.condition.name(),
        "coef": r.job.coef,
        "kind": c.prompts[r.job.prompt].kind.name(),
        "prompt": c.prompts[r.job.prompt].text,
        "reply": r.text,
        "tokens": r.ids.len(),
        "finished": r.finished,
        "steered": r.steered,
        "nll": r.nll,
        "vader": s.vader,
        "f_score": s.f_score,
        "words": s.words,
        "contraction_rate": s.contraction_rate,
        "slang_rate": s.slang_rate,
        "refusal": s.refusal,
        "stance": s.stance.name(),
        "gate": r.gate.map(|g| json!({"score": g.score, "threshold": g.threshold, "engaged": g.engaged()})),
        "toxic": s.toxic,
    })
}
