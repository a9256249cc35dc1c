//! The judges' integration tests, one binary.

mod common;

mod diversity;
mod formality;
mod refusal;
mod sentiment;
mod tagger;
mod toxicity;
