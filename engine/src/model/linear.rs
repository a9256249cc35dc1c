use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use crate::gguf::{Gguf, GgufError, TensorInfo};
use crate::kernels::{Isa, PackedMatrix};

/// A weight matrix applied as `x · W`.
///
/// This is the one place that knows how weights are stored, and so the seam between burn and
/// the packed kernels:
/// - on a CPU device the GGUF blocks stay packed ([`PackedMatrix`]) and the product runs in
///   [`crate::kernels`] (SIMD over the packed blocks, threads natively);
/// - on a GPU device a block-quantized matrix stays packed too, multiplied by the cubecl
///   kernels in [`crate::kernels::gpu`]; an f16 or f32 one becomes an f32 [in, out] tensor
///   multiplied by burn.
///
/// Several GGUF matrices with the same input (q, k, v; gate, up) can be loaded as one, so one
/// pass over the activations serves them all; each output row holds the parts side by side.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Weight,
}

#[derive(Clone, Debug)]
enum Weight {
    /// One matrix for all parts, or one per part when their formats differ.
    Packed { matrices: Vec<Arc<PackedMatrix>>, isa: Isa },
    /// [in, out] f32 on the device.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    Dense(Box<Tensor<2>>),
    /// Packed blocks in device memory, all parts in one matrix.
    #[cfg(feature = "wgpu")]
    Gpu(Box<crate::kernels::gpu::GpuMatrix>),
}

impl Linear {
    /// Load a GGUF matrix of ggml shape [in, out] (rows of `in` contiguous values, one per output).
    pub fn load(g: &Gguf<'_>, name: &str, n_in: usize, n_out: usize, device: &Device) -> Result<Self, GgufError> {
        Self::load_fused(g, &[(name, n_out)], n_in, device)
    }

    /// Load matrices that share their input as one: `parts` are (name, outputs).
    pub fn load_fused(g: &Gguf<'_>, parts: &[(&str, usize)], n_in: usize, device: &Device) -> Result<Self, GgufError> {
        if runs_on_host(device) {
            let matrices =
                parts.iter().map(|&(name, n_out)| load_packed(g, name, n_in, n_out)).collect::<Result<Vec<_>, _>>()?;
            // Parts stored in different formats stay separate products.
            let matrices = match matrices.len() {
                1 => matrices,
                _ => PackedMatrix::concat(&matrices).map_or(matrices, |m| vec![m]),
            };
            let isa = Isa::detect();
            let matrices = matrices.into_iter().map(|m| Arc::new(m.for_isa(isa))).collect();
            return Ok(Self { weight: Weight::Packed { matrices, isa } });
        }
        #[cfg(feature = "wgpu")]
        if let Some(m) = upload_packed(g, parts, n_in, device)? {
            return Ok(Self { weight: Weight::Gpu(Box::new(m)) });
        }
        let mut t = Vec::new();
        let n_out: usize = parts.iter().map(|&(_, n)| n).sum();
        let mut columns = Vec::with_capacity(parts.len());
        for &(name, n) in parts {
            columns.push((load_matrix(g, name, n_in, n)?, n));
        }
        // ggml rows are outputs ([out, in] row-major); transpose once here, not in every forward.
        t.resize(n_in * n_out, 0f32);
        let mut first = 0;
        for (rows, n) in columns {
            for (o, row) in rows.chunks_exact(n_in).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    t[i * n_out + first + o] = v;
                }
            }
            first += n;
        }
        Ok(Self { weight: Weight::Dense(Box::new(Tensor::from_data(TensorData::new(t, [n_in, n_out]), device))) })
    }

    /// A packed matrix shared with another user (the tied embedding and head).
    pub(crate) fn from_packed(matrix: Arc<PackedMatrix>) -> Self {
        Self { weight: Weight::Packed { matrices: vec![matrix], isa: Isa::detect() } }
    }

    /// [seq, in] → [seq, out], on a GPU: the fused parts side by side in each row.
    #[cfg(feature = "wgpu")]
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.weight {
            Weight::Dense(w) => x.matmul((**w).clone()),
            Weight::Gpu(m) => m.matmul(x),
            Weight::Packed { .. } => unreachable!("a model loaded for the host path runs no tensor ops"),
        }
    }

    /// residual + x · W, on a GPU: the packed product adds into the residual stream itself.
    #[cfg(feature = "wgpu")]
    pub fn forward_add(&self, x: Tensor<2>, residual: Tensor<2>) -> Tensor<2> {
        match &self.weight {
            Weight::Gpu(m) => m.matmul_add(x, residual),
            _ => residual.add(self.forward(x)),
        }
    }

    /// The host path: rows [seq, in] → [seq, out], the fused parts side by side in each row.
    pub fn forward_rows(&self, x: &[f32]) -> Vec<f32> {
        let Weight::Packed { matrices, isa } = &self.weight else {
            unreachable!("a model loaded for a GPU runs no host ops")
        };
        if let [matrix] = matrices.as_slice() {
            return matrix.matmul(x, *isa);
        }
        // Parts in different formats: one product each, interleaved row by row.
        let ys: Vec<(Vec<f32>, usize)> = matrices.iter().map(|m| (m.matmul(x, *isa), m.rows())).collect();
        let seq = x.len() / matrices[0].cols();
        let mut out = Vec::with_capacity(seq * ys.iter().map(|(_, w)| w).sum::<usize>());
        for i in 0..seq {
            for (y, w) in &ys {
                out.extend_from_slice(&y[i * w..(i + 1) * w]);
            }
        }
        out
    }
}

/// Block-quantized parts, stacked into one matrix in device memory; `None` when a part is f16
/// or f32 or the parts differ in format (then they are multiplied dense).
#[cfg(feature = "wgpu")]
fn upload_packed(
    g: &Gguf<'_>,
    parts: &[(&str, usize)],
    n_in: usize,
    device: &Device,
) -> Result<Option<crate::kernels::gpu::GpuMatrix>, GgufError> {
    let quantized = |name: &str| {
        g.tensor_info(name).is_some_and(|i| {
            use crate::gguf::TensorType::{Q4_0, Q4_1, Q8_0};
            matches!(i.ty, Q4_0 | Q4_1 | Q8_0)
        })
    };
    // Decided from the table, so an f16 or f32 matrix is not copied here before its dense load.
    if !parts.iter().all(|&(name, _)| quantized(name)) {
        return Ok(None);
    }
    let matrices =
        parts.iter().map(|&(name, n_out)| load_packed(g, name, n_in, n_out)).collect::<Result<Vec<_>, _>>()?;
    let stacked = match matrices.len() {
        1 => matrices.into_iter().next(),
        _ => PackedMatrix::concat(&matrices),
    };
    Ok(stacked.and_then(|m| crate::kernels::gpu::GpuMatrix::upload(&m, device)))
}

/// CPU backends run the packed kernels; everything else gets dense device matrices.
pub(crate) fn runs_on_host(device: &Device) -> bool {
    use burn_dispatch::DispatchDevice;
    #[allow(unreachable_patterns)]
    match device.as_dispatch() {
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        _ => false,
    }
}

pub(crate) fn host_f32(x: Tensor<2>) -> Vec<f32> {
    // A CPU backend's float tensors are f32; anything else is a bug in the model code.
    x.into_data().try_into_vec::<f32>().expect("activations are f32 on the host")
}

fn checked_info<'g>(g: &'g Gguf<'_>, name: &str, dims: &[u64]) -> Result<&'g TensorInfo, GgufError> {
    let info = g.tensor_info(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
    if info.dims != dims {
        return Err(GgufError::BadTensor {
            name: name.into(),
            why: format!("shape {:?}, expected {dims:?} from the metadata", info.dims),
        });
    }
    Ok(info)
}

/// A named matrix of ggml shape [n_in, n_out], packed as stored: in the file's own bytes when
/// it was parsed shared, else copied.
pub(crate) fn load_packed(g: &Gguf<'_>, name: &str, n_in: usize, n_out: usize) -> Result<PackedMatrix, GgufError> {
    let info = checked_info(g, name, &[n_in as u64, n_out as u64])?;
    match g.shared() {
        Some(file) => PackedMatrix::from_shared(info.ty, file, g.tensor_range(info), n_out, n_in),
        None => PackedMatrix::from_gguf(info.ty, g.tensor_bytes(info), n_out, n_in),
    }
    .map_err(|e| e.in_tensor(name))
}

/// Dequantize a named matrix and check its ggml shape is [n_in, n_out].
pub(crate) fn load_matrix(g: &Gguf<'_>, name: &str, n_in: usize, n_out: usize) -> Result<Vec<f32>, GgufError> {
    checked_info(g, name, &[n_in as u64, n_out as u64])?;
    g.dequantize(name)
}

/// Dequantize a named vector of length `n`.
pub(crate) fn load_vector(g: &Gguf<'_>, name: &str, n: usize) -> Result<Vec<f32>, GgufError> {
    checked_info(g, name, &[n as u64])?;
    g.dequantize(name)
}
