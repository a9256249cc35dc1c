//! Contrastive activation addition (CAA): the direction of a concept at a block is the mean, over
//! pairs, of (mean block output of the positive text − mean block output of the negative text).

use crate::model::{Capture, Llama, Logits, read_f32};
use crate::steer::ControlVector;

use super::{ConceptError, ConceptVector, ContrastText};

/// Accumulates pairs, then turns them into unit directions. Sums are in f64 and pairs are
/// folded in the order given, so the same pairs on the same device give the same bits.
pub struct MeanDifference {
    n_layer: usize,
    n_embd: usize,
    /// Σ over pairs of (mean positive − mean negative), per block.
    diff_sums: Vec<Vec<f64>>,
    /// Σ of the L2 norms of every block output row at positions ≥ 1, per block, and their count.
    norm_sums: Vec<f64>,
    norm_rows: usize,
    pairs: usize,
}

impl MeanDifference {
    pub fn new(n_layer: usize, n_embd: usize) -> Self {
        Self {
            n_layer,
            n_embd,
            diff_sums: vec![vec![0.0; n_embd]; n_layer],
            norm_sums: vec![0.0; n_layer],
            norm_rows: 0,
            pairs: 0,
        }
    }

    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// Run both sides through `model` and add their difference.
    pub async fn add_pair(
        &mut self,
        model: &Llama,
        positive: &ContrastText,
        negative: &ContrastText,
    ) -> Result<(), ConceptError> {
        let pos = self.text_means(model, positive).await?;
        let neg = self.text_means(model, negative).await?;
        for ((sum, p), n) in self.diff_sums.iter_mut().zip(pos).zip(neg) {
            sum.iter_mut().zip(p.iter().zip(&n)).for_each(|(s, (a, b))| *s += a - b);
        }
        self.pairs += 1;
        Ok(())
    }

    /// The mean block output of `text` over its averaging positions, per block; also adds its
    /// rows' norms to the residual-norm statistics.
    async fn text_means(&mut self, model: &Llama, text: &ContrastText) -> Result<Vec<Vec<f64>>, ConceptError> {
        let (seq, from) = (text.tokens.len(), text.from.max(1));
        if from >= seq {
            return Err(ConceptError::NothingToAverage);
        }
        let mut capture = Capture::default();
        let mut cache = model.new_cache();
        model.forward(&text.tokens, &mut cache, &mut capture, Logits::Last)?;
        let mut means = vec![vec![0.0f64; self.n_embd]; self.n_layer];
        for (layer, output) in capture.outputs {
            let rows = read_f32(output).await?;
            for (pos, row) in rows.chunks_exact(self.n_embd).enumerate().skip(1) {
                self.norm_sums[layer] += row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
                if pos >= from {
                    means[layer].iter_mut().zip(row).for_each(|(m, &x)| *m += f64::from(x));
                }
            }
            let n = (seq - from) as f64;
            means[layer].iter_mut().for_each(|m| *m /= n);
        }
        self.norm_rows += seq - 1;
        Ok(means)
    }

    /// Whether `finish(start, end)` would accept the range: checkable before the slow part.
    pub fn check_range(&self, start: usize, end: usize) -> Result<(), ConceptError> {
        let max = self.n_layer.saturating_sub(1);
        if start == 0 || start > end || end > max {
            return Err(ConceptError::BadRange { start, end, max });
        }
        Ok(())
    }

    /// Unit directions for blocks `start..=end` (block 0 is never steered), with the statistics
    /// of every block.
    pub fn finish(&self, start: usize, end: usize) -> Result<ConceptVector, ConceptError> {
        self.check_range(start, end)?;
        if self.pairs == 0 {
            return Err(ConceptError::NoPairs);
        }
        let means: Vec<Vec<f64>> =
            self.diff_sums.iter().map(|s| s.iter().map(|x| x / self.pairs as f64).collect()).collect();
        let separation: Vec<f64> = means.iter().map(|m| m.iter().map(|x| x * x).sum::<f64>().sqrt()).collect();
        let mut directions = std::collections::BTreeMap::new();
        for layer in start..=end {
            let norm = separation[layer];
            if norm == 0.0 || !norm.is_finite() {
                return Err(ConceptError::ZeroDirection(layer));
            }
            directions.insert(layer, means[layer].iter().map(|x| (x / norm) as f32).collect());
        }
        let rows = self.norm_rows.max(1) as f64;
        Ok(ConceptVector {
            vector: ControlVector { n_embd: self.n_embd, directions },
            residual_norms: self.norm_sums.iter().map(|s| (s / rows) as f32).collect(),
            separation: separation.into_iter().map(|s| s as f32).collect(),
            pairs: self.pairs,
        })
    }
}
