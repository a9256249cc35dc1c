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
        #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
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
        Self::Device { tables: Box::new((table(tables.cos), table(tables.sin))) }
    }

    /// The host path's tables.
    pub fn host(&self) -> &RopeTables {
        match self {
            Self::Host(t) => t,
            Self::Device { .. } => unreachable!("a model loaded for a GPU runs no host ops"),
        }
    }

    /// The tables on the device, (cos, sin) [n_ctx, n_rot/2], for the attention kernel.
    #[cfg(feature = "wgpu")]
    pub fn device_tables(&self) -> (&Tensor<2>, &Tensor<2>) {
        match self {
            Self::Device { tables, .. } => (&tables.0, &tables.1),
            Self::Host(_) => unreachable!("a model loaded for the host path runs no tensor ops"),
        }
    }
}
