//! `tiller eval steering`: does each slider move the text the way its label says, and what does
//! it cost in fluency? Held-out prompts, a grid of coefficients with fixed seeds, judges that
//! play no part in building (tiller-judge), a prompting baseline, and a report in docs/.

pub(crate) mod plan;
mod report;
mod run;
mod score;
mod sweep;

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use tiller_engine::sample::SamplingParams;

use crate::model_arg::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate for every held-out prompt at each coefficient, judge, and write the report
    Steering(SteeringArgs),
    /// Choose a concept's method, layers and strength on development prompts
    Sweep(sweep::SweepArgs),
}

#[derive(clap::Args)]
struct SteeringArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The vectors to evaluate (their layers and calibrated strength come from here)
    #[arg(long, default_value = "public/vectors/manifest.json")]
    manifest: PathBuf,
    /// Held-out prompts <id>.jsonl and the baselines' system prompts intents.json
    #[arg(long, default_value = "data/eval")]
    data: PathBuf,
    /// Only these concepts (repeatable; default: every vector in the manifest)
    #[arg(long = "concept")]
    concepts: Vec<String>,
    /// Use only the first N prompts of each kind (a quick look; the report needs all)
    #[arg(long, default_value_t = usize::MAX)]
    limit: usize,
    #[arg(long, default_value_t = 48)]
    max_tokens: usize,
    /// Replies generated together in one batch
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long, default_value_t = 0.9)]
    top_p: f32,
    /// Prompt i is sampled with seed SEED + i in every condition
    #[arg(long, default_value_t = 1000)]
    seed: u64,
    /// Only the steered coefficients, without the prompting baselines (faster)
    #[arg(long)]
    no_baselines: bool,
    /// Also run every coefficient with another slider of the manifest on at this value, at the
    /// same seeds, and measure what it changes (e.g. `--also safety=1`: does the safety slider
    /// leave sentiment and formality alone?)
    #[arg(long, value_name = "ID=VALUE")]
    also: Option<String>,
    /// Where steering.md, steering.json, steering_samples.jsonl and dose_response.svg go
    #[arg(long, default_value = "docs/eval")]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<(), String> {
    match a.command {
        Command::Steering(s) => steering(s),
        Command::Sweep(s) => sweep::sweep(s),
    }
}

fn steering(a: SteeringArgs) -> Result<(), String> {
    let concepts = plan::load(&a.manifest, &a.data, &a.concepts)?;
    let lexicon = tiller_fetch::ensure_brill_lexicon().map_err(|e| e.to_string())?;
    let tagger = tiller_judge::Tagger::load(&lexicon).map_err(|e| e.to_string())?;
    let also = match &a.also {
        None => None,
        Some(spec) => {
            let (id, value) =
                spec.split_once('=').ok_or_else(|| format!("--also {spec}: expected ID=VALUE, e.g. safety=1"))?;
            let value: f32 = value.parse().map_err(|_| format!("--also {spec}: `{value}` is not a number"))?;
            let other = plan::load(&a.manifest, &a.data, &[id.to_string()])?.remove(0);
            if !(other.min..=1.0).contains(&value) {
                return Err(format!("--also {spec}: the {id} slider goes from {} to 1", other.min));
            }
            if concepts.iter().any(|c| c.id == other.id) {
                return Err(format!("--also {spec}: {id} is also being evaluated; pick other --concept ids"));
            }
            Some((other, value))
        }
    };
    let (m, _device) = a.model.load()?;
    let settings = run::Settings {
        max_tokens: a.max_tokens,
        batch: a.batch,
        sampling: SamplingParams {
            temperature: a.temperature,
            top_p: a.top_p,
            seed: a.seed,
            ..SamplingParams::default()
        },
    };
    settings.sampling.validate().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&a.out).map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;

    let started = Instant::now();
    let mut md = String::new();
    let mut summaries = Vec::new();
    let mut samples = String::new();
    let mut all_groups = Vec::new();
    for c in &concepts {
        let jobs = plan::jobs(c, a.limit, !a.no_baselines, also.is_some());
        let replies = run::run(&m, c, &jobs, &settings, also.as_ref().map(|(o, v)| (o, *v)))?;
        let scores: Vec<score::Scores> = replies.iter().map(|r| score::judge(&tagger, &r.text)).collect();
        for (r, s) in replies.iter().zip(&scores) {
            samples += &score::sample_json(c, r, s).to_string();
            samples.push('\n');
        }
        let groups = score::summarize(c, &replies, &scores);
        if let Some(g) = &c.gated {
            write_roc(&a.out, c, g, &replies)?;
        }
        let also_named = also.as_ref().map(|(o, v)| (o.id.as_str(), *v));
        for t in report::targets(c, &groups, also_named) {
            println!(
                "{:<10} {:<48} {:>24}  goal {:<8} {}",
                c.id,
                t.what,
                t.value,
                t.goal,
                if t.met { "met" } else { "NOT MET" }
            );
        }
        md += &report::markdown(c, &groups, also_named);
        md.push('\n');
        summaries.push(report::summary_json(c, &groups, also_named));
        all_groups.push(groups);
    }
    let secs = started.elapsed().as_secs_f64();
    let header = format!(
        "<!-- written by `tiller eval steering`; regenerate, do not edit -->\n\
         Settings: {} new tokens at most, temperature {}, top-p {}, seed {} + prompt index (the same in every condition), \
         backend {:?}, {secs:.0} s.\n\n",
        a.max_tokens, a.temperature, a.top_p, a.seed, a.model.backend
    );
    let plot: Vec<(&plan::Concept, &report::Groups)> = concepts.iter().zip(&all_groups).collect();
    let json = serde_json::json!({
        "settings": {"max_tokens": a.max_tokens, "temperature": a.temperature, "top_p": a.top_p, "seed": a.seed, "limit": a.limit.min(1_000_000), "seconds": secs},
        "concepts": summaries,
    });
    let write = |name: &str, text: &str| {
        let p = a.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write("steering.md", &(header + &md))?;
    write("steering.json", &serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)?;
    write("steering_samples.jsonl", &samples)?;
    write("dose_response.svg", &report::svg(&plot))?;
    println!(
        "wrote {}/{{steering.md, steering.json, steering_samples.jsonl, dose_response.svg}} in {secs:.0} s",
        a.out.display()
    );
    Ok(())
}

/// The gate's ROC curve on the held-out harmful vs borderline-benign prompts, one reading per
/// prompt, as the slider at 1 reads it (the unconditional part steers the blocks before the gate's).
fn write_roc(out: &std::path::Path, c: &plan::Concept, g: &plan::Gated, replies: &[run::Reply]) -> Result<(), String> {
    let at_one = |kind: plan::Kind| -> Vec<f32> {
        replies
            .iter()
            .filter(|r| r.job.condition == plan::Condition::Steering && r.job.coef == 1.0)
            .filter(|r| c.prompts[r.job.prompt].kind == kind)
            .filter_map(|r| r.gate.map(|g| g.score))
            .collect()
    };
    let (pos, neg) = (at_one(plan::Kind::Harmful), at_one(plan::Kind::Borderline));
    if pos.is_empty() || neg.is_empty() {
        return Ok(());
    }
    let auc = tiller_engine::concept::auroc(&pos, &neg);
    let t = g.condition.threshold;
    let rate = |set: &[f32]| set.iter().filter(|&&s| s > t).count() as f64 / set.len() as f64;
    let svg = report::roc_svg(&report::roc(&pos, &neg), auc, (rate(&neg), rate(&pos)));
    let p = out.join("safety_gate_roc.svg");
    std::fs::write(&p, svg).map_err(|e| format!("cannot write {}: {e}", p.display()))
}
