use burn::tensor::{Device, Tensor, TensorData};

/// The seam after every block: the residual stream [seq, n_embd] leaving block `layer` passes
/// through here, where steering adds vectors and probes read activations.
///
/// Hooks are `Send`: natively the forward pass runs on a thread of the kernels' pool.
pub trait ResidualHook: Send {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2>;

    /// The same seam on the host path, where the stream is rows [seq, n_embd] in host memory.
    /// By default the rows make a round trip through a tensor on `device` and
    /// [`ResidualHook::after_block`]; the hooks a decode step runs do their work on the rows.
    fn after_block_rows(&mut self, layer: usize, x: Vec<f32>, n_embd: usize, device: &Device) -> Vec<f32> {
        let rows = x.len() / n_embd;
        let y = self.after_block(layer, Tensor::from_data(TensorData::new(x, [rows, n_embd]), device));
        super::linear::host_f32(y)
    }
}

/// Leaves the stream alone.
pub struct NoHook;

impl ResidualHook for NoHook {
    fn after_block(&mut self, _layer: usize, x: Tensor<2>) -> Tensor<2> {
        x
    }

    fn after_block_rows(&mut self, _layer: usize, x: Vec<f32>, _n_embd: usize, _device: &Device) -> Vec<f32> {
        x
    }
}

/// Run two hooks in order (e.g. steer, then record what the steered stream looks like).
impl<A: ResidualHook, B: ResidualHook> ResidualHook for (A, B) {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        let x = self.0.after_block(layer, x);
        self.1.after_block(layer, x)
    }

    fn after_block_rows(&mut self, layer: usize, x: Vec<f32>, n_embd: usize, device: &Device) -> Vec<f32> {
        let x = self.0.after_block_rows(layer, x, n_embd, device);
        self.1.after_block_rows(layer, x, n_embd, device)
    }
}

impl<H: ResidualHook + ?Sized> ResidualHook for &mut H {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        (**self).after_block(layer, x)
    }

    fn after_block_rows(&mut self, layer: usize, x: Vec<f32>, n_embd: usize, device: &Device) -> Vec<f32> {
        (**self).after_block_rows(layer, x, n_embd, device)
    }
}

/// Keeps every block's output (still on the device) for reading back later: the readback is
/// async in a browser, so it cannot happen inside the forward pass.
#[derive(Default)]
pub struct Capture {
    pub outputs: Vec<(usize, Tensor<2>)>,
}

impl ResidualHook for Capture {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        self.outputs.push((layer, x.clone()));
        x
    }
}
