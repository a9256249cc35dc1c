use burn::tensor::{Device, Tensor, TensorData};

/// Rotary position embedding as llama.cpp applies it to the `llama` architecture
/// (LLAMA_ROPE_TYPE_NORM): each ADJACENT pair (x[2i], x[2i+1]) of a head is rotated by
/// pos·base^(−2i/n_rot). The converter permuted the q/k weight rows in the GGUF so that this
/// matches the Hugging Face model's rotate-half layout; applying rotate-half to GGUF weights is
/// the classic mistake (off by 6–24 logits here).
#[derive(Clone, Debug)]
pub struct Rope {
    n_rot: usize,
    base: f32,
}

impl Rope {
    pub fn new(n_rot: usize, base: f32) -> Self {
        Self { n_rot, base }
    }

    /// cos and sin tables for positions `start..start+len`, each [len, n_rot/2].
    fn tables(&self, start: usize, len: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let half = self.n_rot / 2;
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for pos in start..start + len {
            for i in 0..half {
                // f64 keeps the angle exact at long positions, as llama.cpp's float math does not
                // quite; the difference is far below the quantization noise.
                let theta = pos as f64 * (self.base as f64).powf(-2.0 * i as f64 / self.n_rot as f64);
                cos.push(theta.cos() as f32);
                sin.push(theta.sin() as f32);
            }
        }
        (
            Tensor::from_data(TensorData::new(cos, [len, half]), device),
            Tensor::from_data(TensorData::new(sin, [len, half]), device),
        )
    }

    /// Rotate `x` [heads, seq, head_dim] whose first position is `start`.
    pub fn forward(&self, x: Tensor<3>, start: usize) -> Tensor<3> {
        let [heads, seq, head_dim] = x.dims();
        let half = self.n_rot / 2;
        let (cos, sin) = self.tables(start, seq, &x.device());
        // [1, seq, half, 1]: broadcast over heads and the pair
        let cos = cos.reshape([1, seq, half, 1]);
        let sin = sin.reshape([1, seq, half, 1]);

        let rotated = x.clone().narrow(2, 0, self.n_rot).reshape([heads, seq, half, 2]);
        let even = rotated.clone().narrow(3, 0, 1);
        let odd = rotated.narrow(3, 1, 1);
        let out = Tensor::cat(
            vec![
                even.clone().mul(cos.clone()).sub(odd.clone().mul(sin.clone())),
                even.mul(sin).add(odd.mul(cos)),
            ],
            3,
        )
        .reshape([heads, seq, self.n_rot]);
        if self.n_rot == head_dim {
            out
        } else {
            Tensor::cat(vec![out, x.narrow(2, self.n_rot, head_dim - self.n_rot)], 2)
        }
    }
}
