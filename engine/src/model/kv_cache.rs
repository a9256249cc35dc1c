use burn::tensor::Tensor;

/// Keys and values of every position seen so far, per layer.
///
/// On a GPU each layer holds two tensors [n_head_kv, capacity, head_dim] of which the first
/// `len` positions are valid. Storage is preallocated and written in place (`slice_assign` on a uniquely owned tensor
/// reuses its buffer on burn-flex and burn-wgpu); it doubles when full, so a reply of n tokens
/// costs O(log n) copies instead of one `cat` of the whole cache per token and layer. On a CPU
/// (the host path, see `Llama::forward_batch`) each layer is two vectors [len, n_head_kv·head_dim],
/// a position's row as the fused q/k/v product wrote it, grown as vectors grow.
///
/// Keys and values are stored after RoPE and after any steering of the earlier layers, so a
/// cache is only valid for the steering it was filled with: the session rebuilds it when
/// steering changes.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<3>, Tensor<3>)>>,
    host: Vec<HostLayer>,
    len: usize,
}

#[derive(Clone, Debug, Default)]
struct HostLayer {
    k: Vec<f32>,
    v: Vec<f32>,
}

/// Positions a new cache holds before its first doubling.
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

    /// Write this step's keys and values [n_kv, seq, hd] for `layer` at positions `len..`;
    /// returns every valid position's, [n_kv, len + seq, hd].
    pub(crate) fn append(&mut self, layer: usize, k: Tensor<3>, v: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [n_kv, seq, hd] = k.dims();
        let (start, end) = (self.len, self.len + seq);
        let (mut ck, mut cv) = match self.layers[layer].take() {
            Some(kv) => kv,
            None => {
                let cap = end.next_power_of_two().max(FIRST_CAPACITY);
                let device = k.device();
                (Tensor::zeros([n_kv, cap, hd], &device), Tensor::zeros([n_kv, cap, hd], &device))
            }
        };
        let cap = ck.dims()[1];
        if end > cap {
            let grown = end.next_power_of_two();
            let device = k.device();
            let grow = |t: Tensor<3>| match start {
                0 => Tensor::zeros([n_kv, grown, hd], &device),
                _ => Tensor::cat(vec![t.narrow(1, 0, start), Tensor::zeros([n_kv, grown - start, hd], &device)], 1),
            };
            (ck, cv) = (grow(ck), grow(cv));
        }
        ck = ck.slice_assign([0..n_kv, start..end, 0..hd], k);
        cv = cv.slice_assign([0..n_kv, start..end, 0..hd], v);
        let valid = (ck.clone().narrow(1, 0, end), cv.clone().narrow(1, 0, end));
        self.layers[layer] = Some((ck, cv));
        valid
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
