//! The engine's native integration tests, one binary (each linked test binary costs a release
//! link of burn). The browser's are in `tests/web.rs`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod chat;
mod compare;
mod concept;
mod gguf_robustness;
mod parity;
mod session;
mod tiny;
mod tokenizer;
