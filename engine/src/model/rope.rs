use burn::tensor::{Device, Tensor, TensorData};

/// Rotary position embedding as llama.cpp applies it to the `llama` architecture
/// (LLAMA_ROPE_TYPE_NORM): each ADJACENT pair (x[2i], x[2i+1]) of a head is rotated by
/// pos·base^(−2i/n_rot). The converter permuted the q/k weight rows in the GGUF so that this
/// matches the Hugging Face model's rotate-half layout; applying rotate-half to GGUF weights is
/// the classic mistake (off by 6–24 logits here).
#[derive(Clone, Debug)]
pub struct Rope {
    n_rot: usize,
    /// [n_ctx, n_rot/2] for every position the model can see, computed once at load.
    cos: Tensor<2>,
    sin: Tensor<2>,
}

impl Rope {
    pub fn new(n_rot: usize, base: f32, n_ctx: usize, device: &Device) -> Self {
        let half = n_rot / 2;
        let mut cos = Vec::with_capacity(n_ctx * half);
        let mut sin = Vec::with_capacity(n_ctx * half);
        for pos in 0..n_ctx {
            for i in 0..half {
                let theta = pos as f64 * (base as f64).powf(-2.0 * i as f64 / n_rot as f64);
                cos.push(theta.cos() as f32);
                sin.push(theta.sin() as f32);
            }
        }
        Self {
            n_rot,
            cos: Tensor::from_data(TensorData::new(cos, [n_ctx, half]), device),
            sin: Tensor::from_data(TensorData::new(sin, [n_ctx, half]), device),
        }
    }

    /// Rotate `x` [heads, seq, head_dim] whose first position is `start`.
    pub fn forward(&self, x: Tensor<3>, start: usize) -> Tensor<3> {
        let [heads, seq, head_dim] = x.dims();
        let half = self.n_rot / 2;
        // [1, seq, half, 1]: broadcast over heads and over the two halves of a pair
        let cos = self.cos.clone().narrow(0, start, seq).reshape([1, seq, half, 1]);
        let sin = self.sin.clone().narrow(0, start, seq).reshape([1, seq, half, 1]);

        let pairs = x.clone().narrow(2, 0, self.n_rot).reshape([heads, seq, half, 2]);
        let even = pairs.clone().narrow(3, 0, 1);
        let odd = pairs.narrow(3, 1, 1);
        let rotated = Tensor::cat(
            vec![even.clone().mul(cos.clone()).sub(odd.clone().mul(sin.clone())), even.mul(sin).add(odd.mul(cos))],
            3,
        )
        .reshape([heads, seq, self.n_rot]);
        if self.n_rot == head_dim {
            rotated
        } else {
            Tensor::cat(vec![rotated, x.narrow(2, self.n_rot, head_dim - self.n_rot)], 2)
        }
    }
}
