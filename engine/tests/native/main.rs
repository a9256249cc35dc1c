//! The engine's native integration tests, one binary (each linked test binary costs a release
//! link of burn). The browser's are in `tests/web.rs`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod chat;
mod compare;
mod concept;
mod gate;
mod gguf_robustness;
mod gpu;
mod parity;
mod sequence;
mod session;
mod tiny;
mod tokenizer;

/// The wgpu device (Vulkan natively; lavapipe on a machine without a GPU), initialised once
/// per process: burn registers one wgpu runtime, and a second `init` from a test running
/// alongside fails ("Service already initialized") as if there were no adapter.
#[cfg(feature = "wgpu")]
fn wgpu() -> Result<burn::tensor::Device, String> {
    static DEVICE: std::sync::OnceLock<Result<burn::tensor::Device, String>> = std::sync::OnceLock::new();
    DEVICE.get_or_init(|| burn::tensor::Device::wgpu_options().init().map_err(|e| e.to_string())).clone()
}
