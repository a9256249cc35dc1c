use burn::tensor::Tensor;

/// The seam after every block: the residual stream [seq, n_embd] leaving block `layer` passes
/// through here, where steering adds vectors and probes read activations.
pub trait ResidualHook {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2>;
}

/// Leaves the stream alone.
pub struct NoHook;

impl ResidualHook for NoHook {
    fn after_block(&mut self, _layer: usize, x: Tensor<2>) -> Tensor<2> {
        x
    }
}

/// Run two hooks in order (e.g. steer, then record what the steered stream looks like).
impl<A: ResidualHook, B: ResidualHook> ResidualHook for (A, B) {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        let x = self.0.after_block(layer, x);
        self.1.after_block(layer, x)
    }
}

impl<H: ResidualHook + ?Sized> ResidualHook for &mut H {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        (**self).after_block(layer, x)
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
