use burn::tensor::{Device, Tensor, TensorData};

use crate::gguf::{Gguf, GgufError};

/// A weight matrix applied as `x · W`.
///
/// This is the one place that knows how weights are stored. Today that is dequantized f32 on the
/// device, pre-transposed to [in, out] so the forward is a plain matmul; a packed-quantized
/// storage with its own kernels can replace it without touching the blocks.
#[derive(Clone, Debug)]
pub struct Linear {
    /// [in, out]
    weight: Tensor<2>,
}

impl Linear {
    /// Load a GGUF matrix of ggml shape [in, out] (rows of `in` contiguous values, one per output).
    pub fn load(g: &Gguf<'_>, name: &str, n_in: usize, n_out: usize, device: &Device) -> Result<Self, GgufError> {
        let rows = load_matrix(g, name, n_in, n_out)?;
        // ggml rows are outputs ([out, in] row-major); transpose once here, not in every forward.
        let mut t = vec![0f32; rows.len()];
        for (o, row) in rows.chunks_exact(n_in).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                t[i * n_out + o] = v;
            }
        }
        Ok(Self { weight: Tensor::from_data(TensorData::new(t, [n_in, n_out]), device) })
    }

    /// [seq, in] → [seq, out]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone())
    }
}

/// Dequantize a named matrix and check its ggml shape is [n_in, n_out].
pub(crate) fn load_matrix(g: &Gguf<'_>, name: &str, n_in: usize, n_out: usize) -> Result<Vec<f32>, GgufError> {
    let info = g.tensor_info(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
    if info.dims != [n_in as u64, n_out as u64] {
        return Err(GgufError::BadTensor {
            name: name.into(),
            why: format!("shape {:?}, expected [{n_in}, {n_out}] from the metadata", info.dims),
        });
    }
    g.dequantize(name)
}

/// Dequantize a named vector of length `n`.
pub(crate) fn load_vector(g: &Gguf<'_>, name: &str, n: usize) -> Result<Vec<f32>, GgufError> {
    let info = g.tensor_info(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
    if info.dims != [n as u64] {
        return Err(GgufError::BadTensor {
            name: name.into(),
            why: format!("shape {:?}, expected [{n}] from the metadata", info.dims),
        });
    }
    g.dequantize(name)
}
