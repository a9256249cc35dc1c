//! Which burn device runs the model: WebGPU when the browser gives an adapter, else the CPU.
//! Only the `webgpu` build has burn-wgpu; the CPU-only worker says why it has no WebGPU.

use burn::tensor::Device;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{BackendChoice, BackendInfo, Failure, NoWebGpu};

pub struct Selected {
    pub device: Device,
    pub info: BackendInfo,
}

pub async fn select(choice: BackendChoice) -> Result<Selected, Failure> {
    match choice {
        BackendChoice::WebGpu => webgpu().await.map_err(Failure::NoWebGpu),
        BackendChoice::Auto => match webgpu().await {
            Ok(selected) => Ok(selected),
            Err(why) => {
                let mut selected = cpu();
                selected.info.fallback_reason = Some(why);
                Ok(selected)
            }
        },
        BackendChoice::Cpu => Ok(cpu()),
    }
}

fn cpu() -> Selected {
    Selected {
        device: Device::flex(),
        info: BackendInfo { name: "CPU (burn-flex)".into(), adapter: None, fallback_reason: None },
    }
}

#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<Selected, NoWebGpu> {
    // Asking the browser first gives a clearer reason than wgpu's error, and the adapter's name.
    let adapter = describe_adapter().await?;
    let device = Device::wgpu_options().init_async().await.map_err(|e| NoWebGpu::Failed { detail: e.to_string() })?;
    Ok(Selected { device, info: BackendInfo { name: "WebGPU".into(), adapter: Some(adapter), fallback_reason: None } })
}

/// The page loads this worker only where `navigator.gpu` is missing, so the browser's own reason
/// comes first; were there an adapter after all, the reason is this build.
#[cfg(not(feature = "webgpu"))]
async fn webgpu() -> Result<Selected, NoWebGpu> {
    describe_adapter().await?;
    Err(NoWebGpu::CpuOnlyEngine)
}

/// `navigator.gpu.requestAdapter()` and its `info`, through Reflect: web-sys's WebGPU bindings
/// need an unstable cfg for the whole build.
async fn describe_adapter() -> Result<String, NoWebGpu> {
    let failed = |detail: String| NoWebGpu::Failed { detail };
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| NoWebGpu::NotExposed)?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() {
        return Err(NoWebGpu::NotExposed);
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or(NoWebGpu::NotExposed)?;
    let promise: Promise = request.call0(&gpu).map_err(|e| failed(super::fetch::js_error(&e)))?.unchecked_into();
    let adapter = JsFuture::from(promise).await.map_err(|e| failed(super::fetch::js_error(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(NoWebGpu::NoAdapter);
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).filter(|s| !s.is_empty());
    let parts: Vec<String> = ["description", "vendor", "architecture"].iter().filter_map(|k| field(k)).collect();
    Ok(if parts.is_empty() { "unnamed adapter".into() } else { parts.join(" · ") })
}
