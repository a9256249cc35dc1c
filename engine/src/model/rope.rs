use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use crate::kernels::ops::RopeTables;

/// Rotary position embedding as llama.cpp applies it to the `llama` architecture
/// (LLAMA_ROPE_TYPE_NORM): each ADJACENT pair (x[2i], x[2i+1]) of a head is rotated by
/// pos·base^(−2i/n_rot). The converter permuted the q/k weight rows in the GGUF so that this
/// matches the Hugging Face model's rotate-half layout; applying rotate-half to GGUF weights is
/// the classic mistake (off by 6–24 logits here).
/// The tables of cos and sin, [n_ctx, n_rot/2] for every position the model can see, computed
/// once at load: as tensors on a GPU, as vectors for the host path.
#[derive(Clone, Debug)]
pub enum Rope {
    /// (cos, sin): boxed, as a tensor's handle is large.
    Device {
        n_rot: usize,
        tables: Box<(Tensor<2>, Tensor<2>)>,
    },
    Host(Arc<RopeTables>),
}

impl Rope {
    pub fn new(n_rot: usize, base: f32, n_ctx: usize, device: &Device, on_host: bool) -> Self {
        let tables = RopeTables::new(n_rot, base, n_ctx);
        if on_host {
            return Self::Host(Arc::new(tables));
        }
        let table = |v| Tensor::from_data(TensorData::new(v, [n_ctx, n_rot / 2]), device);
        Self::Device { n_rot, tables: Box::new((table(tables.cos), table(tables.sin))) }
    }

    /// The host path's tables.
    pub fn host(&self) -> &RopeTables {
        match self {
            Self::Host(t) => t,
            Self::Device { .. } => unreachable!("a model loaded for a GPU runs no host ops"),
        }
    }

    /// Rotate `x` [heads, seq, head_dim] whose first position is `start`.
    pub fn forward(&self, x: Tensor<3>, start: usize) -> Tensor<3> {
        let Self::Device { n_rot, tables } = self else {
            unreachable!("a model loaded for the host path runs no tensor ops")
        };
        let (n_rot, (cos, sin)) = (*n_rot, &**tables);
        let [heads, seq, head_dim] = x.dims();
        let half = n_rot / 2;
        // [1, seq, half, 1]: broadcast over heads and over the two halves of a pair
        let cos = cos.clone().narrow(0, start, seq).reshape([1, seq, half, 1]);
        let sin = sin.clone().narrow(0, start, seq).reshape([1, seq, half, 1]);

        let pairs = x.clone().narrow(2, 0, n_rot).reshape([heads, seq, half, 2]);
        let even = pairs.clone().narrow(3, 0, 1);
        let odd = pairs.narrow(3, 1, 1);
        let rotated = Tensor::cat(
            vec![even.clone().mul(cos.clone()).sub(odd.clone().mul(sin.clone())), even.mul(sin).add(odd.mul(cos))],
            3,
        )
        .reshape([heads, seq, n_rot]);
        if n_rot == head_dim { rotated } else { Tensor::cat(vec![rotated, x.narrow(2, n_rot, head_dim - n_rot)], 2) }
    }
}
