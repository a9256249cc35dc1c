use burn::tensor::{Tensor, TensorData, activation::softmax};

use super::{LlamaConfig, kv_cache::KvCache, linear::Linear, rope::Rope};
use crate::gguf::{Gguf, GgufError};

/// Causal grouped-query self-attention: `n_head` query heads share `n_head_kv` key/value heads,
/// query head h reading kv head h / group_size.
#[derive(Clone, Debug)]
pub struct Attention {
    wq: Linear,
    wk: Linear,
    wv: Linear,
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
        let w = |name: &str, n_out| Linear::load(g, &format!("{prefix}.{name}.weight"), c.n_embd, n_out, device);
        Ok(Self {
            wq: w("attn_q", c.n_embd)?,
            wk: w("attn_k", kv_dim)?,
            wv: w("attn_v", kv_dim)?,
            wo: w("attn_output", c.n_embd)?,
            rope: rope.clone(),
            n_head: c.n_head,
            n_head_kv: c.n_head_kv,
            head_dim: c.head_dim(),
        })
    }

    /// x: [seq, n_embd] at positions `cache.len()..`, appending to `cache` for `layer`.
    pub fn forward(&self, x: Tensor<2>, layer: usize, cache: &mut KvCache) -> Tensor<2> {
        let [seq, n_embd] = x.dims();
        let start = cache.len();
        let (hd, n_kv) = (self.head_dim, self.n_head_kv);
        let group = self.n_head / n_kv;

        // [seq, heads·hd] → [heads, seq, hd]
        let heads = |t: Tensor<2>, n: usize| t.reshape([seq, n, hd]).swap_dims(0, 1);
        let q = self.rope.forward(heads(self.wq.forward(x.clone()), self.n_head), start);
        let k = self.rope.forward(heads(self.wk.forward(x.clone()), n_kv), start);
        let v = heads(self.wv.forward(x), n_kv);
        let (k, v) = cache.append(layer, k, v);

        // Fold each group's query heads into the row dimension so one batched matmul per kv head
        // serves the whole group: [n_head, seq, hd] → [n_kv, group·seq, hd], row = j·seq + i.
        let q = q.reshape([n_kv, group * seq, hd]);
        let mut scores = q.matmul(k.swap_dims(1, 2)).mul_scalar(1.0 / (hd as f32).sqrt());
        if seq > 1 {
            scores = scores.add(causal_mask(group, seq, start, &v.device()));
        }
        let out = softmax(scores, 2).matmul(v); // [n_kv, group·seq, hd]
        let out = out.reshape([self.n_head, seq, hd]).swap_dims(0, 1).reshape([seq, n_embd]);
        self.wo.forward(out)
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
