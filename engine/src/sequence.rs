//! One generated sequence, and the one loop every generator drives.
//!
//! A [`Sequence`] holds what a reply needs between forwards: its KV cache, the tokens in it
//! (also the sampler's history), the tokens still to run, the logits for its next choice, its
//! sampler and its stop rule. [`advance`] runs the waiting tokens of any number of sequences in
//! one packed forward — the one place where several sequences meet. A chat [`Session`] drives
//! one sequence, [`crate::batch::generate`] many, [`crate::compare::Compare`] three.
//!
//! ```text
//! start(prompt) ─► advance ─► choose ─► token ─► advance ─► choose ─► … ─► Err(Stop)
//! ```
//!
//! The context rule, the same for every caller: a cache holds at most `n_ctx_train` positions.
//! A prompt longer than that is refused; a token chosen from a full cache's logits is still
//! returned (the model did predict it), and the choice after it ends with [`Stop::ContextFull`].
//!
//! [`Session`]: crate::session::Session

use crate::model::{KvCache, Llama, Logits, ModelError, ResidualHook, read_logits};
use crate::sample::{Sampler, SamplingParams};

/// Why a sequence ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model produced an end-of-generation token.
    EndOfGeneration,
    /// The requested number of tokens was reached.
    MaxTokens,
    /// The context window is full.
    ContextFull,
}

/// When a reply ends, besides a full context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopRule {
    /// Tokens that end the reply (the model's end-of-generation ids); they are not returned.
    pub stop_ids: Vec<u32>,
    /// Mask the stop tokens out instead of ending on them (llama.cpp's `--ignore-eos`), so a
    /// reply runs to `max_tokens`: what a benchmark wants.
    pub ignore_eos: bool,
    /// The most tokens to choose; `None` for no limit but the context.
    pub max_tokens: Option<usize>,
}

impl StopRule {
    /// End on `stop_ids`, after at most `max_tokens`.
    pub fn new(stop_ids: &[u32], max_tokens: Option<usize>) -> Self {
        Self { stop_ids: stop_ids.to_vec(), ignore_eos: false, max_tokens }
    }
}

#[derive(Clone)]
pub struct Sequence {
    cache: KvCache,
    /// Tokens whose keys and values are in the cache: the sampler's history too, since every
    /// chosen token runs before the next choice.
    tokens: Vec<u32>,
    /// To run at the next [`advance`]: the prompt's uncached part, or the last chosen token.
    waiting: Vec<u32>,
    /// The last forward's logits (kept after a choice: Compare reads them); empty before the
    /// first forward.
    logits: Vec<f32>,
    sampler: Sampler,
    rule: StopRule,
    /// Tokens chosen since [`Sequence::start`].
    chosen: usize,
    ended: Option<Stop>,
    n_ctx: usize,
}

impl Sequence {
    pub fn new(model: &Llama, sampler: Sampler, rule: StopRule) -> Self {
        Self {
            cache: model.new_cache(),
            tokens: Vec::new(),
            waiting: Vec::new(),
            logits: Vec::new(),
            sampler,
            rule,
            chosen: 0,
            ended: None,
            n_ctx: model.config.n_ctx_train,
        }
    }

    /// A sequence that never chooses: it runs the tokens given to [`Sequence::follow`].
    pub fn follower(model: &Llama) -> Self {
        let greedy = Sampler::new(SamplingParams::default()).expect("the default sampling parameters are valid");
        Self::new(model, greedy, StopRule::default())
    }

    /// Begin a reply to `prompt` (the whole context, rendered), keeping the cached positions it
    /// shares with the tokens already cached. Returns how many it kept.
    pub fn start(&mut self, prompt: &[u32]) -> Result<usize, ModelError> {
        if prompt.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        if prompt.len() > self.n_ctx {
            return Err(ModelError::ContextFull { needed: prompt.len(), limit: self.n_ctx });
        }
        let shared = self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count();
        // At least one token must run to produce logits.
        let keep = shared.min(prompt.len() - 1);
        self.cache.truncate(keep);
        self.tokens.truncate(keep);
        self.waiting = prompt[keep..].to_vec();
        self.logits.clear();
        self.chosen = 0;
        self.ended = None;
        Ok(keep)
    }

    /// Start the next reply with another sampler and stop rule.
    pub fn reply_with(&mut self, sampler: Sampler, rule: StopRule) {
        self.sampler = sampler;
        self.rule = rule;
    }

    /// Empty the cache, so the next [`Sequence::start`] runs its whole prompt (cached keys and
    /// values carry the steering they were made with).
    pub fn forget(&mut self) {
        self.cache.clear();
        self.tokens.clear();
    }

    /// Why this sequence cannot go on, if it cannot: it ended, reached its token limit, or its
    /// next token has no room in the context. A sequence that returns `None` either has tokens
    /// to run at the next [`advance`] or logits to choose from.
    pub fn stopped(&self) -> Option<Stop> {
        if let Some(stop) = self.ended {
            return Some(stop);
        }
        if self.rule.max_tokens.is_some_and(|max| self.chosen >= max) {
            return Some(Stop::MaxTokens);
        }
        if self.tokens.len() + self.waiting.len() > self.n_ctx {
            return Some(Stop::ContextFull);
        }
        None
    }

    /// Tokens the next [`advance`] runs (empty when it has nothing to run).
    pub fn waiting(&self) -> &[u32] {
        &self.waiting
    }

    /// The last forward's logits: those the next choice reads, or the last choice read (empty
    /// before the first forward).
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// Tokens in the cache.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Choose the next token from the last forward's logits and queue it to run, or say why the
    /// reply is over (and stay over).
    pub fn choose(&mut self) -> Result<u32, Stop> {
        if let Some(stop) = self.stopped() {
            self.ended = Some(stop);
            return Err(stop);
        }
        assert!(self.waiting.is_empty() && !self.logits.is_empty(), "advance the sequence before choosing");
        if self.rule.ignore_eos {
            for &id in &self.rule.stop_ids {
                if let Some(l) = self.logits.get_mut(id as usize) {
                    *l = f32::NEG_INFINITY;
                }
            }
        }
        // The logits stay until the next forward: Compare reads the ones a choice was made from.
        let token = self.sampler.sample(&self.logits, &self.tokens);
        if !self.rule.ignore_eos && self.rule.stop_ids.contains(&token) {
            self.ended = Some(Stop::EndOfGeneration);
            return Err(Stop::EndOfGeneration);
        }
        self.chosen += 1;
        self.waiting.push(token);
        Ok(token)
    }

    /// Tokens chosen since [`Sequence::start`].
    pub fn chosen(&self) -> usize {
        self.chosen
    }

    /// Run the last `n` cached tokens again at the next [`advance`] (before any choice: the
    /// gate re-runs a prompt's tail with other steering).
    pub(crate) fn rewind(&mut self, n: usize) {
        debug_assert!(self.waiting.is_empty() && self.chosen == 0, "rewind only a prompt, before choosing");
        let keep = self.tokens.len().saturating_sub(n);
        let mut again = self.tokens.split_off(keep);
        again.append(&mut self.waiting);
        self.waiting = again;
        self.cache.truncate(keep);
        self.logits.clear();
    }

    /// Queue a token chosen elsewhere (Compare's shadow runs the steered side's tokens).
    pub fn follow(&mut self, token: u32) {
        self.logits.clear();
        self.waiting.push(token);
    }
}

/// Run every sequence's waiting tokens in one packed forward, `hook` seeing the packed rows in
/// the order given, and keep each one's logits for its next choice. Every sequence must have
/// tokens waiting and room for them (`stopped()` is `None`; `forward_batch` refuses one without
/// room). On an error no sequence has changed.
pub async fn advance(model: &Llama, seqs: &mut [&mut Sequence], hook: &mut dyn ResidualHook) -> Result<(), ModelError> {
    let mut caches: Vec<KvCache> = seqs.iter_mut().map(|s| std::mem::take(&mut s.cache)).collect();
    let inputs: Vec<&[u32]> = seqs.iter().map(|s| s.waiting.as_slice()).collect();
    let result = model.forward_batch(&inputs, &mut caches, hook, Logits::Last);
    drop(inputs);
    // Hand the caches back before any error, so every sequence keeps its own.
    seqs.iter_mut().zip(caches).for_each(|(s, cache)| s.cache = cache);
    let logits = match result {
        Ok(t) => read_logits(t).await,
        Err(e) => Err(e),
    };
    let logits = match logits {
        Ok(l) => l,
        Err(e) => {
            seqs.iter_mut().for_each(|s| s.cache.truncate(s.tokens.len()));
            return Err(e);
        }
    };
    for (s, row) in seqs.iter_mut().zip(logits.chunks_exact(model.config.n_vocab)) {
        s.tokens.append(&mut s.waiting);
        s.logits = row.to_vec();
    }
    Ok(())
}
