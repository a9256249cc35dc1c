use burn::tensor::{Device, Tensor, activation::silu};

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

    /// [seq, n_embd] → [seq, n_embd]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [gate, up]: [Tensor<2>; 2] = self.gate_up.forward_split(x).try_into().expect("gate and up");
        let gated = silu(gate).mul(up);
        self.down.forward(gated)
    }

    /// The host path: rows [seq, n_embd] → [seq, n_embd].
    pub fn forward_rows(&self, x: &[f32]) -> Vec<f32> {
        self.down.forward_rows(&ops::swiglu(&self.gate_up.forward_rows(x), self.n_ff))
    }
}
