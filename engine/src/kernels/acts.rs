use super::QK;

/// Rows of activations quantized once per matrix product, each 32-block to i16 with its own
/// scale, plus the block's exact f32 sum (for the minimum of Q4_1 weights).
///
/// A block holding a NaN or an infinity gets a NaN scale, so a non-finite activation stays
/// non-finite in the product instead of rounding to 0.
pub struct QuantizedRows {
    pub(crate) n: usize,
    pub(crate) cols: usize,
    /// [n, cols]
    pub(crate) q: Vec<i16>,
    /// [n, cols / QK]: x ≈ q · d
    pub(crate) d: Vec<f32>,
    /// [n, cols / QK]: Σ x over the block, in f32
    pub(crate) s: Vec<f32>,
}

impl QuantizedRows {
    /// `x` is [n, cols] row-major; `cols` must be a multiple of [`QK`].
    pub fn quantize(x: &[f32], cols: usize) -> Self {
        assert!(cols.is_multiple_of(QK) && x.len().is_multiple_of(cols), "activations of {cols} columns");
        let blocks = x.len() / QK;
        let (mut q, mut d, mut s) = (vec![0i16; x.len()], Vec::with_capacity(blocks), Vec::with_capacity(blocks));
        for (block, out) in x.chunks_exact(QK).zip(q.chunks_exact_mut(QK)) {
            // Eight lanes each, which the compiler vectorizes (one running sum would not be:
            // float addition does not reorder).
            let (mut sums, mut maxes) = ([0f32; 8], [0f32; 8]);
            for part in block.chunks_exact(8) {
                for l in 0..8 {
                    sums[l] += part[l];
                    maxes[l] = maxes[l].max(part[l].abs());
                }
            }
            let sum: f32 = sums.iter().sum();
            let amax = maxes.iter().fold(0f32, |a, &m| a.max(m));
            let scale = if !sum.is_finite() { f32::NAN } else { amax / i16::MAX as f32 };
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            // Rounded to nearest (ties to even) by adding and removing 1.5 · 2²³: `f32::round`
            // is a libm call per element on x86-64's baseline and kept the loop scalar.
            const ROUND: f32 = 12_582_912.0;
            for (o, v) in out.iter_mut().zip(block) {
                *o = ((v * inv + ROUND) - ROUND) as i16;
            }
            d.push(scale);
            s.push(sum);
        }
        Self { n: x.len() / cols, cols, q, d, s }
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    pub(crate) fn row(&self, i: usize) -> ActRow<'_> {
        let nb = self.cols / QK;
        ActRow {
            q: &self.q[i * self.cols..(i + 1) * self.cols],
            d: &self.d[i * nb..(i + 1) * nb],
            s: &self.s[i * nb..(i + 1) * nb],
        }
    }
}

/// One quantized activation row.
#[derive(Clone, Copy)]
pub(crate) struct ActRow<'a> {
    pub q: &'a [i16],
    pub d: &'a [f32],
    pub s: &'a [f32],
}
