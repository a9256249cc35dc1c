pub mod bench;
pub mod chat;
pub mod eval;
pub mod generate;
pub mod logits;
pub mod tokenize;
mod turn;
pub mod vectors;

use clap::Args;
use tiller_engine::sample::SamplingParams;

/// Sampling flags shared by `generate` and `chat`. Temperature 0 is greedy.
#[derive(Args, Clone, Debug)]
pub struct SamplingArgs {
    /// 0 = greedy (argmax)
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Keep the K most likely tokens (0 = off)
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches P (1 = off)
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Drop tokens below P × the top token's probability (0 = off)
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f32,
    /// Penalize tokens seen in the last 64 (1 = off)
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Seed of the sampler's random numbers
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    pub fn params(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repeat_penalty,
            seed: self.seed,
            ..SamplingParams::default()
        }
    }
}
