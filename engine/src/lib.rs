//! Tiller's engine: a llama-architecture language model read from GGUF, running on any burn
//! device, with a seam after every block where steering vectors are added and activations read.
//!
//! No DOM, no UI, no network: the same crate runs natively and in a browser worker.

pub mod batch;
pub mod chat;
pub mod compare;
pub mod concept;
pub mod gate;
pub mod gguf;
pub mod kernels;
pub mod load;
pub mod manifest;
pub mod model;
pub mod probe;
pub mod sample;
pub mod sequence;
pub mod session;
pub mod steer;
pub mod tokenizer;
