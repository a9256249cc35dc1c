use burn::tensor::Tensor;

/// Keys and values of every position seen so far, per layer.
///
/// On a GPU each layer holds two tensors [capacity, n_head_kv·head_dim] of which the first
/// `len` rows are valid, written in place by the attention kernel
/// ([`crate::kernels::gpu_ops::attention`]); the capacity doubles when full, so a reply of n
/// tokens costs O(log n) copies. A clone shares the buffers until one of them is written: the
/// kernel copies a buffer another cache still holds before writing. On a CPU (the host path,
/// see `Llama::forward_batch`) each layer is two vectors [len, n_head_kv·head_dim], a
/// position's row as the fused q/k/v product wrote it, grown as vectors grow.
///
/// Keys and values are stored after RoPE and after any steering of the earlier layers, so a
/// cache is only valid for the steering it was filled with: the session rebuilds it when
/// steering changes.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<2>, Tensor<2>)>>,
    host: Vec<HostLayer>,
    len: usize,
}

#[derive(Clone, Debug, Default)]
struct HostLayer {
    k: Vec<f32>,
    v: Vec<f32>,
}

/// Positions a new cache holds before its first doubling.
#[cfg(feature = "wgpu")]
const FIRST_CAPACITY: usize = 128;

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        Self { layers: vec![None; n_layer], host: vec![HostLayer::default(); n_layer], len: 0 }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.host.iter_mut().for_each(|l| *l = HostLayer::default());
        self.len = 0;
    }

    /// Take `layer`'s keys and values on the device, [capacity, kv_dim] each, with room for
    /// `end` positions (rows `..len` as written): the attention kernel writes the rest and
    /// [`KvCache::put`] gives them back.
    #[cfg(feature = "wgpu")]
    pub(crate) fn take(
        &mut self,
        layer: usize,
        end: usize,
        kv_dim: usize,
        device: &burn::tensor::Device,
    ) -> (Tensor<2>, Tensor<2>) {
        let zeros = |cap: usize| Tensor::<2>::zeros([cap, kv_dim], device);
        let (k, v) = match self.layers[layer].take() {
            None => {
                let cap = end.next_power_of_two().max(FIRST_CAPACITY);
                return (zeros(cap), zeros(cap));
            }
            Some(kv) => kv,
        };
        if end <= k.dims()[0] {
            return (k, v);
        }
        let grown = end.next_power_of_two();
        let len = self.len;
        let grow = |t: Tensor<2>| match len {
            0 => zeros(grown),
            _ => zeros(grown).slice_assign([0..len, 0..kv_dim], t.narrow(0, 0, len)),
        };
        (grow(k), grow(v))
    }

    /// Give back what [`KvCache::take`] lent.
    #[cfg(feature = "wgpu")]
    pub(crate) fn put(&mut self, layer: usize, kv: (Tensor<2>, Tensor<2>)) {
        self.layers[layer] = Some(kv);
    }

    /// Write this step's keys and values, rows of `kv_dim` taken from `qkv` [seq, stride] at
    /// columns `k_at..` and `v_at..`, for `layer` at positions `len..`; returns every valid
    /// position's keys and values, [len + seq, kv_dim] each.
    pub(crate) fn append_rows(
        &mut self,
        layer: usize,
        qkv: &[f32],
        stride: usize,
        (k_at, v_at, kv_dim): (usize, usize, usize),
    ) -> (&[f32], &[f32]) {
        let l = &mut self.host[layer];
        // Positions past `len` were rolled back by `truncate`: overwrite them.
        l.k.truncate(self.len * kv_dim);
        l.v.truncate(self.len * kv_dim);
        for row in qkv.chunks_exact(stride) {
            l.k.extend_from_slice(&row[k_at..k_at + kv_dim]);
            l.v.extend_from_slice(&row[v_at..v_at + kv_dim]);
        }
        (&l.k, &l.v)
    }

    /// Called once all layers have appended `n` positions.
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// Drop every position from `len` on (used to roll back to a shared prefix): they are
    /// overwritten by the next append.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if len == 0 {
            return self.clear();
        }
        self.len = len;
    }
}
