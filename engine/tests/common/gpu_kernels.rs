//! The GPU kernels against the host's, for the native tests (lavapipe's Vulkan) and the
//! browser's (WebGPU): the packed products against the f32 product of the same matrix, and the
//! small ops between them against `kernels::ops`. A shader a driver rejects can come back as
//! zeros instead of an error, so every format, tile shape and head size is checked, not only
//! what a model happens to use.

use burn::tensor::{Device, Tensor, TensorData};
use half::f16;
use tiller_engine::gguf::{TensorType, dequantize};
use tiller_engine::kernels::PackedMatrix;
use tiller_engine::kernels::gpu::{GpuMatrix, TILE};
use tiller_engine::kernels::gpu_ops::{self, SeqKv};
use tiller_engine::kernels::ops::{self, Heads, RopeTables};
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
/// Q8_0, 1, 3 and `2·TILE + 3` activation rows (one tile of its own size, or two whole tiles
/// and a partial one), and 1, 2 and 4 outputs a unit.
pub async fn worst_relative_error(device: &Device) -> f32 {
    let mut state = 0x6e0_u64;
    // 1000 outputs: cubes of 64 with a partial last one; 160 inputs: 5 blocks.
    let (rows, cols) = (1000, 160);
    let mut worst = 0f32;
    for ty in [TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0] {
        let bytes = random_blocks(ty, rows, cols, &mut state);
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let uploaded = GpuMatrix::upload(&m, device).expect("a quantized matrix uploads to a GPU device");
        let w = dequantize(ty, &bytes, rows * cols).unwrap();
        for (n, spread) in [1, 3, 2 * TILE + 3].into_iter().flat_map(|n| [1, 2, 4].map(|s| (n, s))) {
            let gpu = uploaded.clone().outputs_per_unit(spread);
            let x: Vec<f32> = (0..n * cols).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
            let want: Vec<f32> = (0..n * rows)
                .map(|p| {
                    let (i, r) = (p / rows, p % rows);
                    (0..cols).map(|c| w[r * cols + c] as f64 * x[i * cols + c] as f64).sum::<f64>() as f32
                })
                .collect();
            let xt = Tensor::<2>::from_data(TensorData::new(x, [n, cols]), device);
            let got = read_f32(gpu.matmul(xt.clone())).await.unwrap();
            // The same product added into a residual stream of ones.
            let ones = Tensor::<2>::ones([n, rows], device);
            let added: Vec<f32> = read_f32(gpu.matmul_add(xt, ones)).await.unwrap().iter().map(|v| v - 1.0).collect();
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            for (got, what) in [(got, "product"), (added, "product added to a residual")] {
                assert_eq!(got.len(), want.len(), "{ty:?}, {n} rows, {spread} outputs a unit");
                let err = got.iter().zip(&want).fold(0f32, |a, (g, w)| a.max((g - w).abs())) / scale;
                assert!(
                    err.is_finite() && err < 1e-3,
                    "{ty:?}, {n} rows, {spread} outputs a unit: GPU {what} off by {err} of the largest output"
                );
                worst = worst.max(err);
            }
        }
    }
    worst
}

/// Values in [−1, 1) from a seed, the same on every target.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn worst(got: &[f32], want: &[f32], what: &str) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let err = got.iter().zip(want).fold(0f32, |a, (g, w)| a.max((g - w).abs()));
    assert!(err.is_finite() && err < 1e-4, "{what}: GPU off by {err}");
    err
}

/// The GPU's small ops (`kernels::gpu_ops`) against the host path's (`kernels::ops`) on the same
/// values: RMSNorm, SwiGLU, and attention for two sequences packed in one batch, one of them
/// with 70 positions in its cache already (more keys than a cube scores at once), for head
/// sizes of 64 (fully rotated) and 80 (64 rotated; two output dimensions a unit). The cache a
/// clone still shares is copied before the kernel writes it. Returns the worst |Δ|.
pub async fn small_ops_worst_error(device: &Device) -> f32 {
    let tensor = |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), device);
    let mut err = 0f32;

    let (rows, n) = (3, 576);
    let (x, gamma) = (values(rows * n, 1), values(n, 2));
    let got = read_f32(gpu_ops::rms_norm(tensor(x.clone(), [rows, n]), &tensor(gamma.clone(), [1, n]), 1e-5)).await;
    err = err.max(worst(&got.unwrap(), &ops::rms_norm(&x, &gamma, 1e-5), "RMSNorm"));

    let n_ff = 1536;
    let gate_up: Vec<f32> = values(rows * 2 * n_ff, 3).iter().map(|v| 8.0 * v).collect();
    let got = read_f32(gpu_ops::swiglu(tensor(gate_up.clone(), [rows, 2 * n_ff]))).await;
    err = err.max(worst(&got.unwrap(), &ops::swiglu(&gate_up, n_ff), "SwiGLU"));

    for (heads, n_rot) in
        [(Heads { n_head: 6, n_kv: 2, head_dim: 64 }, 64), (Heads { n_head: 4, n_kv: 4, head_dim: 80 }, 64)]
    {
        let (q_dim, kv_dim) = (heads.q_dim(), heads.kv_dim());
        let width = q_dim + 2 * kv_dim;
        let (n_ctx, cap) = (256, 128);
        let rope = RopeTables::new(n_rot, 10_000.0, n_ctx);
        let cos = tensor(rope.cos.clone(), [n_ctx, n_rot / 2]);
        let sin = tensor(rope.sin.clone(), [n_ctx, n_rot / 2]);
        // (start, len) of each sequence, packed in this order.
        let shape = [(0, 5), (70, 3)];
        let total_rows: usize = shape.iter().map(|&(_, len)| len).sum();
        let qkv = values(total_rows * width, 4);
        let mut seqs = Vec::new();
        let mut want_out = Vec::new();
        let mut want_cache = Vec::new();
        let mut kept = Vec::new();
        let mut first_row = 0;
        for (s, &(start, len)) in shape.iter().enumerate() {
            let (mut k, mut v) = (values(cap * kv_dim, 10 + s as u64), values(cap * kv_dim, 20 + s as u64));
            let (kt, vt) = (tensor(k.clone(), [cap, kv_dim]), tensor(v.clone(), [cap, kv_dim]));
            // The second sequence's cache is shared with a clone that must not change.
            if s == 1 {
                kept.push((kt.clone(), k.clone()));
            }
            seqs.push(SeqKv { first_row, len, start, k: kt, v: vt });
            let mut rows = qkv[first_row * width..(first_row + len) * width].to_vec();
            for (i, row) in rows.chunks_exact_mut(width).enumerate() {
                rope.rotate(&mut row[..q_dim + kv_dim], heads.head_dim, start + i);
                k[(start + i) * kv_dim..(start + i + 1) * kv_dim].copy_from_slice(&row[q_dim..q_dim + kv_dim]);
                v[(start + i) * kv_dim..(start + i + 1) * kv_dim].copy_from_slice(&row[q_dim + kv_dim..]);
            }
            let end = (start + len) * kv_dim;
            want_out.extend(heads.attend(&rows, width, len, start, &k[..end], &v[..end]));
            want_cache.push((k[..end].to_vec(), v[..end].to_vec()));
            first_row += len;
        }
        let (out, written) = gpu_ops::attention(tensor(qkv, [total_rows, width]), (&cos, &sin), seqs, heads);
        let what = format!("attention, head size {}", heads.head_dim);
        err = err.max(worst(&read_f32(out).await.unwrap(), &want_out, &what));
        for ((got_k, got_v), (k, v)) in written.into_iter().zip(want_cache) {
            let rows = k.len() / kv_dim;
            err = err.max(worst(&read_f32(got_k.narrow(0, 0, rows)).await.unwrap(), &k, &format!("{what}: keys")));
            err = err.max(worst(&read_f32(got_v.narrow(0, 0, rows)).await.unwrap(), &v, &format!("{what}: values")));
        }
        for (t, before) in kept {
            assert_eq!(read_f32(t).await.unwrap(), before, "{what}: a cache shared with a clone was written in place");
        }
    }
    err
}
