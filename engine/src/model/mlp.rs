use burn::tensor::Device;
#[cfg(feature = "wgpu")]
use burn::tensor::Tensor;

use super::linear::Linear;
use crate::gguf::{Gguf, GgufError};
use crate::kernels::ops;

/// SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)).
#[derive(Clone, Debug)]
pub struct Mlp {
    /// gate and up fused: one pass over the input.
    gate_up: Linear,
    down: Linear,
    n_ff: usize,
}

impl Mlp {
    pub fn load(g: &Gguf<'_>, prefix: &str, n_embd: usize, n_ff: usize, device: &Device) -> Result<Self, GgufError> {
        Ok(Self {
            gate_up: Linear::load_fused(
                g,
                &[(&format!("{prefix}.ffn_gate.weight"), n_ff), (&format!("{prefix}.ffn_up.weight"), n_ff)],
                n_embd,
                device,
            )?,
            down: Linear::load(g, &format!("{prefix}.ffn_down.weight"), n_ff, n_embd, device)?,
            n_ff,
        })
    }

    /// residual + mlp(x), [seq, n_embd], on a GPU.
    #[cfg(feature = "wgpu")]
    pub fn forward_add(&self, x: Tensor<2>, residual: Tensor<2>) -> Tensor<2> {
        self.down.forward_add(crate::kernels::gpu_ops::swiglu(self.gate_up.forward(x)), residual)
    }

    /// The host path: rows [seq, n_embd] → [seq, n_embd].
    pub fn forward_rows(&self, x: &[f32]) -> Vec<f32> {
        self.down.forward_rows(&ops::swiglu(&self.gate_up.forward_rows(x), self.n_ff))
    }
}
