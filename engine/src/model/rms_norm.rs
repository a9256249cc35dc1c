use burn::tensor::{Device, Tensor, TensorData};

use super::linear::load_vector;
use crate::gguf::{Gguf, GgufError};
use crate::kernels::ops;

/// RMSNorm: x / sqrt(mean(x²) + eps) · γ, over the embedding dimension.
#[derive(Clone, Debug)]
pub struct RmsNorm {
    /// [1, n_embd], for the GPU path (a CPU-only build never reads it).
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    gamma: Tensor<2>,
    /// The same, for the host path.
    gamma_host: Vec<f32>,
    eps: f32,
}

impl RmsNorm {
    pub fn load(g: &Gguf<'_>, name: &str, n_embd: usize, eps: f32, device: &Device) -> Result<Self, GgufError> {
        let gamma = load_vector(g, name, n_embd)?;
        Ok(Self {
            gamma: Tensor::from_data(TensorData::new(gamma.clone(), [1, n_embd]), device),
            gamma_host: gamma,
            eps,
        })
    }

    /// [seq, n_embd] → [seq, n_embd], on a GPU.
    #[cfg(feature = "wgpu")]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        crate::kernels::gpu_ops::rms_norm(x, &self.gamma, self.eps)
    }

    /// The host path: rows [seq, n_embd] → [seq, n_embd].
    pub fn forward_rows(&self, x: &[f32]) -> Vec<f32> {
        ops::rms_norm(x, &self.gamma_host, self.eps)
    }
}
