//! Conditional activation steering (CAST, Lee et al. 2024): a behaviour vector is applied only
//! when the prompt's activations say it should be. Plain addition pushes every prompt the same
//! way, so a refusal vector alone refuses benign requests too.
//!
//! The condition is a linear probe (logistic regression) on one block's output, read at the
//! prompt's *tail*: the last token of the user's message and the template tokens after it, where
//! a dialogue model has read the whole request and is about to decide how to answer. The engine
//! reads it once after prefill ([`crate::gate`]); a score above the threshold opens the gate.
//!
//! The condition is stored under `tiller.condition.*` keys of the vector's GGUF, which llama.cpp
//! ignores: there the file stays a plain control vector.

use crate::chat::{ChatTemplate, Message};
use crate::gguf::{Gguf, Value};
use crate::model::{Capture, Llama, Logits, read_f32};
use crate::tokenizer::Tokenizer;

use super::ConceptError;
use super::logistic::Logistic;

#[derive(Clone, Debug, PartialEq)]
pub struct ConditionVector {
    /// The block whose output is read.
    pub layer: usize,
    /// Scores the mean of the block's output over the prompt's tail.
    pub probe: Logistic,
    /// Scores (0..1) above this open the gate.
    pub threshold: f32,
    /// How many of the prompt's last positions are read.
    pub tail: usize,
    /// The prompt's last positions that are run again with the gated direction when the gate
    /// opens (`None`: all of this turn's: the whole prompt on a first turn, the new request in
    /// a longer chat). Files without the key re-run the tail.
    pub prompt_tokens: Option<usize>,
    /// Reply tokens that get the gated direction after the prompt (`None`: the whole reply).
    pub reply_tokens: Option<usize>,
}

/// What the condition read from one prompt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateReading {
    /// The probe's score, 0..1.
    pub score: f32,
    pub threshold: f32,
}

impl GateReading {
    /// The gate opened: the gated steering applies to this reply.
    pub fn engaged(&self) -> bool {
        self.score > self.threshold
    }
}

impl ConditionVector {
    /// The probe's score of a reading (the mean of the block's output over the tail).
    pub fn score(&self, reading: &[f32]) -> f32 {
        self.probe.score(reading)
    }

    pub fn read(&self, reading: &[f32]) -> GateReading {
        GateReading { score: self.score(reading), threshold: self.threshold }
    }

    /// Refuse a condition this model cannot run: a block past the model, another width, values
    /// that are not finite numbers.
    pub fn check(&self, n_layer: usize, n_embd: usize) -> Result<(), ConceptError> {
        let finite = self.probe.weights.iter().all(|w| w.is_finite())
            && self.probe.bias.is_finite()
            && self.threshold.is_finite();
        if self.layer >= n_layer || self.probe.weights.len() != n_embd || self.tail == 0 || !finite {
            return Err(ConceptError::BadCondition { layer: self.layer, width: self.probe.weights.len() });
        }
        Ok(())
    }

    pub(super) fn keys(&self) -> Vec<(&'static str, Value)> {
        vec![
            (LAYER, Value::U32(self.layer as u32)),
            (THRESHOLD, Value::F32(self.threshold)),
            (BIAS, Value::F32(self.probe.bias)),
            (TAIL, Value::U32(self.tail as u32)),
            (PROMPT_TOKENS, Value::U32(self.prompt_tokens.map_or(0, |k| k as u32))),
            (REPLY_TOKENS, Value::U32(self.reply_tokens.map_or(0, |k| k as u32))),
            (WEIGHTS, Value::Array(self.probe.weights.iter().map(|&x| Value::F32(x)).collect())),
        ]
    }

    /// The condition stored in a vector file, if it has one; one that is incomplete is an error,
    /// not a vector that silently applies everywhere.
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Option<Self>, ConceptError> {
        let any = [LAYER, THRESHOLD, BIAS, TAIL, WEIGHTS, OLD_DIRECTION].iter().any(|k| g.get(k).is_some());
        if !any {
            return Ok(None);
        }
        let parsed = || -> Option<Self> {
            let weights: Vec<f32> =
                g.get(WEIGHTS)?.as_array()?.iter().map(|v| v.as_f64().map(|x| x as f32)).collect::<Option<_>>()?;
            let reply_tokens = g.get(REPLY_TOKENS).and_then(Value::as_u64).unwrap_or(0) as usize;
            let tail = g.get(TAIL)?.as_u64()? as usize;
            let prompt_tokens = g.get(PROMPT_TOKENS).map_or(Some(tail as u64), Value::as_u64)? as usize;
            Some(Self {
                layer: g.get(LAYER)?.as_u64()? as usize,
                probe: Logistic { weights, bias: g.get(BIAS)?.as_f64()? as f32 },
                threshold: g.get(THRESHOLD)?.as_f64()? as f32,
                tail,
                prompt_tokens: (prompt_tokens > 0).then_some(prompt_tokens),
                reply_tokens: (reply_tokens > 0).then_some(reply_tokens),
            })
        };
        parsed().map(Some).ok_or(ConceptError::IncompleteCondition)
    }
}

const LAYER: &str = "tiller.condition.layer";
const THRESHOLD: &str = "tiller.condition.threshold";
const BIAS: &str = "tiller.condition.bias";
const TAIL: &str = "tiller.condition.tail";
const PROMPT_TOKENS: &str = "tiller.condition.prompt_tokens";
const REPLY_TOKENS: &str = "tiller.condition.reply_tokens";
const WEIGHTS: &str = "tiller.condition.weights";
/// The first format (a mean-difference direction over the whole prompt), never shipped.
const OLD_DIRECTION: &str = "tiller.condition.direction";

/// How many positions a condition reads under `template`: the template's tokens after a user
/// message (end of turn, the assistant's header), plus the message's last token.
pub fn tail_len(template: &ChatTemplate, tokenizer: &Tokenizer) -> Result<usize, ConceptError> {
    let marker = "Tiller";
    let text = template.render(&[Message::user(marker)], true)?;
    let after = text.rfind(marker).map(|i| &text[i + marker.len()..]).unwrap_or_default();
    Ok(tokenizer.encode(after, true).len() + 1)
}

/// For each prompt (rendered, ending with the assistant's header), the mean output of each block
/// in `layers` over its last `tail` positions: [prompt][index into `layers`, which must ascend]
/// [n_embd]. Eight prompts per forward.
pub async fn tail_readings(
    model: &Llama,
    prompts: &[Vec<u32>],
    layers: &[usize],
    tail: usize,
) -> Result<Vec<Vec<Vec<f32>>>, ConceptError> {
    debug_assert!(layers.windows(2).all(|w| w[0] < w[1]), "layers must ascend");
    let n_embd = model.config.n_embd;
    let mut out: Vec<Vec<Vec<f32>>> = Vec::with_capacity(prompts.len());
    for chunk in prompts.chunks(8) {
        if chunk.iter().any(|t| t.len() < tail.max(1)) {
            return Err(ConceptError::NothingToAverage);
        }
        let seqs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
        let mut caches: Vec<_> = chunk.iter().map(|_| model.new_cache()).collect();
        let mut capture = LayerCapture { layers: layers.to_vec(), inner: Capture::default() };
        model.forward_batch(&seqs, &mut caches, &mut capture, Logits::Last)?;
        let first = out.len();
        out.extend(chunk.iter().map(|_| Vec::with_capacity(layers.len())));
        for (_, rows) in capture.inner.outputs {
            let rows = read_f32(rows).await?;
            let mut at = 0;
            for (i, t) in chunk.iter().enumerate() {
                let mine = &rows[(at + t.len() - tail) * n_embd..(at + t.len()) * n_embd];
                out[first + i].push(tail_mean(mine, n_embd));
                at += t.len();
            }
        }
    }
    Ok(out)
}

/// The mean of rows [n, n_embd].
pub(crate) fn tail_mean(rows: &[f32], n_embd: usize) -> Vec<f32> {
    let n = (rows.len() / n_embd).max(1) as f64;
    let mut mean = vec![0.0f64; n_embd];
    rows.chunks_exact(n_embd).for_each(|r| mean.iter_mut().zip(r).for_each(|(m, &x)| *m += f64::from(x)));
    mean.into_iter().map(|m| (m / n) as f32).collect()
}

/// Keeps the outputs of some blocks only, in block order.
struct LayerCapture {
    layers: Vec<usize>,
    inner: Capture,
}

impl crate::model::ResidualHook for LayerCapture {
    fn after_block(&mut self, layer: usize, x: burn::tensor::Tensor<2>) -> burn::tensor::Tensor<2> {
        if self.layers.contains(&layer) { self.inner.after_block(layer, x) } else { x }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_round_trips_and_an_incomplete_one_is_refused() {
        let c = ConditionVector {
            layer: 7,
            probe: Logistic { weights: vec![0.5, -1.0], bias: 0.25 },
            threshold: 0.4,
            tail: 6,
            prompt_tokens: None,
            reply_tokens: Some(8),
        };
        let mut keys = c.keys();
        keys.insert(0, ("general.architecture", Value::String("controlvector".into())));
        let bytes = crate::gguf::write_f32_gguf(&keys, &[("direction.1", vec![2], &[1.0, 0.0])]);
        assert_eq!(ConditionVector::from_gguf(&Gguf::parse(&bytes).unwrap()), Ok(Some(c.clone())));
        keys.retain(|(k, _)| *k != BIAS);
        let bytes = crate::gguf::write_f32_gguf(&keys, &[("direction.1", vec![2], &[1.0, 0.0])]);
        assert_eq!(ConditionVector::from_gguf(&Gguf::parse(&bytes).unwrap()), Err(ConceptError::IncompleteCondition));
        // A file from before `prompt_tokens` re-runs the tail.
        let mut old = c.keys();
        old.retain(|(k, _)| *k != PROMPT_TOKENS);
        let bytes = crate::gguf::write_f32_gguf(&old, &[("direction.1", vec![2], &[1.0, 0.0])]);
        let read = ConditionVector::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap().unwrap();
        assert_eq!(read.prompt_tokens, Some(6));
        assert!(c.check(8, 2).is_ok());
        assert!(c.check(7, 2).is_err() && c.check(8, 3).is_err());
    }

    #[test]
    fn reading_engages_above_the_threshold() {
        let c = ConditionVector {
            layer: 1,
            probe: Logistic { weights: vec![1.0], bias: 0.0 },
            threshold: 0.5,
            tail: 1,
            prompt_tokens: Some(1),
            reply_tokens: None,
        };
        assert!(c.read(&[2.0]).engaged() && !c.read(&[-2.0]).engaged());
        assert_eq!(tail_mean(&[1.0, 2.0, 3.0, 4.0], 2), vec![2.0, 3.0]);
    }
}
