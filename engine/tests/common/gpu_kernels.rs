//! The GPU kernels over packed blocks against the f32 product of the same matrix, for the
//! native tests (lavapipe's Vulkan) and the browser's (WebGPU). A shader a driver rejects can
//! come back as zeros instead of an error, so every format and both paths (the packed matvec,
//! and widening for wide batches) are checked, not only what a model happens to use.

use burn::tensor::{Device, Tensor, TensorData};
use half::f16;
use tiller_engine::gguf::{TensorType, dequantize};
use tiller_engine::kernels::PackedMatrix;
use tiller_engine::kernels::gpu::{GpuMatrix, MATVEC_ROWS};
use tiller_engine::model::read_f32;

/// GGUF bytes of a random `rows × cols` block-quantized matrix.
fn random_blocks(ty: TensorType, rows: usize, cols: usize, state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let mut unit = || (next() >> 40) as f32 / (1u64 << 24) as f32;
    let half = |v: f32| f16::from_f32(v).to_le_bytes();
    let mut b = Vec::new();
    for _ in 0..rows * cols / 32 {
        match ty {
            TensorType::Q4_0 => {
                b.extend(half(0.01 + 0.05 * unit()));
                b.extend((0..16).map(|_| (unit() * 256.0) as u8));
            }
            TensorType::Q4_1 => {
                b.extend(half(0.01 + 0.05 * unit()));
                b.extend(half(-0.4 * unit()));
                b.extend((0..16).map(|_| (unit() * 256.0) as u8));
            }
            TensorType::Q8_0 => {
                b.extend(half(0.002 + 0.01 * unit()));
                b.extend((0..32).map(|_| (unit() * 256.0) as u8));
            }
            _ => unreachable!("block-quantized types only"),
        }
    }
    b
}

/// The worst error of the GPU product, relative to the largest output, over Q4_0, Q4_1 and
/// Q8_0 and 1, 3 and `MATVEC_ROWS + 3` activation rows.
pub async fn worst_relative_error(device: &Device) -> f32 {
    let mut state = 0x6e0_u64;
    // 1000 outputs: cubes of 8 with a partial last one; 160 inputs: 5 blocks, fewer words than
    // a cube has lanes for 4-bit blocks and more for 8-bit ones.
    let (rows, cols) = (1000, 160);
    let mut worst = 0f32;
    for ty in [TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0] {
        let bytes = random_blocks(ty, rows, cols, &mut state);
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let gpu = GpuMatrix::upload(&m, device).expect("a quantized matrix uploads to a GPU device");
        let w = dequantize(ty, &bytes, rows * cols).unwrap();
        for n in [1, 3, MATVEC_ROWS + 3] {
            let x: Vec<f32> = (0..n * cols).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
            let want: Vec<f32> = (0..n * rows)
                .map(|p| {
                    let (i, r) = (p / rows, p % rows);
                    (0..cols).map(|c| w[r * cols + c] as f64 * x[i * cols + c] as f64).sum::<f64>() as f32
                })
                .collect();
            let xt = Tensor::<2>::from_data(TensorData::new(x, [n, cols]), device);
            let got = read_f32(gpu.matmul(xt)).await.unwrap();
            assert_eq!(got.len(), want.len(), "{ty:?}, {n} rows");
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            let err = got.iter().zip(&want).fold(0f32, |a, (g, w)| a.max((g - w).abs())) / scale;
            assert!(err.is_finite() && err < 1e-3, "{ty:?}, {n} rows: GPU product off by {err} of the largest output");
            worst = worst.max(err);
        }
    }
    worst
}
