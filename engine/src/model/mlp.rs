use burn::tensor::{Device, Tensor, activation::silu};

use super::linear::Linear;
use crate::gguf::{Gguf, GgufError};

/// SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)).
#[derive(Clone, Debug)]
pub struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    pub fn load(g: &Gguf<'_>, prefix: &str, n_embd: usize, n_ff: usize, device: &Device) -> Result<Self, GgufError> {
        Ok(Self {
            gate: Linear::load(g, &format!("{prefix}.ffn_gate.weight"), n_embd, n_ff, device)?,
            up: Linear::load(g, &format!("{prefix}.ffn_up.weight"), n_embd, n_ff, device)?,
            down: Linear::load(g, &format!("{prefix}.ffn_down.weight"), n_ff, n_embd, device)?,
        })
    }

    /// [seq, n_embd] → [seq, n_embd]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let gated = silu(self.gate.forward(x.clone())).mul(self.up.forward(x));
        self.down.forward(gated)
    }
}
