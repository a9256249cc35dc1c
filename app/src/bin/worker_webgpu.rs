//! The inference worker with WebGPU (and the CPU as its fallback); the same code as
//! `tiller-worker`, built with the `webgpu` feature. Trunk builds it as a classic worker too.

use gloo_worker::Registrable;
use tiller_app::worker::EngineWorker;

fn main() {
    tiller_app::run_static_constructors();
    EngineWorker::registrar().register();
}
