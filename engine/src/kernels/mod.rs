//! CPU kernels over packed quantized weights: the matrix products of a forward pass without
//! ever widening a weight matrix to f32.
//!
//! ```text
//! GGUF blocks ──repack──► PackedMatrix [rows = outputs] ──┐
//! activations [n, cols] f32 ──quantize──► QuantizedRows ───┴─► dot per (output, activation row) ─► [n, rows] f32
//! ```
//!
//! Activations are quantized to **16-bit** integers per 32-block (scale = max|x| / 32767), not
//! to 8-bit as llama.cpp does: the integer dot products are as cheap (both widen to i16 before
//! `madd`/`i32x4.dot`), and the rounding error is ~250× smaller, so logits stay within the f32
//! forward's tolerance. A Q4_1 block's minimum is applied through the exact f32 sum of the
//! activations it meets: Σ (d·q + m)·x = d·Σ q·x + m·Σ x.
//!
//! Wide batches (natively, 32 activation rows or more: long prompts, batches of pairs) take
//! another route: 128-row tiles of weights are widened to f32 once and multiplied by all the
//! rows with an f32 GEMM, which at that width does more work per instruction than unpacking
//! nibbles for every row ([`Isa::widens_batches_of`]).
//!
//! One kernel family per instruction set: [`scalar`] (the reference every other is tested
//! against), `x86` (AVX2 + FMA + F16C, or AVX-512 F + BW, picked at run time), `x86_groups`
//! (AVX-512 over blocks repacked sixteen rows at a time, [`row_groups`]: what AVX-512 machines
//! run) and `wasm` (simd128, compiled in when the worker is built with `+simd128`).

mod acts;
mod block_rows;
mod blocks;
#[cfg(feature = "wgpu")]
pub mod gpu;
#[cfg(feature = "wgpu")]
pub mod gpu_ops;
pub mod ops;
mod packed;
pub(crate) mod parallel;
mod row_groups;
mod scalar;
#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_attention;
#[cfg(target_arch = "x86_64")]
mod x86_groups;

pub use acts::QuantizedRows;
pub use packed::{AffineBlocks, PackedMatrix, WeightFormat};

/// Elements per quantization block, for weights and activations alike.
pub const QK: usize = 32;

/// Activation rows from which a native product widens weight tiles for a GEMM (measured with
/// `kernel_throughput`: below it the integer kernels are faster).
#[cfg(target_arch = "x86_64")]
const WIDE_BATCH: usize = 32;

/// Which implementation [`PackedMatrix::matmul`] runs: the fastest the processor has, or the
/// scalar reference (tests compare the two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
}

impl Isa {
    /// The best this processor (or this wasm build) supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if Self::Avx2.supported()
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
        {
            return Self::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if Self::Avx2.supported() {
            return Self::Avx2;
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return Self::Simd128;
        #[allow(unreachable_code)]
        Self::Scalar
    }

    /// Every instruction set this processor runs, the scalar reference first (for the tests).
    pub fn all() -> Vec<Self> {
        let mut all = vec![Self::Scalar];
        #[cfg(target_arch = "x86_64")]
        all.extend([Self::Avx2, Self::Avx512].into_iter().filter(|i| i.supported()));
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        all.extend([Self::Simd128].into_iter().filter(|i| i.supported()));
        all
    }

    fn supported(self) -> bool {
        match self {
            Self::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                Self::Avx2.supported()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Self::Simd128 => true,
        }
    }

    /// Whether a product over `n` activation rows widens weight tiles to f32 for a GEMM
    /// instead of running this instruction set's integer kernel (see `matmul_widened`). Only
    /// natively for now: on wasm32 the choice is not measured yet (the `gemm` crate's simd128
    /// kernels are 128 bits wide), so the integer kernels stay. The scalar reference never does.
    pub fn widens_batches_of(self, n: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        if matches!(self, Self::Avx2 | Self::Avx512) {
            return n >= WIDE_BATCH;
        }
        let _ = n;
        false
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => "avx512",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Self::Simd128 => "simd128",
        }
    }
}

#[cfg(test)]
mod tests;
