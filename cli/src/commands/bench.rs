use std::time::Instant;

use tiller_engine::load::LoadedModel;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::session::Session;

use super::turn;
use crate::model_arg::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Prompt length for the prefill measurement (llama-bench's pp)
    #[arg(long, default_value_t = 64)]
    prompt_tokens: usize,
    /// Tokens to generate for the decode measurement (llama-bench's tg)
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Timed repetitions; the best is reported (after one untimed warm-up)
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    #[arg(long)]
    json: bool,
    /// Instead of --model: random weights with the default model's shapes and tensor types,
    /// written by the engine's GGUF writer (for machines the model file cannot be copied to)
    #[arg(long)]
    random_weights: bool,
}

pub fn run(a: Args) -> Result<(), String> {
    let t0 = Instant::now();
    let (m, _) = if a.random_weights {
        let device = crate::backend::device(a.model.backend)?;
        let bytes = crate::random_model::gguf(1);
        let m = LoadedModel::from_bytes(&bytes, &device).map_err(|e| format!("the random-weight model: {e}"))?;
        (m, device)
    } else {
        a.model.load()?
    };
    let load_s = t0.elapsed().as_secs_f64();

    // A fixed, ordinary English prompt, cut or repeated to the requested length.
    let seed_text = "The history of the printing press shows how a single invention can change \
        the way people learn, argue and remember. ";
    let seed = m.tokenizer.encode(seed_text, false);
    let prompt: Vec<u32> = seed.iter().copied().cycle().take(a.prompt_tokens.max(1)).collect();

    let mut best: Option<turn::TurnStats> = None;
    for i in 0..=a.repeats.max(1) {
        let mut session = Session::new(&m.model);
        let mut sampler = Sampler::new(SamplingParams::default()).map_err(|e| e.to_string())?;
        // Masking the end tokens makes every run generate exactly gen_tokens.
        let stats = turn::run(&mut session, &m, &prompt, &mut sampler, true, a.gen_tokens + 1, |_| {})?;
        if i == 0 {
            continue; // warm-up: allocator, caches, and on wgpu kernel compilation and autotune
        }
        let better =
            best.as_ref().is_none_or(|b| stats.decode_tok_s + stats.prefill_tok_s > b.decode_tok_s + b.prefill_tok_s);
        if better {
            best = Some(stats);
        }
    }
    let best = best.ok_or("no timed run")?;
    let peak_mib = peak_rss_mib();
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "backend": a.model.backend.name(),
                "prompt_tokens": a.prompt_tokens,
                "gen_tokens": a.gen_tokens,
                "load_s": load_s,
                "prefill_tok_s": best.prefill_tok_s,
                "decode_tok_s": best.decode_tok_s,
                "peak_rss_mib": peak_mib,
            })
        );
    } else {
        println!("backend      {}", a.model.backend.name());
        println!("load         {load_s:.2} s");
        println!("prefill      {:.1} tok/s  (pp{})", best.prefill_tok_s, a.prompt_tokens);
        println!("decode       {:.1} tok/s  (tg{})", best.decode_tok_s, a.gen_tokens);
        match peak_mib {
            Some(mib) => println!("peak memory  {mib:.0} MiB resident (host; device memory not included)"),
            None => println!("peak memory  unknown on this platform"),
        }
    }
    Ok(())
}

/// Peak resident set size of this process, from Linux's /proc.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
