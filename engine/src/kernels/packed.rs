use half::f16;

use super::acts::{ActRow, QuantizedRows};
use super::{Isa, QK, scalar};
use crate::gguf::{GgufError, TensorType};

/// The format a matrix came in; its blocks stay in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    Q4_0,
    Q4_1,
    Q8_0,
    F16,
    F32,
}

/// A weight matrix of `rows` outputs × `cols` inputs, kept in its GGUF block format, byte for
/// byte: a row is `cols / 32` blocks, each its f16 scale (and f16 minimum), then its quants.
///
/// The blocks are not repacked into wider scales: decode reads every weight once per token, so
/// its speed is the memory traffic, and the file's 20 bytes per 32 Q4_1 weights are the least
/// there is (f32 scales would add 20%). Kernels widen the f16 scales in registers (F16C on x86).
#[derive(Clone, Debug)]
pub struct PackedMatrix {
    rows: usize,
    cols: usize,
    format: WeightFormat,
    storage: Storage,
}

#[derive(Clone, Debug)]
enum Storage {
    /// [rows, cols / 32] blocks of `kind.bytes()` each, as in the file.
    Blocks {
        kind: BlockKind,
        bytes: Vec<u8>,
    },
    F16 {
        w: Vec<f16>,
    },
    F32 {
        w: Vec<f32>,
    },
}

/// The block formats, with ggml's layouts (reference README, pitfall 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// f16 d, 16 bytes of nibbles; x = (q − 8)·d. Byte j holds element j (low) and j + 16 (high).
    Q4_0,
    /// f16 d, f16 m, 16 bytes of nibbles; x = q·d + m.
    Q4_1,
    /// f16 d, 32 × i8; x = q·d.
    Q8_0,
}

impl BlockKind {
    pub(crate) const fn bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q8_0 => 34,
        }
    }
}

impl PackedMatrix {
    /// Repack a GGUF tensor of ggml shape [cols, rows] (rows of `cols` contiguous values).
    pub fn from_gguf(ty: TensorType, bytes: &[u8], rows: usize, cols: usize) -> Result<Self, GgufError> {
        let bad = |why: String| GgufError::BadTensor { name: String::new(), why };
        let (format, block, block_bytes): (_, usize, usize) = match ty {
            TensorType::Q4_0 => (WeightFormat::Q4_0, QK, 18),
            TensorType::Q4_1 => (WeightFormat::Q4_1, QK, 20),
            TensorType::Q8_0 => (WeightFormat::Q8_0, QK, 34),
            TensorType::F16 => (WeightFormat::F16, 1, 2),
            TensorType::F32 => (WeightFormat::F32, 1, 4),
            TensorType::Other(_) => return Err(GgufError::UnsupportedType { ty: ty.name(), tensor: String::new() }),
        };
        let n = rows.checked_mul(cols).ok_or_else(|| bad("too many elements".into()))?;
        if !cols.is_multiple_of(block) || (n / block).checked_mul(block_bytes) != Some(bytes.len()) {
            return Err(bad(format!("{} bytes do not hold {rows} rows of {cols} {} elements", bytes.len(), ty.name())));
        }
        let storage = match format {
            WeightFormat::Q4_0 => Storage::Blocks { kind: BlockKind::Q4_0, bytes: bytes.to_vec() },
            WeightFormat::Q4_1 => Storage::Blocks { kind: BlockKind::Q4_1, bytes: bytes.to_vec() },
            WeightFormat::Q8_0 => Storage::Blocks { kind: BlockKind::Q8_0, bytes: bytes.to_vec() },
            WeightFormat::F16 => {
                Storage::F16 { w: bytes.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]])).collect() }
            }
            WeightFormat::F32 => Storage::F32 {
                w: bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            },
        };
        let m = Self { rows, cols, format, storage };
        m.check_finite()?;
        Ok(m)
    }

    /// Stack matrices with the same inputs and format into one (their outputs one after
    /// another): q, k and v, or gate and up, then cost one pass over the activations.
    pub fn concat(parts: &[PackedMatrix]) -> Option<Self> {
        let first = parts.first()?;
        if parts.iter().any(|p| p.cols != first.cols || p.format != first.format) {
            return None;
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let storage = match &first.storage {
            Storage::Blocks { kind, .. } => Storage::Blocks {
                kind: *kind,
                bytes: parts
                    .iter()
                    .flat_map(|p| match &p.storage {
                        Storage::Blocks { bytes, .. } => bytes.iter().copied(),
                        _ => unreachable!("same format"),
                    })
                    .collect(),
            },
            Storage::F16 { .. } => Storage::F16 {
                w: parts
                    .iter()
                    .flat_map(|p| match &p.storage {
                        Storage::F16 { w } => w.iter().copied(),
                        _ => unreachable!("same format"),
                    })
                    .collect(),
            },
            Storage::F32 { .. } => Storage::F32 {
                w: parts
                    .iter()
                    .flat_map(|p| match &p.storage {
                        Storage::F32 { w } => w.iter().copied(),
                        _ => unreachable!("same format"),
                    })
                    .collect(),
            },
        };
        Some(Self { rows, cols: first.cols, format: first.format, storage })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// Bytes held, scales included.
    pub fn size_bytes(&self) -> usize {
        match &self.storage {
            Storage::Blocks { bytes, .. } => bytes.len(),
            Storage::F16 { w } => 2 * w.len(),
            Storage::F32 { w } => 4 * w.len(),
        }
    }

    /// Row `r` widened to f32 (the embedding lookup reads one row per token).
    pub fn row_f32(&self, r: usize) -> Vec<f32> {
        let c = self.cols;
        match &self.storage {
            Storage::Blocks { kind, bytes } => {
                let len = c / QK * kind.bytes();
                let mut out = Vec::with_capacity(c);
                for b in bytes[r * len..(r + 1) * len].chunks_exact(kind.bytes()) {
                    scalar::widen_block(*kind, b, &mut out);
                }
                out
            }
            Storage::F16 { w } => w[r * c..(r + 1) * c].iter().map(|v| v.to_f32()).collect(),
            Storage::F32 { w } => w[r * c..(r + 1) * c].to_vec(),
        }
    }

    /// x [n, cols] → x · Wᵀ [n, rows].
    pub fn matmul(&self, x: &[f32], isa: Isa) -> Vec<f32> {
        assert!(x.len().is_multiple_of(self.cols), "activations of {} columns", self.cols);
        let n = x.len() / self.cols;
        let quantized = match self.storage {
            Storage::Blocks { .. } => Some(QuantizedRows::quantize(x, self.cols)),
            _ => None,
        };
        let acts: Vec<ActRow<'_>> = quantized.iter().flat_map(|q| (0..q.rows()).map(|i| q.row(i))).collect();
        // Computed as [rows, n] so that threads own contiguous runs of weight rows.
        let mut out_t = vec![0f32; self.rows * n];
        super::parallel::for_row_chunks(&mut out_t, n, self.rows, self.cols, |first, chunk| {
            self.rows_dot(first, x, &acts, isa, chunk);
        });
        if n == 1 {
            return out_t;
        }
        let mut out = vec![0f32; n * self.rows];
        for (r, col) in out_t.chunks_exact(n).enumerate() {
            for (i, &v) in col.iter().enumerate() {
                out[i * self.rows + r] = v;
            }
        }
        out
    }

    /// Weight row `r` against every activation row: out[i] = W[r] · x[i].
    /// Weight rows `first..` against every activation row: out[r · n + i] = W[first + r] · x[i],
    /// for as many rows as `out` holds. `xs` are the quantized rows of `x` (empty for f16 and f32
    /// weights, which read `x`).
    fn rows_dot(&self, first: usize, x: &[f32], xs: &[ActRow<'_>], isa: Isa, out: &mut [f32]) {
        let (c, n) = (self.cols, x.len() / self.cols);
        let rows = first..first + out.len() / n;
        match &self.storage {
            Storage::Blocks { kind, bytes } => {
                let (nb, len) = (c / QK, c / QK * kind.bytes());
                let bytes = &bytes[rows.start * len..rows.end * len];
                match isa {
                    Isa::Scalar => {
                        for (row, out) in bytes.chunks_exact(len).zip(out.chunks_exact_mut(n)) {
                            xs.iter().zip(out).for_each(|(x, o)| *o = scalar::dot(*kind, row, *x));
                        }
                    }
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: Isa::Avx2 is only chosen when the processor reports AVX2, FMA and F16C.
                    Isa::Avx2 => unsafe { super::x86::matmul(*kind, bytes, nb, xs, out) },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: Isa::Avx512 is only chosen when the processor reports AVX-512 F and BW too.
                    Isa::Avx512 => unsafe { super::x86::matmul_avx512(*kind, bytes, nb, xs, out) },
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    Isa::Simd128 => super::wasm::matmul(*kind, bytes, nb, xs, out),
                }
            }
            Storage::F16 { w } => {
                for (r, out) in rows.zip(out.chunks_exact_mut(n)) {
                    let row: Vec<f32> = w[r * c..(r + 1) * c].iter().map(|v| v.to_f32()).collect();
                    x.chunks_exact(c).zip(out).for_each(|(xi, o)| *o = scalar::dot_f32(&row, xi));
                }
            }
            Storage::F32 { w } => {
                for (r, out) in rows.zip(out.chunks_exact_mut(n)) {
                    x.chunks_exact(c).zip(out).for_each(|(xi, o)| *o = scalar::dot_f32(&w[r * c..(r + 1) * c], xi));
                }
            }
        }
    }

    /// A weight or scale that is NaN or infinite makes every product it touches meaningless.
    fn check_finite(&self) -> Result<(), GgufError> {
        let finite = match &self.storage {
            Storage::Blocks { kind, bytes } => {
                let scales = if *kind == BlockKind::Q4_1 { 2 } else { 1 };
                bytes
                    .chunks_exact(kind.bytes())
                    .all(|b| (0..scales).all(|i| f16::from_le_bytes([b[2 * i], b[2 * i + 1]]).is_finite()))
            }
            Storage::F16 { w } => w.iter().all(|v| v.is_finite()),
            Storage::F32 { w } => w.iter().all(|v| v.is_finite()),
        };
        if finite {
            Ok(())
        } else {
            Err(GgufError::BadTensor { name: String::new(), why: "it holds NaN or infinite values".into() })
        }
    }
}
