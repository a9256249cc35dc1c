use burn::tensor::Device;
use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn-flex on the CPU, matrix products in the engine's packed kernels
    Flex,
    /// burn-wgpu: Vulkan, Metal or DX12 through wgpu (Mesa's lavapipe counts)
    Wgpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
        }
    }
}

pub fn device(backend: Backend) -> Result<Device, String> {
    match backend {
        Backend::Flex => flex_device(),
        Backend::Wgpu => wgpu_device(),
    }
}

#[cfg(feature = "flex")]
fn flex_device() -> Result<Device, String> {
    Ok(Device::flex())
}

#[cfg(not(feature = "flex"))]
fn flex_device() -> Result<Device, String> {
    Err("this tiller was built without the `flex` feature".into())
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, String> {
    Device::wgpu_options().init().map_err(|e| format!("no usable wgpu adapter: {e}"))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device, String> {
    Err("this tiller was built without the `wgpu` feature".into())
}
