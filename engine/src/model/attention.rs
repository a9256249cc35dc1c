#[cfg(feature = "wgpu")]
use burn::tensor::Tensor;

use super::{LlamaConfig, kv_cache::KvCache, linear::Linear, rope::Rope};
use crate::gguf::{Gguf, GgufError};
use crate::kernels::ops::{Heads, SeqAttention};

/// Causal grouped-query self-attention: `n_head` query heads share `n_head_kv` key/value heads,
/// query head h reading kv head h / group_size.
#[derive(Clone, Debug)]
pub struct Attention {
    /// q, k and v fused: one pass over the input, three outputs.
    wqkv: Linear,
    wo: Linear,
    rope: Rope,
    n_head: usize,
    n_head_kv: usize,
    head_dim: usize,
}

impl Attention {
    pub fn load(
        g: &Gguf<'_>,
        prefix: &str,
        c: &LlamaConfig,
        rope: &Rope,
        device: &burn::tensor::Device,
    ) -> Result<Self, GgufError> {
        let kv_dim = c.n_head_kv * c.head_dim();
        let name = |part: &str| format!("{prefix}.{part}.weight");
        let (q, k, v) = (name("attn_q"), name("attn_k"), name("attn_v"));
        Ok(Self {
            wqkv: Linear::load_fused(g, &[(&q, c.n_embd), (&k, kv_dim), (&v, kv_dim)], c.n_embd, device)?,
            wo: Linear::load(g, &name("attn_output"), c.n_embd, c.n_embd, device)?,
            rope: rope.clone(),
            n_head: c.n_head,
            n_head_kv: c.n_head_kv,
            head_dim: c.head_dim(),
        })
    }

    /// x: packed rows [Σ lens, n_embd] of `lens.len()` independent sequences, sequence b at
    /// positions `caches[b].len()..`, appending to `caches[b]` for `layer`. The projections
    /// run once over all rows (that is where the weights are read); only the attention itself
    /// runs per sequence, so a sequence never sees another's keys. Returns `residual` plus the
    /// attention's output.
    #[cfg(feature = "wgpu")]
    pub fn forward_add(
        &self,
        x: Tensor<2>,
        residual: Tensor<2>,
        layer: usize,
        caches: &mut [KvCache],
        lens: &[usize],
    ) -> Tensor<2> {
        use crate::kernels::gpu_ops::{self, SeqKv};
        let device = x.device();
        let heads = self.heads();
        let qkv = self.wqkv.forward(x); // [Σ lens, q | k | v]
        let mut first_row = 0;
        let seqs = caches
            .iter_mut()
            .zip(lens)
            .map(|(cache, &len)| {
                let start = cache.len();
                let (k, v) = cache.take(layer, start + len, heads.kv_dim(), &device);
                first_row += len;
                SeqKv { first_row: first_row - len, len, start, k, v }
            })
            .collect();
        let (out, written) = gpu_ops::attention(qkv, self.rope.device_tables(), seqs, heads);
        for (cache, kv) in caches.iter_mut().zip(written) {
            cache.put(layer, kv);
        }
        self.wo.forward_add(out, residual)
    }

    fn heads(&self) -> Heads {
        Heads { n_head: self.n_head, n_kv: self.n_head_kv, head_dim: self.head_dim }
    }

    /// The host path: as `Attention::forward_add` without the residual, on rows
    /// [Σ lens, n_embd] in host memory.
    pub fn forward_rows(&self, x: &[f32], layer: usize, caches: &mut [KvCache], lens: &[usize]) -> Vec<f32> {
        let heads = self.heads();
        let (q_dim, kv_dim) = (heads.q_dim(), heads.kv_dim());
        let stride = q_dim + 2 * kv_dim;
        let mut qkv = self.wqkv.forward_rows(x); // [Σ lens, q | k | v]
        let rope = self.rope.host();
        let mut kvs = Vec::with_capacity(lens.len());
        let mut first = 0;
        for (cache, &len) in caches.iter_mut().zip(lens) {
            let start = cache.len();
            let seq = &mut qkv[first * stride..(first + len) * stride];
            for (i, row) in seq.chunks_exact_mut(stride).enumerate() {
                // q's heads then k's: every head of both turns the same way at one position.
                rope.rotate(&mut row[..q_dim + kv_dim], self.head_dim, start + i);
            }
            kvs.push((first, len, start, cache.append_rows(layer, seq, stride, (q_dim, q_dim + kv_dim, kv_dim))));
            first += len;
        }
        let seqs: Vec<SeqAttention<'_>> = kvs
            .into_iter()
            .map(|(first, seq, start, (k, v))| SeqAttention { q: &qkv[first * stride..], seq, start, k, v })
            .collect();
        self.wo.forward_rows(&heads.attend_many(stride, &seqs))
    }
}
