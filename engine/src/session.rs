//! A chat: one [`Sequence`] that lives across turns, and the steering it is filled with.
//!
//! `prefill` runs a new turn (reusing the cached prefix it shares with the last one), `step`
//! chooses one token and runs it lazily, so the forward for a token is only paid when the caller
//! asks for the next one. Steering changed mid-reply applies from the next token; a new turn
//! after a change rebuilds the cache, since cached keys and values carry the old steering (as
//! does a prompt that leaves a chat whose gate opened).

use crate::concept::GateReading;
use crate::gate::{self, SteerPlan};
use crate::model::{Llama, ModelError, NoHook};
use crate::sample::Sampler;
use crate::sequence::{Sequence, Stop, StopRule, advance};
use crate::steer::PerSequence;

pub struct Session<'m> {
    model: &'m Llama,
    seq: Sequence,
    steering: SteerPlan,
    /// What the plan's condition read from the last prompt.
    gate: Option<GateReading>,
    /// The cache was filled with other steering than `steering`.
    stale: bool,
    /// Tokens the last `prefill` took from the cache instead of running them.
    reused: usize,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Llama) -> Self {
        Self {
            model,
            seq: Sequence::follower(model),
            steering: SteerPlan::default(),
            gate: None,
            stale: false,
            reused: 0,
        }
    }

    /// Takes effect from the next token run through the model.
    /// A plan with a condition reads it at the next prefill.
    pub fn set_steering(&mut self, steering: impl Into<SteerPlan>) {
        self.steering = steering.into();
        self.stale = !self.seq.tokens().is_empty();
    }

    /// Start a turn whose full token sequence (whole conversation, rendered) is `tokens`, to be
    /// answered with `sampler` until `rule` (or the context) ends it. Returns the logits for the
    /// next token.
    pub async fn prefill(&mut self, tokens: &[u32], sampler: Sampler, rule: StopRule) -> Result<&[f32], ModelError> {
        self.prefill_turn(tokens, None, sampler, rule).await
    }

    /// As [`Session::prefill`], with the steering's condition read from `request` alone (the
    /// latest request rendered on its own, [`crate::chat::latest_request`]) instead of from the
    /// end of the whole conversation.
    pub async fn prefill_turn(
        &mut self,
        tokens: &[u32],
        request: Option<&[u32]>,
        sampler: Sampler,
        rule: StopRule,
    ) -> Result<&[f32], ModelError> {
        // After an open gate the cache holds positions run with the gated part; a prompt that
        // does not continue that chat (a reply asked for again, an edited request, a new chat)
        // must not inherit them.
        let engaged = self.gate.is_some_and(|g| g.engaged());
        if self.stale || (engaged && !tokens.starts_with(self.seq.tokens())) {
            self.seq.forget();
            self.stale = false;
        }
        self.seq.reply_with(sampler, rule);
        self.reused = self.seq.start(tokens)?;
        self.gate = gate::prefill_reading(self.model, &mut [&mut self.seq], &[&self.steering], &[request], &mut NoHook)
            .await?[0];
        Ok(self.seq.logits())
    }

    /// What the steering's condition read from the last prompt (`None` without a condition).
    pub fn gate(&self) -> Option<GateReading> {
        self.gate
    }

    /// How many tokens of the last `prefill` came from the cache.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// The next token; `Ok(Err(stop))` once the turn is over.
    pub async fn step(&mut self) -> Result<Result<u32, Stop>, ModelError> {
        if self.seq.stopped().is_none() && !self.seq.waiting().is_empty() {
            let steering = self.steering.for_reply(self.gate, self.seq.chosen());
            let mut hook = PerSequence { steerings: vec![steering], lens: vec![self.seq.waiting().len()] };
            advance(self.model, &mut [&mut self.seq], &mut hook).await?;
        }
        Ok(self.seq.choose())
    }
}
