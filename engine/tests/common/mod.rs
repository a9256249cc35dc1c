//! Shared by the integration tests: the model file and the reference fixtures.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

pub mod fuzz;
#[cfg(feature = "wgpu")]
pub mod gpu_kernels;
pub mod tiny;

pub fn model_path() -> PathBuf {
    let path = match std::env::var_os("TILLER_MODEL") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    assert!(path.exists(), "{} is missing: run `cargo xtask fetch-model` first", path.display());
    path
}

pub fn model_bytes() -> Vec<u8> {
    std::fs::read(model_path()).expect("read the model")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).expect("fixture")).expect("valid JSON")
}

/// A 1-D little-endian float32 .npy, as numpy and llama-cpp-python's scripts wrote them.
pub fn npy_f32(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name} is not .npy");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'<f4'"), "{name}: {header}");
    bytes[10 + hlen..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// (max |Δ|, mean |Δ|)
pub fn diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let mut max = 0f32;
    let mut sum = 0f64;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        max = max.max(d);
        sum += d as f64;
    }
    (max, (sum / a.len() as f64) as f32)
}
