use burn::tensor::Device;
#[cfg(feature = "wgpu")]
use burn::tensor::Tensor;

use super::{LlamaConfig, attention::Attention, kv_cache::KvCache, mlp::Mlp, rms_norm::RmsNorm, rope::Rope};
use crate::gguf::{Gguf, GgufError};
use crate::kernels::ops;

/// One pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(·)).
#[derive(Clone, Debug)]
pub struct Block {
    attn_norm: RmsNorm,
    attn: Attention,
    ffn_norm: RmsNorm,
    mlp: Mlp,
}

impl Block {
    pub fn load(g: &Gguf<'_>, layer: usize, c: &LlamaConfig, rope: &Rope, device: &Device) -> Result<Self, GgufError> {
        let p = format!("blk.{layer}");
        Ok(Self {
            attn_norm: RmsNorm::load(g, &format!("{p}.attn_norm.weight"), c.n_embd, c.rms_eps, device)?,
            attn: Attention::load(g, &p, c, rope, device)?,
            ffn_norm: RmsNorm::load(g, &format!("{p}.ffn_norm.weight"), c.n_embd, c.rms_eps, device)?,
            mlp: Mlp::load(g, &p, c.n_embd, c.n_ff, device)?,
        })
    }

    /// [rows, n_embd] → [rows, n_embd]: the residual stream after this block, for packed
    /// sequences of `lens` rows each (see [`Attention::forward_add`]), on a GPU.
    #[cfg(feature = "wgpu")]
    pub fn forward(&self, x: Tensor<2>, layer: usize, caches: &mut [KvCache], lens: &[usize]) -> Tensor<2> {
        let x = self.attn.forward_add(self.attn_norm.forward(x.clone()), x, layer, caches, lens);
        self.mlp.forward_add(self.ffn_norm.forward(x.clone()), x)
    }

    /// The host path: as [`Block::forward`], on rows in host memory.
    pub fn forward_rows(&self, mut x: Vec<f32>, layer: usize, caches: &mut [KvCache], lens: &[usize]) -> Vec<f32> {
        let h = self.attn.forward_rows(&self.attn_norm.forward_rows(&x), layer, caches, lens);
        ops::add_assign(&mut x, &h);
        let h = self.mlp.forward_rows(&self.ffn_norm.forward_rows(&x));
        ops::add_assign(&mut x, &h);
        x
    }
}
