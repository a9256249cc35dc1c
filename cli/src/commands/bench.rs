use std::collections::BTreeMap;
use std::time::Instant;

use tiller_engine::compare::Compare;
use tiller_engine::load::LoadedModel;
use tiller_engine::probe::Probes;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::StopRule;
use tiller_engine::session::Session;
use tiller_engine::steer::{ControlVector, Steering};

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
        let m = LoadedModel::from_bytes(bytes, &device).map_err(|e| format!("the random-weight model: {e}"))?;
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
        let sampler = Sampler::new(SamplingParams::default()).map_err(|e| e.to_string())?;
        // Masking the end tokens makes every run generate exactly gen_tokens.
        let stats = turn::run(&mut session, &m, &prompt, None, sampler, true, a.gen_tokens + 1, |_| {})?;
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
    let (chat_ms, compare_ms) = step_ms(&m, &prompt, a.gen_tokens.clamp(4, 32))?;
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
                "compare_step_ms": compare_ms,
                "chat_step_ms": chat_ms,
                "peak_rss_mib": peak_mib,
            })
        );
    } else {
        println!("backend      {}", a.model.backend.name());
        println!("load         {load_s:.2} s");
        println!("prefill      {:.1} tok/s  (pp{})", best.prefill_tok_s, a.prompt_tokens);
        println!("decode       {:.1} tok/s  (tg{})", best.decode_tok_s, a.gen_tokens);
        println!("compare step {compare_ms:.1} ms  ({:.2}× a chat step of {chat_ms:.1} ms)", compare_ms / chat_ms);
        match peak_mib {
            Some(mib) => println!("peak memory  {mib:.0} MiB resident (host; device memory not included)"),
            None => println!("peak memory  unknown on this platform"),
        }
    }
    Ok(())
}

/// Milliseconds per chat step and per Compare step after the same prompt, timed in alternating
/// rounds and the best round of each kept, so that the ratio of the two is not one phase of
/// this shared machine against another.
///
/// A chat step is one decode forward and a sample. A Compare step is the classroom view's: the
/// plain, the steered and the unsteered shadow sequence in one batch, three concepts steering
/// every block and probed at every block (the app's three sliders; the cost does not depend on
/// the directions' values, so they are fixed, not read from files), and both sides' lists of
/// likely tokens.
fn step_ms(m: &LoadedModel, prompt: &[u32], steps: usize) -> Result<(f64, f64), String> {
    let err = |e: &dyn std::fmt::Display| format!("steps: {e}");
    let (n_layer, n_embd) = (m.model.config.n_layer, m.model.config.n_embd);
    let direction = |seed: usize| -> Vec<f32> {
        let v: Vec<f32> = (0..n_embd).map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    };
    let vectors: Vec<ControlVector> = (0..3)
        .map(|k| ControlVector { n_embd, directions: (1..n_layer).map(|l| (l, direction(k * 100 + l))).collect() })
        .collect();
    let terms: Vec<(&ControlVector, f32)> = vectors.iter().map(|v| (v, 1.0)).collect();
    let steering = Steering::new(&terms, None, n_layer, n_embd, m.model.device()).map_err(|e| err(&e))?;
    let probed: Vec<&BTreeMap<usize, Vec<f32>>> = vectors.iter().map(|v| &v.directions).collect();
    let probes = Probes::new(&probed, n_layer, n_embd, m.model.device());
    // No stop tokens: every step runs all three sequences, and the chat never ends.
    let mut compare = Compare::new(&m.model, steering, probes, SamplingParams::default(), StopRule::default())
        .map_err(|e| err(&e))?;
    pollster::block_on(compare.prefill(prompt)).map_err(|e| err(&e))?;
    // The first step only samples from the prefill's logits; every later one also runs the batch.
    pollster::block_on(compare.step()).map_err(|e| err(&e))?;
    let mut chat = Session::new(&m.model);
    let greedy = Sampler::new(SamplingParams::default()).map_err(|e| err(&e))?;
    pollster::block_on(chat.prefill(prompt, greedy, StopRule::default())).map_err(|e| err(&e))?;
    pollster::block_on(chat.step()).map_err(|e| err(&e))?.map_err(|stop| err(&format!("{stop:?}")))?;

    let (mut chat_ms, mut compare_ms) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..4 {
        let t = Instant::now();
        for _ in 0..steps {
            pollster::block_on(chat.step()).map_err(|e| err(&e))?.map_err(|stop| err(&format!("{stop:?}")))?;
        }
        chat_ms = chat_ms.min(t.elapsed().as_secs_f64() * 1000.0 / steps as f64);
        let t = Instant::now();
        for _ in 0..steps {
            pollster::block_on(compare.step()).map_err(|e| err(&e))?;
        }
        compare_ms = compare_ms.min(t.elapsed().as_secs_f64() * 1000.0 / steps as f64);
    }
    Ok((chat_ms, compare_ms))
}

/// Peak resident set size of this process, from Linux's /proc.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
