//! Engine pieces in a real browser (wasm-bindgen-test in headless Chromium): GGUF from bytes,
//! the tokenizer, the tiny model's forward on WebGPU against the CPU, and steering.
//!
//! `cargo xtask test` runs this with wasm-bindgen-test-runner and Chromium's WebGPU
//! (`--enable-unsafe-webgpu`); without an adapter the WebGPU test logs why it did not run.
#![cfg(target_arch = "wasm32")]

mod common;

use burn::tensor::Device;
use common::tiny;
use tiller_engine::gguf::{Gguf, GgufError};
use tiller_engine::steer::ControlVector;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn cpu() -> Device {
    Device::flex()
}

/// The browser's WebGPU device, set up once per page: burn registers one wgpu runtime, and a
/// second set-up from a later test fails as if there were no adapter.
#[cfg(feature = "wgpu")]
async fn webgpu() -> Result<Device, String> {
    thread_local! {
        static GPU: std::cell::RefCell<Option<Result<Device, String>>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(done) = GPU.with(|g| g.borrow().clone()) {
        return done;
    }
    let got = Device::wgpu_options().init_async().await.map_err(|e| e.to_string());
    GPU.with(|g| *g.borrow_mut() = Some(got.clone()));
    got
}

#[wasm_bindgen_test]
fn gguf_from_bytes_and_its_errors() {
    let bytes = include_bytes!("fixtures/llama_cpp/cvec_dragon.gguf");
    let cv = ControlVector::from_gguf(&Gguf::parse(bytes).unwrap()).unwrap();
    assert_eq!(cv.n_embd, 576);
    assert_eq!(cv.directions.keys().copied().collect::<Vec<_>>(), (1..=29).collect::<Vec<_>>());
    assert!(matches!(Gguf::parse(&bytes[..100]), Err(GgufError::Truncated { .. })));
    assert!(matches!(Gguf::parse(b"GGML...."), Err(GgufError::BadMagic(_))));
}

#[wasm_bindgen_test]
fn tokenizer_in_the_browser() {
    let m = tiny::load(&cpu());
    let ids = m.tokenizer.encode("<|im_start|>hello 世界", true);
    assert_eq!(ids[0], 1);
    assert_eq!(m.tokenizer.decode(&ids), "<|im_start|>hello 世界");
}

#[wasm_bindgen_test]
async fn steering_adds_its_vector() {
    let err = tiny::steering_error(&cpu()).await;
    assert!(err < 1e-5, "max error {err}");
}

#[wasm_bindgen_test]
async fn kv_cache_matches_prefill_on_the_cpu() {
    let worst = tiny::backends_differ_by(&cpu(), &cpu()).await;
    assert!(worst < 1e-4, "max |Δ| {worst}");
}

#[wasm_bindgen_test]
async fn webgpu_agrees_with_the_cpu() {
    #[cfg(feature = "wgpu")]
    match webgpu().await {
        Ok(gpu) => {
            let worst = tiny::backends_differ_by(&cpu(), &gpu).await;
            console_log!("WebGPU vs CPU on the tiny model: max |Δ| {worst}");
            assert!(worst < 1e-3, "max |Δ| {worst}");
        }
        Err(e) => console_log!("WebGPU test did not run: no adapter in this browser ({e})"),
    }
    // `wasm-pack test --headless --chrome engine` builds the crate's default features (CPU only);
    // `--features wgpu` (or `cargo xtask test`) includes WebGPU.
    #[cfg(not(feature = "wgpu"))]
    console_log!("WebGPU test did not run: built without the `wgpu` feature (add --features wgpu)");
}

/// The GPU kernels in WGSL on the browser's WebGPU (SwiftShader here): the packed products
/// and the small ops between them.
#[wasm_bindgen_test]
async fn webgpu_kernels_match_the_host_kernels() {
    #[cfg(feature = "wgpu")]
    match webgpu().await {
        Ok(gpu) => {
            let worst = common::gpu_kernels::worst_relative_error(&gpu).await;
            console_log!("packed WebGPU kernels vs the f32 product: worst error {worst:.2e} of the largest output");
            let worst = common::gpu_kernels::small_ops_worst_error(&gpu).await;
            console_log!("WebGPU RMSNorm, SwiGLU and attention vs the host's: worst |Δ| {worst:.2e}");
        }
        Err(e) => console_log!("packed WebGPU kernel test did not run: no adapter in this browser ({e})"),
    }
    #[cfg(not(feature = "wgpu"))]
    console_log!("packed WebGPU kernel test did not run: built without the `wgpu` feature (add --features wgpu)");
}
