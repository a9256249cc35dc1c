//! Conditional activation steering (CAST, Lee et al. 2024): a behaviour vector is applied only
//! when the prompt's activations say it should be. A *condition direction* at one block separates
//! two sets of prompts (harmful requests vs ordinary ones); a prompt whose mean block output
//! projects past a threshold gets the steering, any other prompt runs unsteered. Plain addition
//! pushes every prompt the same way, so a refusal vector alone refuses benign requests too.
//!
//! The condition is stored under `tiller.condition.*` keys of the vector's GGUF, which llama.cpp
//! ignores: the file stays a plain control vector there.

use crate::gguf::{Gguf, Value};
use crate::model::{Capture, Llama, Logits, read_f32};

use super::{ConceptError, direction};

#[derive(Clone, Debug, PartialEq)]
pub struct ConditionVector {
    /// The block whose output is read.
    pub layer: usize,
    /// Unit direction: mean(positive prompts) − mean(negative prompts).
    pub direction: Vec<f32>,
    /// Projections above this match.
    pub threshold: f32,
}

/// For each text, the mean output of each block in `layers` over positions ≥ 1 (position 0 is
/// the first-token activation sink): [text][index into `layers`, which must ascend][n_embd].
/// Eight texts per forward.
pub async fn prompt_means(
    model: &Llama,
    texts: &[Vec<u32>],
    layers: &[usize],
) -> Result<Vec<Vec<Vec<f64>>>, ConceptError> {
    debug_assert!(layers.windows(2).all(|w| w[0] < w[1]), "layers must ascend");
    let n_embd = model.config.n_embd;
    let mut out: Vec<Vec<Vec<f64>>> = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(8) {
        if chunk.iter().any(|t| t.len() < 2) {
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
            let mut rows = rows.chunks_exact(n_embd);
            for (i, t) in chunk.iter().enumerate() {
                let mut mean = vec![0.0f64; n_embd];
                for row in rows.by_ref().take(t.len()).skip(1) {
                    mean.iter_mut().zip(row).for_each(|(m, &x)| *m += f64::from(x));
                }
                mean.iter_mut().for_each(|m| *m /= (t.len() - 1) as f64);
                out[first + i].push(mean);
            }
        }
    }
    Ok(out)
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

impl ConditionVector {
    /// The direction from the two sets' mean activations; the threshold is the one that best
    /// separates the training prompts (balanced accuracy), midway between neighbours.
    pub fn fit(layer: usize, positives: &[Vec<f64>], negatives: &[Vec<f64>]) -> Result<Self, ConceptError> {
        if positives.is_empty() || negatives.is_empty() {
            return Err(ConceptError::NoPairs);
        }
        let p: Vec<&[f64]> = positives.iter().map(Vec::as_slice).collect();
        let n: Vec<&[f64]> = negatives.iter().map(Vec::as_slice).collect();
        let diff: Vec<f64> = direction::mean(&p).iter().zip(direction::mean(&n)).map(|(a, b)| a - b).collect();
        let dir = direction::unit(&diff).ok_or(ConceptError::ZeroDirection(layer))?;
        let proj = |v: &[f64]| v.iter().zip(&dir).map(|(a, b)| a * b).sum::<f64>();
        let mut scored: Vec<(f64, bool)> =
            p.iter().map(|v| (proj(v), true)).chain(n.iter().map(|v| (proj(v), false))).collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Threshold below scored[i]: everything from i on matches.
        let (np, nn) = (p.len() as f64, n.len() as f64);
        let (mut best, mut best_acc) = (scored[0].0 - 1.0, 0.5);
        let mut neg_below = 0.0;
        let mut pos_below = 0.0;
        for i in 1..scored.len() {
            if scored[i - 1].1 {
                pos_below += 1.0
            } else {
                neg_below += 1.0
            }
            let acc = 0.5 * ((np - pos_below) / np + neg_below / nn);
            if acc > best_acc {
                best_acc = acc;
                best = 0.5 * (scored[i - 1].0 + scored[i].0);
            }
        }
        Ok(Self { layer, direction: dir.into_iter().map(|x| x as f32).collect(), threshold: best as f32 })
    }

    /// The projection of a prompt's mean activation at `self.layer` (see [`prompt_means`]).
    pub fn score(&self, mean: &[f64]) -> f32 {
        mean.iter().zip(&self.direction).map(|(a, &b)| a * f64::from(b)).sum::<f64>() as f32
    }

    pub fn matches(&self, mean: &[f64]) -> bool {
        self.score(mean) > self.threshold
    }

    pub(super) fn keys(&self) -> Vec<(&'static str, Value)> {
        vec![
            (LAYER, Value::U32(self.layer as u32)),
            (THRESHOLD, Value::F32(self.threshold)),
            (DIRECTION, Value::Array(self.direction.iter().map(|&x| Value::F32(x)).collect())),
        ]
    }

    /// The condition stored in a vector file, if it has one.
    pub fn from_gguf(g: &Gguf<'_>) -> Option<Self> {
        let layer = g.get(LAYER)?.as_u64()? as usize;
        let threshold = g.get(THRESHOLD)?.as_f64()? as f32;
        let direction: Vec<f32> =
            g.get(DIRECTION)?.as_array()?.iter().filter_map(|v| v.as_f64()).map(|x| x as f32).collect();
        (!direction.is_empty()).then_some(Self { layer, direction, threshold })
    }
}

const LAYER: &str = "tiller.condition.layer";
const THRESHOLD: &str = "tiller.condition.threshold";
const DIRECTION: &str = "tiller.condition.direction";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_separates_two_clusters_and_round_trips() {
        let pos = vec![vec![3.0, 1.0], vec![4.0, 0.0], vec![5.0, 2.0]];
        let neg = vec![vec![0.0, 1.0], vec![-1.0, 0.0], vec![1.0, 2.0]];
        let c = ConditionVector::fit(7, &pos, &neg).unwrap();
        assert!(pos.iter().all(|v| c.matches(v)) && !neg.iter().any(|v| c.matches(v)), "{c:?}");
        let mut keys = c.keys();
        keys.insert(0, ("general.architecture", Value::String("controlvector".into())));
        let bytes = crate::gguf::write_f32_gguf(&keys, &[("direction.1", vec![2], &[1.0, 0.0])]);
        assert_eq!(ConditionVector::from_gguf(&Gguf::parse(&bytes).unwrap()), Some(c));
    }
}
