//! The llama architecture, read from GGUF metadata, on any burn device.
//!
//! ```text
//! tokens ─► embedding ─► [block 0 ─► hook] … [block L−1 ─► hook] ─► RMSNorm ─► head ─► logits
//! block:  x += attn(rms_norm(x));  x += mlp(rms_norm(x))
//! ```
//!
//! Two paths run this same model. On a GPU every step is a burn tensor op. On a CPU (the host
//! path) the residual stream is rows of f32 in host memory between the hooks: the matrix
//! products run in the packed kernels and the small ops between them in [`crate::kernels::ops`],
//! since burn's cost per op outweighed the ops themselves at one token. Hooks see tensors on
//! both paths.

mod attention;
mod block;
mod config;
mod hook;
mod kv_cache;
mod linear;
mod mlp;
mod rms_norm;
mod rope;

pub use config::LlamaConfig;
pub use hook::{Capture, NoHook, ResidualHook};
pub use kv_cache::KvCache;

use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use thiserror::Error;

use crate::gguf::{Gguf, GgufError};
use crate::kernels::{Isa, PackedMatrix};
use block::Block;
use linear::{Linear, load_packed, runs_on_host};
use rms_norm::RmsNorm;
use rope::Rope;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("token id {id} is outside the model's vocabulary of {n_vocab}")]
    TokenOutOfRange { id: u32, n_vocab: usize },
    #[error("nothing to run: the input has no tokens")]
    EmptyInput,
    #[error("the conversation needs {needed} positions but the context holds {limit}; shorten it or start a new chat")]
    ContextFull { needed: usize, limit: usize },
    #[error("reading a result back from the device failed: {0}")]
    Readback(String),
    #[error(
        "the model's output is not a finite number (NaN or infinity), most likely from steering too strong; lower the scale or remove the vector"
    )]
    NonFiniteLogits,
}

/// Which positions to compute logits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logits {
    /// Only the last position: all a decode step needs, and it skips most of the head's work.
    Last,
    All,
}

pub struct Llama {
    pub config: LlamaConfig,
    /// [n_vocab, n_embd], packed as stored, on the host: a lookup widens one row per token.
    /// On a CPU device the tied head multiplies with this same matrix.
    token_embd: Arc<PackedMatrix>,
    blocks: Vec<Block>,
    norm: RmsNorm,
    /// [n_embd, n_vocab]; the embedding itself when the file has no `output.weight` (tied).
    head: Linear,
    device: Device,
    /// Whether this model runs the host path (decided once at load, from the device).
    on_host: bool,
}

impl Llama {
    pub fn load(g: &Gguf<'_>, device: &Device) -> Result<Self, ModelError> {
        Self::load_with_progress(g, device, &mut |_, _| {})
    }

    /// As [`Llama::load`], calling `progress(0, n_layer)` as the weights start and
    /// `progress(blocks_done, n_layer)` after each block: loading is synchronous, and a browser
    /// worker posts these to the page while it runs.
    pub fn load_with_progress(
        g: &Gguf<'_>,
        device: &Device,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Self, ModelError> {
        let config = LlamaConfig::from_gguf(g)?;
        let c = &config;
        progress(0, c.n_layer);
        let on_host = runs_on_host(device);
        let token_embd = load_packed(g, "token_embd.weight", c.n_embd, c.n_vocab)?;
        // On a GPU the blocks go to the device and the file can go; the embedding, looked up on
        // the host, then keeps a copy of its own rather than the whole file.
        // On the host it is also the tied head, in the layout the products read best.
        let token_embd = Arc::new(if on_host { token_embd.for_isa(Isa::detect()) } else { token_embd.detached() });
        // One table of rotations, shared by every block (tensor clones share their buffer; the
        // host tables sit behind an Arc).
        let rope = Rope::new(c.n_rot, c.rope_base, c.n_ctx_train, device, on_host);
        let blocks = (0..c.n_layer)
            .map(|l| {
                let block = Block::load(g, l, c, &rope, device);
                progress(l + 1, c.n_layer);
                block
            })
            .collect::<Result<Vec<_>, _>>()?;
        let norm = RmsNorm::load(g, "output_norm.weight", c.n_embd, c.rms_eps, device)?;
        let head = match g.tensor_info("output.weight") {
            Some(_) => Linear::load(g, "output.weight", c.n_embd, c.n_vocab, device)?,
            None if on_host => Linear::from_packed(token_embd.clone()),
            None => Linear::load(g, "token_embd.weight", c.n_embd, c.n_vocab, device)?,
        };
        Ok(Self { config, token_embd, blocks, norm, head, device: device.clone(), on_host })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Run `tokens` at positions `cache.len()..`, appending to `cache`. Every block's output
    /// passes through `hook`. Returns logits [1 or seq, n_vocab].
    pub fn forward(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        hook: &mut dyn ResidualHook,
        logits: Logits,
    ) -> Result<Tensor<2>, ModelError> {
        self.forward_batch(&[tokens], std::slice::from_mut(cache), hook, logits)
    }

    /// Run independent sequences together: `seqs[b]` at positions `caches[b].len()..`. Their rows
    /// are packed one after another ([Σ len, n_embd]), so each weight is read once for the whole
    /// batch — on a CPU that is what a decode step costs — and `hook` sees the packed rows.
    /// Returns logits [B, n_vocab] (each sequence's last position) or [Σ len, n_vocab].
    pub fn forward_batch(
        &self,
        seqs: &[&[u32]],
        caches: &mut [KvCache],
        hook: &mut dyn ResidualHook,
        logits: Logits,
    ) -> Result<Tensor<2>, ModelError> {
        assert_eq!(seqs.len(), caches.len(), "one cache per sequence");
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        if seqs.is_empty() || lens.contains(&0) {
            return Err(ModelError::EmptyInput);
        }
        for (cache, len) in caches.iter().zip(&lens) {
            let needed = cache.len() + len;
            if needed > self.config.n_ctx_train {
                return Err(ModelError::ContextFull { needed, limit: self.config.n_ctx_train });
            }
        }
        if self.on_host {
            let tokens = seqs.concat();
            return crate::kernels::parallel::on_pool(|| self.forward_rows(&tokens, caches, hook, &lens, logits));
        }
        #[cfg(feature = "wgpu")]
        return self.forward_device(&seqs.concat(), caches, hook, &lens, logits);
        #[cfg(not(feature = "wgpu"))]
        unreachable!("built without `wgpu` every device is a CPU, which runs the host path")
    }

    /// The GPU path of [`Llama::forward_batch`], `tokens` being every sequence's, packed.
    #[cfg(feature = "wgpu")]
    fn forward_device(
        &self,
        tokens: &[u32],
        caches: &mut [KvCache],
        hook: &mut dyn ResidualHook,
        lens: &[usize],
        logits: Logits,
    ) -> Result<Tensor<2>, ModelError> {
        let mut x = self.blocks_device(tokens, caches, hook, lens, self.blocks.len())?;
        caches.iter_mut().zip(lens).for_each(|(cache, &len)| cache.advance(len));
        // Each sequence's last row; with one token each, they are every row already.
        if logits == Logits::Last && tokens.len() > lens.len() {
            let mut end = 0;
            let lasts = lens
                .iter()
                .map(|len| {
                    end += len;
                    x.clone().narrow(0, end - 1, 1)
                })
                .collect();
            x = Tensor::cat(lasts, 0);
        }
        Ok(self.head.forward(self.norm.forward(x)))
    }

    /// The host path of [`Llama::forward_batch`], `tokens` being every sequence's, packed.
    fn forward_rows(
        &self,
        tokens: &[u32],
        caches: &mut [KvCache],
        hook: &mut dyn ResidualHook,
        lens: &[usize],
        logits: Logits,
    ) -> Result<Tensor<2>, ModelError> {
        let n_embd = self.config.n_embd;
        let mut x = self.blocks_rows(tokens, caches, hook, lens, self.blocks.len())?;
        caches.iter_mut().zip(lens).for_each(|(cache, &len)| cache.advance(len));
        if logits == Logits::Last {
            let ends = lens.iter().scan(0, |end, len| {
                *end += len;
                Some(*end)
            });
            x = ends.flat_map(|end| x[(end - 1) * n_embd..end * n_embd].to_vec()).collect();
        }
        let out = self.head.forward_rows(&self.norm.forward_rows(&x));
        let rows = out.len() / self.config.n_vocab;
        Ok(Tensor::from_data(TensorData::new(out, [rows, self.config.n_vocab]), &self.device))
    }

    /// Run `tokens` through blocks `0..depth` only, in a cache of their own, for what `hook`
    /// reads there: a probe on block `depth − 1` needs neither the blocks after it nor the head.
    pub fn read_blocks(&self, tokens: &[u32], depth: usize, hook: &mut dyn ResidualHook) -> Result<(), ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        if tokens.len() > self.config.n_ctx_train {
            return Err(ModelError::ContextFull { needed: tokens.len(), limit: self.config.n_ctx_train });
        }
        let depth = depth.min(self.blocks.len());
        let (mut cache, lens) = (self.new_cache(), [tokens.len()]);
        let caches = std::slice::from_mut(&mut cache);
        if self.on_host {
            return crate::kernels::parallel::on_pool(|| {
                self.blocks_rows(tokens, caches, hook, &lens, depth).map(drop)
            });
        }
        #[cfg(feature = "wgpu")]
        return self.blocks_device(tokens, caches, hook, &lens, depth).map(drop);
        #[cfg(not(feature = "wgpu"))]
        unreachable!("built without `wgpu` every device is a CPU, which runs the host path")
    }

    /// The residual stream [Σ len, n_embd] after blocks `0..depth`, on the device.
    #[cfg(feature = "wgpu")]
    fn blocks_device(
        &self,
        tokens: &[u32],
        caches: &mut [KvCache],
        hook: &mut dyn ResidualHook,
        lens: &[usize],
        depth: usize,
    ) -> Result<Tensor<2>, ModelError> {
        let rows = self.embed_rows(tokens)?;
        let mut x = Tensor::from_data(TensorData::new(rows, [tokens.len(), self.config.n_embd]), &self.device);
        for (layer, block) in self.blocks.iter().enumerate().take(depth) {
            x = block.forward(x, layer, caches, lens);
            x = hook.after_block(layer, x);
        }
        Ok(x)
    }

    /// The residual stream [Σ len, n_embd] after blocks `0..depth`, in host memory.
    fn blocks_rows(
        &self,
        tokens: &[u32],
        caches: &mut [KvCache],
        hook: &mut dyn ResidualHook,
        lens: &[usize],
        depth: usize,
    ) -> Result<Vec<f32>, ModelError> {
        let mut x = self.embed_rows(tokens)?;
        for (layer, block) in self.blocks.iter().enumerate().take(depth) {
            x = block.forward_rows(x, layer, caches, lens);
            x = hook.after_block_rows(layer, x, self.config.n_embd, &self.device);
        }
        Ok(x)
    }

    /// [seq, n_embd] rows of the embedding table, in host memory.
    fn embed_rows(&self, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
        let n_embd = self.config.n_embd;
        let mut rows = Vec::with_capacity(tokens.len() * n_embd);
        for &id in tokens {
            let i = id as usize;
            if i >= self.config.n_vocab {
                return Err(ModelError::TokenOutOfRange { id, n_vocab: self.config.n_vocab });
            }
            rows.extend(self.token_embd.row_f32(i));
        }
        Ok(rows)
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.n_layer)
    }
}

/// Read logits back (as [`read_f32`]), refusing any that are not finite: sampling from them
/// would give an empty or arbitrary reply with no word of why.
pub async fn read_logits(t: Tensor<2>) -> Result<Vec<f32>, ModelError> {
    let logits = read_f32(t).await?;
    match logits.iter().all(|x| x.is_finite()) {
        true => Ok(logits),
        false => Err(ModelError::NonFiniteLogits),
    }
}

/// Read a tensor back to the host as f32, asynchronously (the only way in a browser).
pub async fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    t.into_data_async()
        .await
        .map_err(|e| ModelError::Readback(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Readback(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_that_are_not_finite_are_refused() {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, 3]), &device);
        assert_eq!(pollster::block_on(read_logits(t(vec![0.5, -1.0, 2.0]))), Ok(vec![0.5, -1.0, 2.0]));
        for bad in [f32::NAN, f32::INFINITY] {
            assert_eq!(pollster::block_on(read_logits(t(vec![0.5, bad, 2.0]))), Err(ModelError::NonFiniteLogits));
        }
    }
}
