//! Tiller in the browser: the UI (`ui` feature) and the worker that owns the engine (`worker`
//! feature) share only the `protocol`.

pub mod protocol;
mod startup;
pub use startup::run_static_constructors;
#[cfg(feature = "ui")]
pub mod ui;
#[cfg(feature = "worker")]
pub mod worker;
