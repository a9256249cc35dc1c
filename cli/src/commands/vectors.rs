//! `tiller vectors build`: a steering vector from contrastive pairs, by mean difference (CAA) or
//! by PCA of the paired differences (RepE).

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use tiller_engine::concept::{ConceptVector, Contrasts, Method, Pair, Positions};

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
    let (n_layer, n_embd) = (m.model.config.n_layer, m.model.config.n_embd);
    let (start, end) = a.layers.as_ref().map_or((1, n_layer.saturating_sub(1)), |l| (l[0], l[1]));
    let positions = match a.positions {
        PositionsArg::Reply => Positions::Reply,
        PositionsArg::All => Positions::All,
    };
    let method = match a.method {
        MethodArg::Mean => Method::MeanDifference,
        MethodArg::Pca => Method::Pca,
    };
    let mut acc = Contrasts::new(n_layer, n_embd);
    acc.check_range(start, end).map_err(|e| e.to_string())?;
    let batch = a.batch.max(1);
    for (c, chunk) in pairs.chunks(batch).enumerate() {
        let first = c * batch + 1;
        let at = |e: &dyn std::fmt::Display| {
            format!("{} pairs {first}–{}: {e}", a.pairs.display(), first + chunk.len() - 1)
        };
        let rendered = chunk
            .iter()
            .map(|p| p.render(&m.template, &m.tokenizer, positions))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(&e))?;
        pollster::block_on(acc.add_pairs(&m.model, &rendered)).map_err(|e| at(&e))?;
        eprint!("\rpair {}/{}", first + chunk.len() - 1, pairs.len());
    }
    eprintln!();
    let cv = acc.finish(method, start, end).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, cv.to_gguf("llama")).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    print_stats(&cv, start, end);
    println!("wrote {} ({} pairs, {}, blocks {start}–{end})", a.out.display(), cv.pairs, method.name());
    Ok(())
}

/// One pair per non-blank line; errors name the line.
fn read_pairs(path: &Path) -> Result<Vec<Pair>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let pairs = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1)))
        .collect::<Result<Vec<Pair>, String>>()?;
    if pairs.is_empty() {
        return Err(format!("{} has no pairs", path.display()));
    }
    Ok(pairs)
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
