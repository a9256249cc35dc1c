use burn::tensor::Tensor;

/// Keys and values of every position seen so far, per layer, each [n_head_kv, len, head_dim].
///
/// They are stored after RoPE and after any steering of the earlier layers, so a cache is only
/// valid for the steering it was filled with: the session rebuilds it when steering changes.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<3>, Tensor<3>)>>,
    len: usize,
}

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        Self { layers: vec![None; n_layer], len: 0 }
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
        self.len = 0;
    }

    /// Append this step's keys and values for `layer`; returns all of them.
    pub(crate) fn append(&mut self, layer: usize, k: Tensor<3>, v: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let merged = match self.layers[layer].take() {
            None => (k, v),
            Some((pk, pv)) => (Tensor::cat(vec![pk, k], 1), Tensor::cat(vec![pv, v], 1)),
        };
        self.layers[layer] = Some(merged.clone());
        merged
    }

    /// Called once all layers have appended `n` positions.
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// Drop every position from `len` on (used to roll back to a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if len == 0 {
            return self.clear();
        }
        for layer in self.layers.iter_mut() {
            *layer = layer.take().map(|(k, v)| (k.narrow(1, 0, len), v.narrow(1, 0, len)));
        }
        self.len = len;
    }
}
