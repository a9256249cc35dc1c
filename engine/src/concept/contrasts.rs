//! Collecting contrasts: both sides of every pair run through the model, and what is kept per
//! pair and block is the difference of the two sides' mean block outputs. Both ways of turning
//! those differences into a direction (see `direction.rs`) start from here.

use crate::model::{Capture, Llama, Logits, read_f32};

use super::{ConceptError, ConceptVector, ContrastText, Method, direction};

/// Per-pair differences and residual-norm statistics, in f64 and in the order the pairs came,
/// so the same pairs on the same device give the same bits.
pub struct Contrasts {
    n_layer: usize,
    n_embd: usize,
    /// [pair][block] → mean(positive) − mean(negative), n_embd values.
    diffs: Vec<Vec<Vec<f64>>>,
    /// Σ over block-output rows at positions ≥ 1 of their L2 norm, per block, and the row count.
    norm_sums: Vec<f64>,
    norm_rows: usize,
}

impl Contrasts {
    pub fn new(n_layer: usize, n_embd: usize) -> Self {
        Self { n_layer, n_embd, diffs: Vec::new(), norm_sums: vec![0.0; n_layer], norm_rows: 0 }
    }

    pub fn pairs(&self) -> usize {
        self.diffs.len()
    }

    /// Run both sides of each pair in one batched forward and keep their differences. A few
    /// pairs per call (4–8) amortize the weight reads; more only grows the activations held.
    pub async fn add_pairs(&mut self, model: &Llama, pairs: &[[ContrastText; 2]]) -> Result<(), ConceptError> {
        let texts: Vec<&ContrastText> = pairs.iter().flatten().collect();
        if texts.iter().any(|t| t.from.max(1) >= t.tokens.len()) {
            return Err(ConceptError::NothingToAverage);
        }
        let seqs: Vec<&[u32]> = texts.iter().map(|t| t.tokens.as_slice()).collect();
        let mut caches: Vec<_> = texts.iter().map(|_| model.new_cache()).collect();
        let mut capture = Capture::default();
        model.forward_batch(&seqs, &mut caches, &mut capture, Logits::Last)?;

        // [text][block] → mean over the text's averaged positions
        let mut means = vec![vec![Vec::new(); self.n_layer]; texts.len()];
        for (layer, output) in capture.outputs {
            let rows = read_f32(output).await?;
            let mut rows = rows.chunks_exact(self.n_embd);
            for (t, text) in texts.iter().enumerate() {
                let from = text.from.max(1);
                let mut mean = vec![0.0f64; self.n_embd];
                for (pos, row) in rows.by_ref().take(text.tokens.len()).enumerate().skip(1) {
                    self.norm_sums[layer] += row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
                    if pos >= from {
                        mean.iter_mut().zip(row).for_each(|(m, &x)| *m += f64::from(x));
                    }
                }
                let n = (text.tokens.len() - from) as f64;
                mean.iter_mut().for_each(|m| *m /= n);
                means[t][layer] = mean;
            }
        }
        self.norm_rows += texts.iter().map(|t| t.tokens.len() - 1).sum::<usize>();
        let mut means = means.into_iter();
        while let (Some(pos), Some(neg)) = (means.next(), means.next()) {
            let diff = pos.iter().zip(&neg).map(|(p, n)| p.iter().zip(n).map(|(a, b)| a - b).collect()).collect();
            self.diffs.push(diff);
        }
        Ok(())
    }

    /// Mean L2 norm of every block's output over positions ≥ 1 of the texts added so far.
    pub fn residual_norms(&self) -> Vec<f32> {
        let rows = self.norm_rows.max(1) as f64;
        self.norm_sums.iter().map(|s| (s / rows) as f32).collect()
    }

    /// Whether `finish(_, start, end)` would accept the range: checkable before the slow part.
    pub fn check_range(&self, start: usize, end: usize) -> Result<(), ConceptError> {
        let max = self.n_layer.saturating_sub(1);
        if start == 0 || start > end || end > max {
            return Err(ConceptError::BadRange { start, end, max });
        }
        Ok(())
    }

    /// Unit directions for blocks `start..=end` (block 0 is never steered) by `method`, with the
    /// statistics of every block.
    pub fn finish(&self, method: Method, start: usize, end: usize) -> Result<ConceptVector, ConceptError> {
        self.check_range(start, end)?;
        if self.diffs.is_empty() {
            return Err(ConceptError::NoPairs);
        }
        let mut directions = std::collections::BTreeMap::new();
        let mut separation = Vec::with_capacity(self.n_layer);
        for layer in 0..self.n_layer {
            let diffs: Vec<&[f64]> = self.diffs.iter().map(|d| d[layer].as_slice()).collect();
            let mean = direction::mean(&diffs);
            separation.push(direction::norm(&mean) as f32);
            if (start..=end).contains(&layer) {
                let dir = match method {
                    Method::MeanDifference => direction::unit(&mean),
                    Method::Pca => direction::first_component(&diffs, &mean),
                }
                .ok_or(ConceptError::ZeroDirection(layer))?;
                directions.insert(layer, dir.into_iter().map(|x| x as f32).collect());
            }
        }
        Ok(ConceptVector {
            vector: crate::steer::ControlVector { n_embd: self.n_embd, directions },
            method,
            residual_norms: self.residual_norms(),
            separation,
            pairs: self.diffs.len(),
            condition: None,
        })
    }
}
