use burn::tensor::{Tensor, TensorData, activation::softmax};

use super::{LlamaConfig, kv_cache::KvCache, linear::Linear, rope::Rope};
use crate::gguf::{Gguf, GgufError};
use crate::kernels::ops::Heads;

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
    /// runs per sequence, so a sequence never sees another's keys.
    pub fn forward(&self, x: Tensor<2>, layer: usize, caches: &mut [KvCache], lens: &[usize]) -> Tensor<2> {
        let [q, k, v]: [Tensor<2>; 3] = self.wqkv.forward_split(x).try_into().expect("q, k and v");
        let out = match caches {
            [cache] => self.attend(q, k, v, layer, cache),
            _ => {
                let mut outs = Vec::with_capacity(lens.len());
                let mut offset = 0;
                for (cache, &len) in caches.iter_mut().zip(lens) {
                    let rows = |t: &Tensor<2>| t.clone().narrow(0, offset, len);
                    outs.push(self.attend(rows(&q), rows(&k), rows(&v), layer, cache));
                    offset += len;
                }
                Tensor::cat(outs, 0)
            }
        };
        self.wo.forward(out)
    }

    /// The host path: as [`Attention::forward`], on rows [Σ lens, n_embd] in host memory.
    pub fn forward_rows(&self, x: &[f32], layer: usize, caches: &mut [KvCache], lens: &[usize]) -> Vec<f32> {
        let heads = Heads { n_head: self.n_head, n_kv: self.n_head_kv, head_dim: self.head_dim };
        let (q_dim, kv_dim) = (heads.q_dim(), heads.kv_dim());
        let stride = q_dim + 2 * kv_dim;
        let mut qkv = self.wqkv.forward_rows(x); // [Σ lens, q | k | v]
        let rope = self.rope.host();
        let mut out = Vec::with_capacity(lens.iter().sum::<usize>() * q_dim);
        let mut first = 0;
        for (cache, &len) in caches.iter_mut().zip(lens) {
            let start = cache.len();
            let seq = &mut qkv[first * stride..(first + len) * stride];
            for (i, row) in seq.chunks_exact_mut(stride).enumerate() {
                // q's heads then k's: every head of both turns the same way at one position.
                rope.rotate(&mut row[..q_dim + kv_dim], self.head_dim, start + i);
            }
            let (k, v) = cache.append_rows(layer, seq, stride, (q_dim, q_dim + kv_dim, kv_dim));
            out.extend(heads.attend(seq, stride, len, start, k, v));
            first += len;
        }
        self.wo.forward_rows(&out)
    }

    /// One sequence's projected q [seq, n_head·hd], k, v [seq, n_kv·hd] → [seq, n_embd].
    fn attend(&self, q: Tensor<2>, k: Tensor<2>, v: Tensor<2>, layer: usize, cache: &mut KvCache) -> Tensor<2> {
        let [seq, n_embd] = q.dims();
        let start = cache.len();
        let (hd, n_kv) = (self.head_dim, self.n_head_kv);
        let group = self.n_head / n_kv;

        // [seq, heads·hd] → [heads, seq, hd]
        let heads = |t: Tensor<2>, n: usize| t.reshape([seq, n, hd]).swap_dims(0, 1);
        let q = self.rope.forward(heads(q, self.n_head), start);
        let k = self.rope.forward(heads(k, n_kv), start);
        let v = heads(v, n_kv);
        let (k, v) = cache.append(layer, k, v);

        // Fold each group's query heads into the row dimension so one batched matmul per kv head
        // serves the whole group: [n_head, seq, hd] → [n_kv, group·seq, hd], row = j·seq + i.
        let q = q.reshape([n_kv, group * seq, hd]);
        let mut scores = q.matmul(k.swap_dims(1, 2)).mul_scalar(1.0 / (hd as f32).sqrt());
        if seq > 1 {
            scores = scores.add(causal_mask(group, seq, start, &v.device()));
        }
        let out = softmax(scores, 2).matmul(v); // [n_kv, group·seq, hd]
        out.reshape([self.n_head, seq, hd]).swap_dims(0, 1).reshape([seq, n_embd])
    }
}

/// Additive mask [1, group·seq, start+seq]: query row j·seq + i (position start+i) sees keys
/// 0..=start+i. A large finite negative rather than −∞ keeps every backend's softmax NaN-free.
fn causal_mask(group: usize, seq: usize, start: usize, device: &burn::tensor::Device) -> Tensor<3> {
    let total = start + seq;
    let mut m = vec![0f32; group * seq * total];
    for row in 0..group * seq {
        let i = row % seq;
        m[row * total + start + i + 1..(row + 1) * total].fill(-1e30);
    }
    Tensor::from_data(TensorData::new(m, [1, group * seq, total]), device)
}
