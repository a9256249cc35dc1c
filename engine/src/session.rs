//! A chat: one [`Sequence`] that lives across turns, and the steering it is filled with.
//!
//! `prefill` runs a new turn (reusing the cached prefix it shares with the last one), `step`
//! chooses one token and runs it lazily, so the forward for a token is only paid when the caller
//! asks for the next one. Steering changed mid-reply applies from the next token; a new turn
//! after a change rebuilds the cache, since cached keys and values carry the old steering.

use crate::model::{Llama, ModelError};
use crate::sample::Sampler;
use crate::sequence::{Sequence, Stop, StopRule, advance};
use crate::steer::Steering;

pub struct Session<'m> {
    model: &'m Llama,
    seq: Sequence,
    steering: Steering,
    /// The cache was filled with other steering than `steering`.
    stale: bool,
    /// Tokens the last `prefill` took from the cache instead of running them.
    reused: usize,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Llama) -> Self {
        Self { model, seq: Sequence::follower(model), steering: Steering::none(), stale: false, reused: 0 }
    }

    /// Takes effect from the next token run through the model.
    pub fn set_steering(&mut self, steering: Steering) {
        self.steering = steering;
        self.stale = !self.seq.tokens().is_empty();
    }

    /// Start a turn whose full token sequence (whole conversation, rendered) is `tokens`, to be
    /// answered with `sampler` until `rule` (or the context) ends it. Returns the logits for the
    /// next token.
    pub async fn prefill(&mut self, tokens: &[u32], sampler: Sampler, rule: StopRule) -> Result<&[f32], ModelError> {
        if self.stale {
            self.seq.forget();
            self.stale = false;
        }
        self.seq.reply_with(sampler, rule);
        self.reused = self.seq.start(tokens)?;
        advance(self.model, &mut [&mut self.seq], &mut self.steering).await?;
        Ok(self.seq.logits())
    }

    /// How many tokens of the last `prefill` came from the cache.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// The next token; `Ok(Err(stop))` once the turn is over.
    pub async fn step(&mut self) -> Result<Result<u32, Stop>, ModelError> {
        if self.seq.stopped().is_none() && !self.seq.waiting().is_empty() {
            advance(self.model, &mut [&mut self.seq], &mut self.steering).await?;
        }
        Ok(self.seq.choose())
    }
}
