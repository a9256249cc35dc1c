//! Many independent prompts at once, for evaluation and sweeps: generation with one sampler per
//! prompt, and the log-probability a model gives to a known continuation (for perplexity).
//!
//! On a CPU a decode step costs about one read of every weight, whatever the batch; packing B
//! sequences into each step ([`Llama::forward_batch`]) makes B tokens cost little more than one.

use crate::concept::GateReading;
use crate::gate::{self, SteerPlan};
use crate::model::{Llama, Logits, ModelError, NoHook, ResidualHook, read_logits};
use crate::sample::Sampler;
use crate::sequence::{Sequence, Stop, StopRule, advance};
use crate::steer::PerSequence;

/// What one prompt produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    pub tokens: Vec<u32>,
    /// Why it ended: an end-of-generation token, the token limit, or a full context.
    pub stop: Stop,
    /// What the plan's condition read from the prompt (`None` when it has none).
    pub gate: Option<GateReading>,
}

/// Generate for every prompt until `rule` ends it, each with its own sampler and its own
/// steering plan (so one batch can hold a whole dose–response sweep). Sequences leave the batch
/// as they end. Results come back in the prompts' order.
pub async fn generate(
    model: &Llama,
    prompts: &[Vec<u32>],
    samplers: Vec<Sampler>,
    plans: &[&SteerPlan],
    rule: &StopRule,
) -> Result<Vec<Generated>, ModelError> {
    assert_eq!(prompts.len(), samplers.len(), "one sampler per prompt");
    assert_eq!(prompts.len(), plans.len(), "one steering plan per prompt");
    let mut seqs = Vec::with_capacity(prompts.len());
    for (prompt, sampler) in prompts.iter().zip(samplers) {
        let mut seq = Sequence::new(model, sampler, rule.clone());
        seq.start(prompt)?;
        seqs.push(seq);
    }
    let gates = {
        let mut refs: Vec<&mut Sequence> = seqs.iter_mut().collect();
        gate::prefill(model, &mut refs, plans, &mut NoHook).await?
    };
    let mut out: Vec<Generated> =
        gates.iter().map(|&gate| Generated { tokens: Vec::new(), stop: Stop::MaxTokens, gate }).collect();
    let mut active: Vec<usize> = (0..prompts.len()).collect();
    loop {
        active.retain(|&i| match seqs[i].choose() {
            Ok(token) => {
                out[i].tokens.push(token);
                true
            }
            Err(stop) => {
                out[i].stop = stop;
                false
            }
        });
        if active.is_empty() {
            return Ok(out);
        }
        let mut running: Vec<(usize, &mut Sequence)> =
            seqs.iter_mut().enumerate().filter(|(i, s)| active.contains(i) && s.stopped().is_none()).collect();
        if !running.is_empty() {
            let mut hook = PerSequence {
                steerings: running.iter().map(|(i, s)| plans[*i].for_reply(gates[*i], s.chosen())).collect(),
                lens: running.iter().map(|(_, s)| s.waiting().len()).collect(),
            };
            let mut refs: Vec<&mut Sequence> = running.iter_mut().map(|(_, s)| &mut **s).collect();
            advance(model, &mut refs, &mut hook).await?;
        }
    }
}

/// For each (tokens, from): the natural log-probability of every token at positions `from..`
/// given all before it, under `hook`. `from` must be ≥ 1.
pub async fn token_logprobs(
    model: &Llama,
    texts: &[(Vec<u32>, usize)],
    hook: &mut dyn ResidualHook,
) -> Result<Vec<Vec<f64>>, ModelError> {
    if texts.iter().any(|(t, from)| *from == 0 || *from > t.len()) {
        return Err(ModelError::EmptyInput);
    }
    let seqs: Vec<&[u32]> = texts.iter().map(|(t, _)| t.as_slice()).collect();
    let mut caches: Vec<_> = texts.iter().map(|_| model.new_cache()).collect();
    let logits = read_logits(model.forward_batch(&seqs, &mut caches, hook, Logits::All)?).await?;
    let n_vocab = model.config.n_vocab;
    let mut rows = logits.chunks_exact(n_vocab);
    let mut out = Vec::with_capacity(texts.len());
    for (tokens, from) in texts {
        let mine: Vec<&[f32]> = rows.by_ref().take(tokens.len()).collect();
        // Row p predicts token p+1.
        out.push((*from..tokens.len()).map(|p| log_softmax_at(mine[p - 1], tokens[p] as usize)).collect());
    }
    Ok(out)
}

fn log_softmax_at(row: &[f32], id: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row[id] as f64 - max - sum.ln()
}
