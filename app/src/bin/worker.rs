//! The inference worker's entry point; Trunk builds it as a classic (no-modules) worker.

use gloo_worker::Registrable;
use tiller_app::worker::EngineWorker;

fn main() {
    tiller_app::run_static_constructors();
    EngineWorker::registrar().register();
}
