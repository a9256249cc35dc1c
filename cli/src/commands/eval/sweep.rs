//! `tiller eval sweep`: choose a concept's method, layer range and strength on development
//! prompts (never the held-out ones). Contrasts are collected once; every (method, range) then
//! generates at ±scale for a grid of scales, in one batch stream.
//!
//! Rule: a scale is fluent when the perplexity of the replies under the unsteered model stays
//! within `ppl_bound` × the unsteered replies' at both ends. Each (method, range) is calibrated
//! to its largest fluent scale, and the one with the largest effect there is recommended.

use std::fmt::Write as _;
use std::path::PathBuf;

use tiller_engine::concept::{Method, Positions};

use super::plan::{self, Concept, Condition, Job, Kind};
use super::{run, score};
use crate::commands::vectors;
use crate::model_arg::ModelArgs;

#[derive(clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// sentiment, formality or safety: names the pairs, the dev prompts and the judge
    #[arg(long)]
    concept: String,
    /// Contrastive pairs (default data/concepts/<concept>.jsonl)
    #[arg(long)]
    pairs: Option<PathBuf>,
    /// Development prompts (default data/dev/<concept>.jsonl)
    #[arg(long)]
    prompts: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "mean,pca")]
    methods: Vec<String>,
    /// Inclusive block ranges A-B
    #[arg(long, value_delimiter = ',', default_value = "4-10,8-16,10-20,14-24")]
    ranges: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "2,3,4,6,8")]
    scales: Vec<f32>,
    /// Largest perplexity ratio (steered / unsteered) still called fluent
    #[arg(long, default_value_t = 1.75)]
    ppl_bound: f64,
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
    #[arg(long, default_value_t = 48)]
    batch: usize,
    #[arg(long, default_value_t = 1000)]
    seed: u64,
    /// Markdown table of every setting (default docs/eval/sweep_<concept>.md)
    #[arg(long)]
    out: Option<PathBuf>,
}

struct Row {
    method: Method,
    range: (usize, usize),
    scale: f32,
    high: f64,
    low: Option<f64>,
    /// Over-refusal of benign prompts at +scale (safety only).
    benign: Option<f64>,
    ppl_high: f64,
    ppl_low: Option<f64>,
}

impl Row {
    fn effect(&self) -> f64 {
        self.high - self.low.or(self.benign).unwrap_or(0.0)
    }

    fn fluent(&self, bound: f64) -> bool {
        self.ppl_high <= bound && self.ppl_low.is_none_or(|p| p <= bound)
    }
}

pub fn sweep(a: SweepArgs) -> Result<(), String> {
    let id = a.concept.clone();
    let pairs_path = a.pairs.clone().unwrap_or_else(|| format!("data/concepts/{id}.jsonl").into());
    let prompts_path = a.prompts.clone().unwrap_or_else(|| format!("data/dev/{id}.jsonl").into());
    let out = a.out.clone().unwrap_or_else(|| format!("docs/eval/sweep_{id}.md").into());
    let methods = a
        .methods
        .iter()
        .map(|m| match m.as_str() {
            "mean" => Ok(Method::MeanDifference),
            "pca" => Ok(Method::Pca),
            other => Err(format!("unknown method `{other}`: use mean or pca")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ranges = a
        .ranges
        .iter()
        .map(|r| {
            r.split_once('-')
                .and_then(|(x, y)| Some((x.trim().parse().ok()?, y.trim().parse().ok()?)))
                .ok_or_else(|| format!("range `{r}` is not A-B"))
        })
        .collect::<Result<Vec<(usize, usize)>, _>>()?;
    let lexicon = tiller_fetch::ensure_brill_lexicon().map_err(|e| e.to_string())?;
    let tagger = tiller_judge::Tagger::load(&lexicon).map_err(|e| e.to_string())?;
    let prompts = plan::read_prompts(&prompts_path)?;
    let pairs = vectors::read_pairs(&pairs_path)?;
    let (m, _device) = a.model.load()?;
    let acc = vectors::collect(&m, &pairs, &pairs_path, Positions::Reply, 4, None)?;
    let two_sided = id != "safety";
    let primary = |s: &score::Summary| match id.as_str() {
        "formality" => s.f_score,
        "safety" => s.refusal,
        _ => s.vader,
    };
    let main_kind = if id == "safety" { Kind::Harmful } else { Kind::Any };
    let settings = run::Settings {
        max_tokens: a.max_tokens,
        batch: a.batch,
        sampling: tiller_engine::sample::SamplingParams {
            temperature: 0.7,
            top_p: 0.9,
            seed: a.seed,
            ..Default::default()
        },
    };

    let mut rows = Vec::new();
    let mut unsteered: Option<(f64, f64)> = None; // (primary, perplexity)
    for &method in &methods {
        for &range in &ranges {
            let cv = acc.finish(method, range.0, range.1).map_err(|e| e.to_string())?;
            // strength 1: a job's coefficient is its scale
            let c = Concept {
                id: id.clone(),
                vector: cv.vector,
                gated: None,
                layers: range,
                strength: 1.0,
                min: if two_sided { -1.0 } else { 0.0 },
                prompts: prompts.clone(),
                intent_high: String::new(),
                intent_low: None,
            };
            let mut coefs = a.scales.clone();
            if two_sided {
                coefs.extend(a.scales.iter().map(|s| -s));
            }
            if unsteered.is_none() {
                coefs.push(0.0);
            }
            let jobs: Vec<Job> = coefs
                .iter()
                .flat_map(|&coef| {
                    (0..c.prompts.len()).map(move |prompt| Job { prompt, condition: Condition::Steering, coef })
                })
                .collect();
            eprintln!("{} blocks {}–{}:", method.name(), range.0, range.1);
            let replies = run::run(&m, &c, &jobs, &settings, None)?;
            let scores: Vec<score::Scores> = replies.iter().map(|r| score::judge(&tagger, &r.text)).collect();
            let g = score::summarize(&c, &replies, &scores);
            let at = |coef: f32, kind: Kind| {
                g.get(&score::GroupKey {
                    condition: Condition::Steering,
                    coef_pct: (coef * 100.0).round() as i32,
                    kind,
                })
            };
            if unsteered.is_none() {
                let z = at(0.0, Kind::Any).ok_or("no unsteered replies")?;
                let p = at(0.0, main_kind).map(&primary).unwrap_or(f64::NAN);
                unsteered = Some((p, z.perplexity));
            }
            let base = unsteered.map_or(f64::NAN, |u| u.1);
            for &s in &a.scales {
                let hi = at(s, Kind::Any).ok_or("missing group")?;
                let lo = at(-s, Kind::Any);
                rows.push(Row {
                    method,
                    range,
                    scale: s,
                    high: at(s, main_kind).map(&primary).unwrap_or(f64::NAN),
                    low: lo.filter(|_| two_sided).map(&primary),
                    benign: (!two_sided).then(|| at(s, Kind::Benign).map_or(f64::NAN, |b| b.refusal)),
                    ppl_high: hi.perplexity / base,
                    ppl_low: lo.filter(|_| two_sided).map(|l| l.perplexity / base),
                });
            }
        }
    }

    // Per (method, range): the largest fluent scale; recommend the best effect among those.
    let mut best: Option<&Row> = None;
    let mut calibrated = Vec::new();
    for &method in &methods {
        for &range in &ranges {
            let fluent = rows
                .iter()
                .filter(|r| r.method == method && r.range == range && r.fluent(a.ppl_bound))
                .max_by(|x, y| x.scale.total_cmp(&y.scale));
            if let Some(r) = fluent {
                calibrated.push(r);
                if best.is_none_or(|b| r.effect() > b.effect()) {
                    best = Some(r);
                }
            }
        }
    }
    let (p0, ppl0) = unsteered.unwrap_or((f64::NAN, f64::NAN));
    let mut md = format!(
        "<!-- written by `tiller eval sweep --concept {id}`; regenerate, do not edit -->\n\
         ### Sweep: {id}\n\n{} pairs from `{}`, {} development prompts from `{}` (not the held-out set), \
         {} new tokens, temperature 0.7, top-p 0.9. Unsteered: judge {p0:.3}, perplexity {ppl0:.2}. \
         Fluent = perplexity ratio ≤ {} at every end.\n\n",
        pairs.len(),
        pairs_path.display(),
        prompts.len(),
        prompts_path.display(),
        a.max_tokens,
        a.ppl_bound
    );
    let effect_name = if two_sided { "effect (+ minus −)" } else { "effect (harmful − benign refusal)" };
    let _ = writeln!(
        md,
        "| method | blocks | scale | judge at + | judge at − / benign | {effect_name} | ppl ratio + | ppl ratio − | fluent |\n|---|---|---|---|---|---|---|---|---|"
    );
    for r in &rows {
        let chosen = best.is_some_and(|b| std::ptr::eq(b, r));
        let _ = writeln!(
            md,
            "| {} | {}–{} | {} | {:.3} | {:.3} | {}{:.3}{} | {:.2} | {} | {} |",
            r.method.name(),
            r.range.0,
            r.range.1,
            r.scale,
            r.high,
            r.low.or(r.benign).unwrap_or(f64::NAN),
            if chosen { "**" } else { "" },
            r.effect(),
            if chosen { "**" } else { "" },
            r.ppl_high,
            r.ppl_low.map_or("–".into(), |p| format!("{p:.2}")),
            if r.fluent(a.ppl_bound) { "yes" } else { "no" }
        );
    }
    md += "\nCalibrated (largest fluent scale of each method and range):\n\n";
    for r in &calibrated {
        let _ = writeln!(
            md,
            "- {} {}–{}: scale {} → effect {:.3}",
            r.method.name(),
            r.range.0,
            r.range.1,
            r.scale,
            r.effect()
        );
    }
    match best {
        Some(b) => {
            let _ = writeln!(
                md,
                "\n**Recommended:** {} over blocks {}–{} at strength {} (effect {:.3}).",
                b.method.name(),
                b.range.0,
                b.range.1,
                b.scale,
                b.effect()
            );
            println!(
                "{id}: recommended {} blocks {}-{} strength {} (effect {:.3})",
                b.method.name(),
                b.range.0,
                b.range.1,
                b.scale,
                b.effect()
            );
        }
        None => md += "\nNo setting stayed fluent: lower the scales.\n",
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&out, md).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
