//! Many independent prompts at once, for evaluation and sweeps: generation with one sampler per
//! prompt, and the log-probability a model gives to a known continuation (for perplexity).
//!
//! On a CPU a decode step costs about one read of every weight, whatever the batch; packing B
//! sequences into each step ([`Llama::forward_batch`]) makes B tokens cost little more than one.

use burn::tensor::{Device, Tensor};

use crate::model::{Llama, Logits, ModelError, ResidualHook, read_logits};
use crate::sample::Sampler;
use crate::sequence::{Sequence, Stop, StopRule, advance};
use crate::steer::Steering;

/// What one prompt produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub tokens: Vec<u32>,
    /// Why it ended: an end-of-generation token, the token limit, or a full context.
    pub stop: Stop,
}

/// Generate for every prompt until `rule` ends it, each with its own sampler and its own
/// steering (so one batch can hold a whole dose–response sweep). Sequences leave the batch as
/// they end. Results come back in the prompts' order.
pub async fn generate(
    model: &Llama,
    prompts: &[Vec<u32>],
    samplers: Vec<Sampler>,
    steerings: &[&Steering],
    rule: &StopRule,
) -> Result<Vec<Generated>, ModelError> {
    assert_eq!(prompts.len(), samplers.len(), "one sampler per prompt");
    assert_eq!(prompts.len(), steerings.len(), "one steering per prompt");
    let mut seqs = Vec::with_capacity(prompts.len());
    for (prompt, sampler) in prompts.iter().zip(samplers) {
        let mut seq = Sequence::new(model, sampler, rule.clone());
        seq.start(prompt)?;
        seqs.push(seq);
    }
    let mut out: Vec<Generated> =
        prompts.iter().map(|_| Generated { tokens: Vec::new(), stop: Stop::MaxTokens }).collect();
    let mut active: Vec<usize> = (0..prompts.len()).collect();
    while !active.is_empty() {
        let mut running: Vec<(usize, &mut Sequence)> =
            seqs.iter_mut().enumerate().filter(|(i, s)| active.contains(i) && s.stopped().is_none()).collect();
        if !running.is_empty() {
            let mut hook = PerSequence {
                steerings: running.iter().map(|(i, _)| steerings[*i]).collect(),
                lens: running.iter().map(|(_, s)| s.waiting().len()).collect(),
            };
            let mut refs: Vec<&mut Sequence> = running.iter_mut().map(|(_, s)| &mut **s).collect();
            advance(model, &mut refs, &mut hook).await?;
        }
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
    }
    Ok(out)
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

/// Each packed sequence gets its own steering: one broadcast add when they all agree, else a
/// [rows, n_embd] stack of each sequence's vector repeated over its rows.
pub(crate) struct PerSequence<'a> {
    pub(crate) steerings: Vec<&'a Steering>,
    pub(crate) lens: Vec<usize>,
}

impl ResidualHook for PerSequence<'_> {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        let first = self.steerings[0];
        if self.steerings.iter().all(|s| std::ptr::eq(*s, first)) {
            return match first.at(layer) {
                Some(v) => x.add(v.tensor.clone()),
                None => x,
            };
        }
        if self.steerings.iter().all(|s| s.at(layer).is_none()) {
            return x;
        }
        let n_embd = x.dims()[1];
        let parts = self
            .steerings
            .iter()
            .zip(&self.lens)
            .map(|(s, &len)| match s.at(layer) {
                Some(v) => v.tensor.clone().expand([len, n_embd]),
                None => Tensor::zeros([len, n_embd], &x.device()),
            })
            .collect();
        x.add(Tensor::cat(parts, 0))
    }

    fn after_block_rows(&mut self, layer: usize, mut x: Vec<f32>, n_embd: usize, _device: &Device) -> Vec<f32> {
        let mut first = 0;
        for (steering, &len) in self.steerings.iter().zip(&self.lens) {
            if let Some(v) = steering.at(layer) {
                let mine = &mut x[first * n_embd..(first + len) * n_embd];
                mine.chunks_exact_mut(n_embd).for_each(|row| crate::kernels::ops::add_assign(row, &v.host));
            }
            first += len;
        }
        x
    }
}

fn log_softmax_at(row: &[f32], id: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row[id] as f64 - max - sum.ln()
}
