//! Which burn device runs the model: WebGPU when the browser gives an adapter, else the CPU.

use burn::tensor::Device;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{BackendChoice, BackendInfo};

pub struct Selected {
    pub device: Device,
    pub info: BackendInfo,
}

pub async fn select(choice: BackendChoice) -> Result<Selected, String> {
    match choice {
        BackendChoice::WebGpu => webgpu().await.map_err(|why| format!("WebGPU is not available: {why}")),
        BackendChoice::Auto => match webgpu().await {
            Ok(selected) => Ok(selected),
            Err(why) => {
                let mut selected = cpu();
                selected.info.fallback_reason = Some(format!("WebGPU unavailable: {why}"));
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

async fn webgpu() -> Result<Selected, String> {
    // Asking the browser first gives a clearer reason than wgpu's error, and the adapter's name.
    let adapter = describe_adapter().await?;
    let device = Device::wgpu_options().init_async().await.map_err(|e| e.to_string())?;
    Ok(Selected { device, info: BackendInfo { name: "WebGPU".into(), adapter: Some(adapter), fallback_reason: None } })
}

/// `navigator.gpu.requestAdapter()` and its `info`, through Reflect: web-sys's WebGPU bindings
/// need an unstable cfg for the whole build.
async fn describe_adapter() -> Result<String, String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| "no navigator".to_string())?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() {
        return Err("this browser does not expose WebGPU (navigator.gpu is missing)".into());
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: Promise = request.call0(&gpu).map_err(|_| "requestAdapter failed")?.unchecked_into();
    let adapter = JsFuture::from(promise).await.map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser has no WebGPU adapter".into());
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).filter(|s| !s.is_empty());
    let parts: Vec<String> = ["description", "vendor", "architecture"].iter().filter_map(|k| field(k)).collect();
    Ok(if parts.is_empty() { "unnamed adapter".into() } else { parts.join(" · ") })
}
