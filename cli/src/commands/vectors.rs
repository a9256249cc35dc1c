//! `tiller vectors build`: a steering vector from contrastive pairs, by mean difference (CAA) or
//! by PCA of the paired differences (RepE).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use tiller_engine::chat::Message;
use tiller_engine::concept::{
    self, ConceptVector, ConditionVector, Contrasts, Method, Pair, PairsError, Positions, prompt_means,
};
use tiller_engine::load::LoadedModel;

use crate::model_arg::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a control-vector GGUF of unit directions from a JSONL file of contrastive pairs
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// JSONL, one {"prompt", "positive", "negative"} object per line (optional "system")
    #[arg(long)]
    pairs: PathBuf,
    /// Where to write the control-vector GGUF
    #[arg(long)]
    out: PathBuf,
    /// Write directions for blocks A..=B only (default: 1 to the last block)
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    layers: Option<Vec<usize>>,
    /// Positions each text's mean is taken over
    #[arg(long, value_enum, default_value = "reply")]
    positions: PositionsArg,
    /// How the paired differences become a direction
    #[arg(long, value_enum, default_value = "mean")]
    method: MethodArg,
    /// Pairs run together in one forward (faster; results agree to ~1e-6)
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Make the vector conditional (CAST): it should apply only to prompts like this file's
    /// pairs' prompts, not to the prompts of these JSONL files (comma-separated)
    #[arg(long, value_delimiter = ',')]
    condition_against: Vec<PathBuf>,
    /// Blocks A-B the condition may read (the best on a 20% validation split is kept)
    #[arg(long, default_value = "2-16")]
    condition_layers: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MethodArg {
    /// Mean of the differences (CAA)
    Mean,
    /// First principal component of the centred differences, signed by the mean (RepE, repeng)
    Pca,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PositionsArg {
    /// The assistant's reply only (the prompt is the same on both sides)
    Reply,
    /// Every position after the first
    All,
}

pub fn run(a: Args) -> Result<(), String> {
    match a.command {
        Command::Build(b) => build(b),
    }
}

fn build(a: BuildArgs) -> Result<(), String> {
    let pairs = read_pairs(&a.pairs)?;
    let (m, _device) = a.model.load()?;
    let n_layer = m.model.config.n_layer;
    let (start, end) = a.layers.as_ref().map_or((1, n_layer.saturating_sub(1)), |l| (l[0], l[1]));
    let positions = match a.positions {
        PositionsArg::Reply => Positions::Reply,
        PositionsArg::All => Positions::All,
    };
    let method = match a.method {
        MethodArg::Mean => Method::MeanDifference,
        MethodArg::Pca => Method::Pca,
    };
    let acc = collect(&m, &pairs, &a.pairs, positions, a.batch, Some((start, end)))?;
    let mut cv = acc.finish(method, start, end).map_err(|e| e.to_string())?;
    if !a.condition_against.is_empty() {
        cv.condition = Some(condition(&m, &pairs, &a.condition_against, &a.condition_layers)?);
    }
    std::fs::write(&a.out, cv.to_gguf("llama")).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    print_stats(&cv, start, end);
    println!("wrote {} ({} pairs, {}, blocks {start}–{end})", a.out.display(), cv.pairs, method.name());
    Ok(())
}

/// A CAST condition separating the pairs' prompts from the prompts of `against`: per candidate
/// block, fit on 80% of each set and score balanced accuracy on the other 20%; keep the best
/// block (the earliest on ties) and refit it on everything.
fn condition(m: &LoadedModel, pairs: &[Pair], against: &[PathBuf], layers: &str) -> Result<ConditionVector, String> {
    let (lo, hi) = layers
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<usize>().ok()?, b.trim().parse::<usize>().ok()?)))
        .filter(|(a, b)| a <= b && *b < m.model.config.n_layer)
        .ok_or_else(|| format!("--condition-layers `{layers}` is not A-B within the model's blocks"))?;
    let render = |prompt: &str, system: Option<&String>| -> Result<Vec<u32>, String> {
        let mut msgs: Vec<Message> = system.map(|s| Message::system(s.clone())).into_iter().collect();
        msgs.push(Message::user(prompt.to_string()));
        let text = m.template.render(&msgs, true).map_err(|e| e.to_string())?;
        Ok(m.tokenizer.encode(&text, true))
    };
    let positives = pairs.iter().map(|p| render(&p.prompt, p.system.as_ref())).collect::<Result<Vec<_>, _>>()?;
    let mut negatives = Vec::new();
    for path in against {
        for p in crate::commands::eval::plan::read_prompts(path)? {
            negatives.push(render(&p.text, None)?);
        }
    }
    // Every fifth prompt validates: each side needs at least one.
    if positives.len() < 5 || negatives.len() < 5 {
        return Err(format!(
            "a condition needs at least 5 prompts on each side (has {} pair prompts against {})",
            positives.len(),
            negatives.len()
        ));
    }
    let blocks: Vec<usize> = (lo..=hi).collect();
    eprintln!("condition: {} prompts against {} at blocks {lo}-{hi}", positives.len(), negatives.len());
    let err = |e: tiller_engine::concept::ConceptError| e.to_string();
    let pos = pollster::block_on(prompt_means(&m.model, &positives, &blocks)).map_err(err)?;
    let neg = pollster::block_on(prompt_means(&m.model, &negatives, &blocks)).map_err(err)?;
    let split = |set: &[Vec<Vec<f64>>], b: usize, val: bool| -> Vec<Vec<f64>> {
        set.iter().enumerate().filter(|(i, _)| (i % 5 == 4) == val).map(|(_, v)| v[b].clone()).collect()
    };
    let accuracy = |c: &ConditionVector, p: &[Vec<f64>], n: &[Vec<f64>]| {
        let hit = |set: &[Vec<f64>], want: bool| {
            set.iter().filter(|v| c.matches(v) == want).count() as f64 / set.len() as f64
        };
        0.5 * (hit(p, true) + hit(n, false))
    };
    println!("condition block  validation balanced accuracy");
    let mut best = (0, -1.0);
    for (b, &block) in blocks.iter().enumerate() {
        let c = ConditionVector::fit(block, &split(&pos, b, false), &split(&neg, b, false)).map_err(err)?;
        let acc = accuracy(&c, &split(&pos, b, true), &split(&neg, b, true));
        println!("{block:>15}  {acc:.3}");
        if acc > best.1 {
            best = (b, acc);
        }
    }
    let b = best.0;
    let all = |set: &[Vec<Vec<f64>>]| -> Vec<Vec<f64>> { set.iter().map(|v| v[b].clone()).collect() };
    let c = ConditionVector::fit(blocks[b], &all(&pos), &all(&neg)).map_err(err)?;
    println!("condition: block {} (validation {:.3}), threshold {:.3}", c.layer, best.1, c.threshold);
    Ok(c)
}

/// Run every pair through the model, `batch` pairs per forward, with progress on stderr.
pub(crate) fn collect(
    m: &LoadedModel,
    pairs: &[Pair],
    source: &Path,
    positions: Positions,
    batch: usize,
    range: Option<(usize, usize)>,
) -> Result<Contrasts, String> {
    let cfg = &m.model.config;
    if let Some((start, end)) = range {
        Contrasts::new(cfg.n_layer, cfg.n_embd).check_range(start, end).map_err(|e| e.to_string())?;
    }
    let total = pairs.len();
    let progress = async |done: usize| {
        eprint!("\rpair {done}/{total}");
        ControlFlow::Continue(())
    };
    let acc = pollster::block_on(concept::collect(m, pairs, positions, batch, progress))
        .map_err(|e| format!("{}: {e}", source.display()))?;
    eprintln!();
    Ok(acc)
}

/// One pair per non-blank line; errors name the file and line.
pub(crate) fn read_pairs(path: &Path) -> Result<Vec<Pair>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    concept::parse_pairs(&text).map_err(|e| match e {
        // file:line: as compilers write it, for editors to jump to.
        PairsError::Line { line, why } => format!("{}:{line}: {why}", path.display()),
        e => format!("{}: {e}", path.display()),
    })
}

/// Per block: the typical residual norm, the separation of the two sides, and their ratio, which
/// is what picking layers and a strength starts from.
fn print_stats(cv: &ConceptVector, start: usize, end: usize) {
    println!("block  residual_norm  separation  separation/norm");
    for (block, (norm, sep)) in cv.residual_norms.iter().zip(&cv.separation).enumerate() {
        let mark = if (start..=end).contains(&block) { "*" } else { " " };
        println!("{block:>4}{mark} {norm:>13.2} {sep:>11.3} {:>16.4}", sep / norm);
    }
}
