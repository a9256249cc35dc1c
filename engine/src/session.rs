//! Generation state: the KV cache, the tokens it holds, the steering it was filled with.
//!
//! `prefill` runs a new turn (reusing the cached prefix it shares with the last one), `step`
//! samples one token and feeds it back lazily, so the forward for a token is only paid when the
//! caller asks for the next one. Steering changed mid-reply applies from the next token; a new
//! turn after a change rebuilds the cache, since cached keys and values carry the old steering.

use crate::model::{KvCache, Llama, Logits, ModelError, read_logits};
use crate::sample::Sampler;
use crate::steer::Steering;

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model produced an end-of-generation token.
    EndOfGeneration,
    /// The requested number of tokens was reached.
    MaxTokens,
    /// The context window is full.
    ContextFull,
}

pub struct Session<'m> {
    model: &'m Llama,
    cache: KvCache,
    /// Tokens whose keys and values are in the cache.
    cached: Vec<u32>,
    /// Sampled but not yet run through the model.
    pending: Option<u32>,
    last_logits: Vec<f32>,
    steering: Steering,
    /// The cache was filled with other steering than `steering`.
    stale: bool,
    /// Tokens the last `prefill` took from the cache instead of running them.
    reused: usize,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Llama) -> Self {
        Self {
            model,
            cache: model.new_cache(),
            cached: Vec::new(),
            pending: None,
            last_logits: Vec::new(),
            steering: Steering::none(),
            stale: false,
            reused: 0,
        }
    }

    /// Takes effect from the next token fed through the model.
    pub fn set_steering(&mut self, steering: Steering) {
        self.steering = steering;
        self.stale = !self.cached.is_empty();
    }

    /// Start a turn whose full token sequence (whole conversation, rendered) is `tokens`.
    /// Returns the logits for the next token.
    pub async fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32], ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        let limit = self.model.config.n_ctx_train;
        if tokens.len() > limit {
            return Err(ModelError::ContextFull { needed: tokens.len(), limit });
        }
        self.pending = None;
        let mut keep = if self.stale { 0 } else { common_prefix(&self.cached, tokens) };
        // At least one token must run to produce logits.
        keep = keep.min(tokens.len() - 1);
        self.cache.truncate(keep);
        self.cached.truncate(keep);
        self.stale = false;
        self.reused = keep;
        self.feed(&tokens[keep..]).await?;
        Ok(&self.last_logits)
    }

    /// How many tokens of the last `prefill` came from the cache.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Sample the next token; `Ok(Err(stop))` when the turn is over. With `ignore_eos` the
    /// end-of-generation tokens are masked out (as llama.cpp's `--ignore-eos`) instead of ending it.
    pub async fn step(
        &mut self,
        sampler: &mut Sampler,
        stop_ids: &[u32],
        ignore_eos: bool,
    ) -> Result<Result<u32, Stop>, ModelError> {
        if let Some(tok) = self.pending.take() {
            if self.cached.len() >= self.model.config.n_ctx_train {
                self.pending = Some(tok);
                return Ok(Err(Stop::ContextFull));
            }
            self.feed(&[tok]).await?;
        }
        if self.last_logits.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        if ignore_eos {
            for &id in stop_ids {
                if let Some(l) = self.last_logits.get_mut(id as usize) {
                    *l = f32::NEG_INFINITY;
                }
            }
        }
        let tok = sampler.sample(&self.last_logits, &self.cached);
        if stop_ids.contains(&tok) && !ignore_eos {
            return Ok(Err(Stop::EndOfGeneration));
        }
        self.pending = Some(tok);
        Ok(Ok(tok))
    }

    async fn feed(&mut self, tokens: &[u32]) -> Result<(), ModelError> {
        let logits = self.model.forward(tokens, &mut self.cache, &mut self.steering, Logits::Last)?;
        self.cached.extend_from_slice(tokens);
        self.last_logits = read_logits(logits).await?;
        Ok(())
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
