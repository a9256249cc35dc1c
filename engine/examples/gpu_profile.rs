//! Where a decoded token's time goes on a GPU: each kernel of a SmolLM2-135M block, at the
//! model's shapes and types (synthetic Q4_1 weights and a Q8_0 head, as in the default file; the
//! speed does not depend on the values), timed on this machine's wgpu adapter.
//!
//! ```text
//! cargo run --release -p tiller-engine --features wgpu --example gpu_profile
//! VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json cargo run … (Chromium's SwiftShader)
//! ```
//!
//! Each line is the mean of `REPEATS` launches queued back to back, then read back once, so it
//! includes the dispatch's own cost; the last lines add them up to a token. Native only.
#![cfg_attr(target_arch = "wasm32", allow(unused))]

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use tiller_engine::gguf::TensorType;
use tiller_engine::kernels::PackedMatrix;
use tiller_engine::kernels::gpu::GpuMatrix;
use tiller_engine::kernels::gpu_ops::{self, SeqKv};
use tiller_engine::kernels::ops::Heads;
use tiller_engine::model::read_f32;

const REPEATS: usize = 30;
const N_LAYER: f64 = 30.0;
/// Keys in the cache: a short chat.
const KEYS: usize = 200;

/// Mean milliseconds of one call of `f`, after one untimed call.
fn time(mut f: impl FnMut() -> Tensor<2>) -> f64 {
    let sync = |t: Tensor<2>| pollster::block_on(read_f32(t.narrow(0, 0, 1))).expect("a readback");
    sync(f());
    let t0 = Instant::now();
    let mut last = f();
    for _ in 1..REPEATS {
        last = f();
    }
    sync(last);
    t0.elapsed().as_secs_f64() * 1e3 / REPEATS as f64
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let device = match Device::wgpu_options().init() {
        Ok(d) => d,
        Err(e) => return eprintln!("gpu_profile: no wgpu adapter ({e})"),
    };
    let tensor = |rows: usize, cols: usize| {
        let v: Vec<f32> = (0..rows * cols).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
        Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), &device)
    };
    let packed = |kind: TensorType, rows: usize, cols: usize| {
        let mut bytes = Vec::with_capacity(rows * cols / 32 * 34);
        for b in 0..rows * cols / 32 {
            bytes.extend(half::f16::from_f32(0.01).to_le_bytes());
            let quants = if kind == TensorType::Q8_0 {
                32
            } else {
                bytes.extend(half::f16::from_f32(-0.05).to_le_bytes());
                16
            };
            bytes.extend((0..quants).map(|j| ((b * 31 + j * 7) % 256) as u8));
        }
        let m = PackedMatrix::from_gguf(kind, &bytes, rows, cols).expect("packed blocks");
        GpuMatrix::upload(&m, &device).expect("a GPU device")
    };

    let mut per_layer = 0.0;
    let line = |name: &str, ms: f64, times: f64| {
        println!("{name:34} {ms:8.3} ms{}", if times > 1.0 { format!("  × {times}") } else { String::new() });
        ms * times
    };
    let x = tensor(1, 576);
    let gamma = tensor(1, 576);
    per_layer += line("rms_norm [1, 576]", time(|| gpu_ops::rms_norm(x.clone(), &gamma, 1e-5)), 2.0);
    for (name, rows, cols) in [("q|k|v", 960, 576), ("wo", 576, 576), ("gate|up", 3072, 576), ("down", 576, 1536)] {
        let m = packed(TensorType::Q4_1, rows, cols);
        let x = tensor(1, cols);
        per_layer += line(&format!("{name} {rows}×{cols}"), time(|| m.matmul(x.clone())), 1.0);
    }
    let gate_up = tensor(1, 3072);
    per_layer += line("swiglu [1, 1536]", time(|| gpu_ops::swiglu(gate_up.clone())), 1.0);
    let heads = Heads { n_head: 9, n_kv: 3, head_dim: 64 };
    let (cos, sin) = (tensor(8192, 32), tensor(8192, 32));
    let qkv = tensor(1, 960);
    let mut cache = Some((tensor(256, 192), tensor(256, 192)));
    let attention = time(|| {
        let (k, v) = cache.take().expect("the cache, given back each call");
        let seqs = vec![SeqKv { first_row: 0, len: 1, start: KEYS, k, v }];
        let (out, mut written) = gpu_ops::attention(qkv.clone(), (&cos, &sin), seqs, heads);
        cache = written.pop();
        out
    });
    per_layer += line(&format!("rope_store + attend ({KEYS} keys)"), attention, 1.0);
    let head = packed(TensorType::Q8_0, 49152, 576);
    let head_ms = line("head 49152×576 (Q8_0)", time(|| head.matmul(x.clone())), 1.0);
    println!("{:34} {:8.3} ms", "a block", per_layer);
    println!(
        "{:34} {:8.1} ms  ({:.1} tok/s without sampling)",
        "a token",
        per_layer * N_LAYER + head_ms,
        1e3 / (per_layer * N_LAYER + head_ms)
    );
}
