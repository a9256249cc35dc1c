//! Judging replies with the independent judges (tiller-judge), then summarizing each group of
//! replies that share a concept, condition, coefficient and prompt kind.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tiller_judge::{Tagger, distinct_n, formality, is_refusal, is_toxic, vader_compound};

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
        refusal: is_refusal(text),
        toxic: is_toxic(text),
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
    pub toxic: f64,
    /// exp(Σ nll / Σ tokens) under the unsteered model.
    pub perplexity: f64,
    pub distinct2: f64,
    pub tokens: f64,
    /// Share of replies that were steered (below 1 when a CAST condition held some back).
    pub steered: f64,
}

/// Group replies and average their scores; F-scores are averaged over replies with words.
pub fn summarize(c: &Concept, replies: &[Reply], scores: &[Scores]) -> BTreeMap<GroupKey, Summary> {
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, r) in replies.iter().enumerate() {
        let kind = c.prompts[r.job.prompt].kind;
        let key = |kind| GroupKey { condition: r.job.condition, coef_pct: (r.job.coef * 100.0).round() as i32, kind };
        groups.entry(key(kind)).or_default().push(i);
        if kind != Kind::Any {
            groups.entry(key(Kind::Any)).or_default().push(i);
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
            let texts: Vec<&str> = idx.iter().map(|&i| replies[i].text.as_str()).collect();
            let summary = Summary {
                n,
                vader: mean(&|i| scores[i].vader),
                f_score: worded.iter().map(|&i| scores[i].f_score).sum::<f64>() / worded.len().max(1) as f64,
                contractions: 100.0 * mean(&|i| scores[i].contraction_rate),
                slang: 100.0 * mean(&|i| scores[i].slang_rate),
                refusal: mean(&|i| f64::from(u8::from(scores[i].refusal))),
                toxic: mean(&|i| f64::from(u8::from(scores[i].toxic))),
                perplexity: if toks > 0 { (nll / toks as f64).exp() } else { f64::NAN },
                distinct2: distinct_n(&texts, 2),
                tokens: toks as f64 / n.max(1) as f64,
                steered: mean(&|i| f64::from(u8::from(replies[i].steered))),
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
        "toxic": s.toxic,
    })
}
