//! `tiller vectors build`: a steering vector from contrastive pairs, by mean difference (CAA) or
//! by PCA of the paired differences (RepE).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use tiller_engine::chat::Message;
use tiller_engine::concept::{
    self, ConceptVector, ConditionVector, Contrasts, Logistic, Method, Pair, PairsError, Positions,
};
use tiller_engine::gguf::Gguf;
use tiller_engine::load::LoadedModel;

use crate::commands::eval::plan::Kind;
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
    /// Give a vector a condition (CAST): a probe at the prompt's tail that opens its gate
    Condition(ConditionArgs),
    /// A harmful-vs-harmless instruction direction (Arditi et al. 2024): per block, the mean
    /// tail reading of harmful prompts minus that of the others, as a control vector
    Instruction(InstructionArgs),
}

#[derive(clap::Args)]
struct InstructionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// JSONL prompt files: their harmful prompts against their others (as `condition` reads them)
    #[arg(long, value_delimiter = ',', required = true)]
    positives: Vec<PathBuf>,
    #[arg(long, value_delimiter = ',', required = true)]
    negatives: Vec<PathBuf>,
    #[arg(long, num_args = 2, value_names = ["A", "B"], required = true)]
    layers: Vec<usize>,
    #[arg(long)]
    out: PathBuf,
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
    /// Average only the reply's first N tokens (with --positions reply): an opener's stance
    #[arg(long, value_name = "N")]
    opening: Option<usize>,
}

#[derive(clap::Args)]
struct ConditionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The control-vector GGUF that gets the condition (rewritten in place unless --out)
    #[arg(long)]
    vector: PathBuf,
    /// Where to write it (default: --vector)
    #[arg(long)]
    out: Option<PathBuf>,
    /// JSONL prompt files ({"prompt"} per line) the gate should open for: their "kind": "harmful" prompts
    #[arg(long, value_delimiter = ',', required = true)]
    positives: Vec<PathBuf>,
    /// JSONL prompt files it should stay closed for: their other prompts (everyday, borderline, toxic)
    #[arg(long, value_delimiter = ',', required = true)]
    negatives: Vec<PathBuf>,
    /// Negatives the threshold is set on (a subset of --negatives): the borderline ones
    #[arg(long, value_delimiter = ',', required = true)]
    calibrate: Vec<PathBuf>,
    /// At most this share of the --calibrate prompts may open the gate (out-of-fold scores)
    #[arg(long, default_value_t = 0.10)]
    max_false_positives: f64,
    /// Blocks A-B the probe may read (the best by 5-fold cross-validated AUROC is kept)
    #[arg(long, default_value = "1-29")]
    layers: String,
    /// The prompt's last positions run again with the gated vector when the gate opens (0: all
    /// of the turn's, the whole prompt on a first turn; default: the tail the probe reads)
    #[arg(long)]
    prompt_tokens: Option<usize>,
    /// Reply tokens the gated vector steers after the prompt (0: the whole reply)
    #[arg(long, default_value_t = 0)]
    reply_tokens: usize,
    /// L2 penalty of the logistic probe (on standardised features)
    #[arg(long, default_value_t = 0.01)]
    l2: f64,
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
        Command::Condition(c) => condition(c),
        Command::Instruction(i) => instruction(i),
    }
}

fn build(a: BuildArgs) -> Result<(), String> {
    let pairs = read_pairs(&a.pairs)?;
    let (m, _device) = a.model.load()?;
    let n_layer = m.model.config.n_layer;
    let (start, end) = a.layers.as_ref().map_or((1, n_layer.saturating_sub(1)), |l| (l[0], l[1]));
    let positions = match a.positions {
        PositionsArg::Reply => a.opening.map_or(Positions::Reply, Positions::Opening),
        PositionsArg::All => Positions::All,
    };
    let method = match a.method {
        MethodArg::Mean => Method::MeanDifference,
        MethodArg::Pca => Method::Pca,
    };
    let acc = collect(&m, &pairs, &a.pairs, positions, a.batch, Some((start, end)))?;
    let cv = acc.finish(method, start, end).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, cv.to_gguf("llama")).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    print_stats(&cv, start, end);
    println!("wrote {} ({} pairs, {}, blocks {start}–{end})", a.out.display(), cv.pairs, method.name());
    Ok(())
}

/// Prompts of `files`: the harmful ones, or the others. A file may mix kinds.
fn read_kind(files: &[PathBuf], harmful: bool) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        let prompts = crate::commands::eval::plan::read_prompts(f)?;
        let kept = prompts.into_iter().filter(|p| (p.kind == Kind::Harmful) == harmful).map(|p| p.text);
        out.extend(kept.filter(|t| !out.contains(t)).collect::<Vec<_>>());
    }
    Ok(out)
}

/// [prompt][block index][n_embd]: the mean block output over each prompt's tail.
type TailReadings = Vec<Vec<Vec<f32>>>;

/// Each prompt's tail readings (the condition's positions) at `blocks`, and the tail's length.
fn readings_at(m: &LoadedModel, texts: &[String], blocks: &[usize]) -> Result<(TailReadings, usize), String> {
    let tail = concept::tail_len(&m.template, &m.tokenizer).map_err(|e| e.to_string())?;
    let ids = texts
        .iter()
        .map(|t| m.prompt(&[Message::user(t.clone())]).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let r = pollster::block_on(concept::tail_readings(&m.model, &ids, blocks, tail)).map_err(|e| e.to_string())?;
    Ok((r, tail))
}

fn instruction(a: InstructionArgs) -> Result<(), String> {
    let (m, _device) = a.model.load()?;
    let cfg = &m.model.config;
    let (start, end) = (a.layers[0], a.layers[1]);
    Contrasts::new(cfg.n_layer, cfg.n_embd).check_range(start, end).map_err(|e| e.to_string())?;
    let (pos, neg) = (read_kind(&a.positives, true)?, read_kind(&a.negatives, false)?);
    let blocks: Vec<usize> = (0..cfg.n_layer).collect();
    let (rp, _) = readings_at(&m, &pos, &blocks)?;
    let (rn, _) = readings_at(&m, &neg, &blocks)?;
    let mean = |set: &[Vec<Vec<f32>>], b: usize| -> Vec<f64> {
        let mut s = vec![0.0f64; cfg.n_embd];
        set.iter().for_each(|r| s.iter_mut().zip(&r[b]).for_each(|(x, &v)| *x += f64::from(v)));
        s.iter().map(|x| x / set.len() as f64).collect()
    };
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let (mut directions, mut separation, mut norms) = (std::collections::BTreeMap::new(), Vec::new(), Vec::new());
    for b in 0..cfg.n_layer {
        let diff: Vec<f64> = mean(&rp, b).iter().zip(mean(&rn, b)).map(|(x, y)| x - y).collect();
        let n = norm(&diff);
        separation.push(n as f32);
        let all: Vec<f64> =
            rp.iter().chain(&rn).map(|r| norm(&r[b].iter().map(|&x| f64::from(x)).collect::<Vec<_>>())).collect();
        norms.push((all.iter().sum::<f64>() / all.len() as f64) as f32);
        if (start..=end).contains(&b) && n > 0.0 {
            directions.insert(b, diff.iter().map(|x| (x / n) as f32).collect::<Vec<f32>>());
        }
    }
    let cv = ConceptVector {
        vector: tiller_engine::steer::ControlVector { n_embd: cfg.n_embd, directions },
        method: Method::MeanDifference,
        residual_norms: norms,
        separation,
        pairs: pos.len().min(neg.len()),
        condition: None,
    };
    std::fs::write(&a.out, cv.to_gguf("llama")).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    println!("wrote {} ({} harmful against {} prompts, blocks {start}–{end})", a.out.display(), pos.len(), neg.len());
    Ok(())
}

/// Fit the gate: per candidate block, a logistic probe on each prompt's tail reading, scored by
/// 5-fold cross-validated AUROC; the best block is refitted on every prompt, and its threshold
/// set on the out-of-fold scores of the calibration prompts.
fn condition(a: ConditionArgs) -> Result<(), String> {
    let (m, _device) = a.model.load()?;
    let n_layer = m.model.config.n_layer;
    let (lo, hi) = a
        .layers
        .split_once('-')
        .and_then(|(x, y)| Some((x.trim().parse::<usize>().ok()?, y.trim().parse::<usize>().ok()?)))
        .filter(|(x, y)| x <= y && *y < n_layer)
        .ok_or_else(|| format!("--layers `{}` is not A-B within the model's blocks 0-{}", a.layers, n_layer - 1))?;
    if !(0.0..1.0).contains(&a.max_false_positives) {
        return Err("--max-false-positives must be at least 0 and below 1".into());
    }
    let bytes = std::fs::read(&a.vector).map_err(|e| format!("cannot read {}: {e}", a.vector.display()))?;
    let mut cv = ConceptVector::from_gguf(&Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", a.vector.display()))?)
        .map_err(|e| format!("{}: {e}", a.vector.display()))?;

    let (pos, neg, cal) =
        (read_kind(&a.positives, true)?, read_kind(&a.negatives, false)?, read_kind(&a.calibrate, false)?);
    if pos.len() < 10 || neg.len() < 10 {
        return Err(format!(
            "a condition needs at least 10 prompts on each side (has {} against {})",
            pos.len(),
            neg.len()
        ));
    }
    let is_cal: Vec<bool> = neg.iter().map(|p| cal.contains(p)).collect();
    if !is_cal.iter().any(|&c| c) {
        return Err("none of the --calibrate prompts is among the --negatives".into());
    }
    let blocks: Vec<usize> = (lo..=hi).collect();
    let (rp, tail) = readings_at(&m, &pos, &blocks)?;
    let (rn, _) = readings_at(&m, &neg, &blocks)?;
    eprintln!("condition: {} prompts against {}, tail of {tail} tokens, blocks {lo}-{hi}", pos.len(), neg.len());

    const FOLDS: usize = 5;
    let at = |set: &[Vec<Vec<f32>>], b: usize, keep: &dyn Fn(usize) -> bool| -> Vec<Vec<f32>> {
        set.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, v)| v[b].clone()).collect()
    };
    // Out-of-fold scores of every prompt at block index b.
    let out_of_fold = |b: usize| -> (Vec<f32>, Vec<f32>) {
        let (mut sp, mut sn) = (vec![0.0; rp.len()], vec![0.0; rn.len()]);
        for fold in 0..FOLDS {
            let train = |i: usize| i % FOLDS != fold;
            let Some(probe) = Logistic::fit(&at(&rp, b, &train), &at(&rn, b, &train), a.l2) else { continue };
            (0..rp.len()).filter(|i| i % FOLDS == fold).for_each(|i| sp[i] = probe.score(&rp[i][b]));
            (0..rn.len()).filter(|i| i % FOLDS == fold).for_each(|i| sn[i] = probe.score(&rn[i][b]));
        }
        (sp, sn)
    };
    // The block is chosen by the harder of the two: harmful against the calibration prompts
    // (borderline requests that only sound dangerous).
    println!("block  cross-validated AUROC: against all negatives, against the calibration prompts");
    let mut best: Option<(usize, f64, Vec<f32>)> = None;
    for (b, &block) in blocks.iter().enumerate() {
        let (sp, sn) = out_of_fold(b);
        let calibration: Vec<f32> = sn.iter().zip(&is_cal).filter(|(_, c)| **c).map(|(s, _)| *s).collect();
        let (all, hard) = (concept::auroc(&sp, &sn), concept::auroc(&sp, &calibration));
        println!("{block:>5}  {all:.4}  {hard:.4}");
        if best.as_ref().is_none_or(|(_, have, _)| hard > *have) {
            best = Some((b, hard, calibration));
        }
    }
    let (b, auc, calibration) = best.expect("at least one block");
    let probe =
        Logistic::fit(&at(&rp, b, &|_| true), &at(&rn, b, &|_| true), a.l2).ok_or("the probe could not be fitted")?;
    let threshold = concept::threshold_for_false_positives(&calibration, a.max_false_positives);
    let condition = ConditionVector {
        layer: blocks[b],
        probe,
        threshold,
        tail,
        prompt_tokens: match a.prompt_tokens {
            None => Some(tail),
            Some(0) => None,
            Some(k) => Some(k),
        },
        reply_tokens: (a.reply_tokens > 0).then_some(a.reply_tokens),
    };
    condition.check(n_layer, m.model.config.n_embd).map_err(|e| e.to_string())?;
    cv.condition = Some(condition);
    let out = a.out.as_ref().unwrap_or(&a.vector);
    std::fs::write(out, cv.to_gguf("llama")).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "condition: block {} (cross-validated AUROC {auc:.4} against the calibration prompts), threshold {threshold:.3} (≤ {:.0}% of {} calibration prompts above it), wrote {}",
        blocks[b],
        100.0 * a.max_false_positives,
        calibration.len(),
        out.display()
    );
    Ok(())
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
