//! One prompt answered twice with the same seed, without steering and with it, in step: the
//! classroom's side-by-side view, with readings of the residual stream for every token.
//!
//! Three sequences share each forward pass (on a CPU a packed step costs about one):
//!
//! ```text
//! plain    prompt ─► unsteered reply            (its own sampler, seed s)
//! steered  prompt ─► steered reply              (its own sampler, seed s)
//! shadow   the steered reply's tokens, run without steering: what the model would predict at
//!          the same context with steering off — the "before" of each steered token
//! ```
//!
//! The shadow starts as a copy of the plain cache, since the prompt is the same and unsteered.

use crate::batch::PerSequence;
use crate::model::{KvCache, Llama, Logits, ModelError, read_logits};
use crate::probe::{Probes, Reading};
use crate::sample::{SampleError, Sampler, SamplingParams};
use crate::session::Stop;
use crate::steer::Steering;

/// How many of the most likely tokens each side of a shift lists.
pub const TOP_K: usize = 6;

/// A candidate next token's probability (temperature 1) without and with steering.
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    pub token: u32,
    pub before: f32,
    pub after: f32,
}

/// What one side did at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct SideStep {
    /// The token chosen, or why the side ended here.
    pub token: Result<u32, Stop>,
    /// The residual stream at the position that chose it.
    pub reading: Reading,
    /// Steered side: the shadow's reading at the same context (steering off).
    pub unsteered: Option<Reading>,
    /// The union of the top [`TOP_K`] before and after, the chosen token included, most likely
    /// after first. The plain side has before = after.
    pub top: Vec<Shift>,
}

/// One step of both sides; a side is `None` once it has ended (its end was reported once).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub plain: Option<SideStep>,
    pub steered: Option<SideStep>,
}

struct Side {
    cache: KvCache,
    sampler: Sampler,
    /// Prompt and reply so far, for the repetition penalty.
    history: Vec<u32>,
    /// Chosen but not yet run through the model.
    pending: Option<u32>,
    ended: bool,
    /// Logits and reading for this side's next token.
    next: Option<(Vec<f32>, Reading)>,
}

pub struct Compare<'m> {
    model: &'m Llama,
    steering: Steering,
    none: Steering,
    probes: Probes,
    stop_ids: Vec<u32>,
    plain: Side,
    steered: Side,
    shadow_cache: KvCache,
    shadow_next: Option<(Vec<f32>, Reading)>,
}

impl<'m> Compare<'m> {
    pub fn new(
        model: &'m Llama,
        steering: Steering,
        probes: Probes,
        params: SamplingParams,
        stop_ids: &[u32],
    ) -> Result<Self, SampleError> {
        let side = || -> Result<Side, SampleError> {
            Ok(Side {
                cache: model.new_cache(),
                sampler: Sampler::new(params.clone())?,
                history: Vec::new(),
                pending: None,
                ended: false,
                next: None,
            })
        };
        Ok(Self {
            model,
            steering,
            none: Steering::none(),
            probes,
            stop_ids: stop_ids.to_vec(),
            plain: side()?,
            steered: side()?,
            shadow_cache: model.new_cache(),
            shadow_next: None,
        })
    }

    /// Read the prompt on both sides.
    pub async fn prefill(&mut self, prompt: &[u32]) -> Result<(), ModelError> {
        let limit = self.model.config.n_ctx_train;
        if prompt.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        if prompt.len() >= limit {
            return Err(ModelError::ContextFull { needed: prompt.len() + 1, limit });
        }
        let mut caches = [self.model.new_cache(), self.model.new_cache()];
        let lens = [prompt.len(), prompt.len()];
        let steer = PerSequence { steerings: vec![&self.none, &self.steering], lens: lens.to_vec() };
        let mut hook = (steer, self.probes.hook(&lens));
        let logits = self.model.forward_batch(&[prompt, prompt], &mut caches, &mut hook, Logits::Last)?;
        let logits = read_logits(logits).await?;
        let mut readings = hook.1.read().await?.into_iter();
        let n_vocab = self.model.config.n_vocab;
        let [plain_cache, steered_cache] = caches;
        let plain_reading = readings.next().expect("two readings");
        self.shadow_cache = plain_cache.clone();
        self.shadow_next = Some((logits[..n_vocab].to_vec(), plain_reading.clone()));
        for (side, cache, row, reading) in [
            (&mut self.plain, plain_cache, &logits[..n_vocab], plain_reading),
            (&mut self.steered, steered_cache, &logits[n_vocab..], readings.next().expect("two readings")),
        ] {
            side.cache = cache;
            side.history = prompt.to_vec();
            side.pending = None;
            side.ended = false;
            side.next = Some((row.to_vec(), reading));
        }
        Ok(())
    }

    /// Choose each side's next token; `None` once both have ended. Call [`Compare::prefill`]
    /// first.
    pub async fn step(&mut self) -> Result<Option<Step>, ModelError> {
        self.feed_pending().await?;
        if self.plain.ended && self.steered.ended {
            return Ok(None);
        }
        let limit = self.model.config.n_ctx_train;
        let stop_ids = &self.stop_ids;
        let choose = |side: &mut Side, before: Option<&(Vec<f32>, Reading)>| -> Option<SideStep> {
            if side.ended {
                return None;
            }
            let (after, reading) = side.next.take().expect("prefill runs first");
            let before = before.map(|(l, _)| l.as_slice()).unwrap_or(&after);
            let token = if side.cache.len() >= limit {
                Err(Stop::ContextFull)
            } else {
                let t = side.sampler.sample(&after, &side.history);
                if stop_ids.contains(&t) { Err(Stop::EndOfGeneration) } else { Ok(t) }
            };
            let top = top_shift(before, &after, TOP_K, token.ok());
            match token {
                Ok(t) => {
                    side.history.push(t);
                    side.pending = Some(t);
                }
                Err(_) => side.ended = true,
            }
            Some(SideStep { token, reading, unsteered: None, top })
        };
        let plain = choose(&mut self.plain, None);
        let shadow = self.shadow_next.take();
        let mut steered = choose(&mut self.steered, shadow.as_ref());
        if let (Some(s), Some((_, reading))) = (steered.as_mut(), shadow) {
            s.unsteered = Some(reading);
        }
        Ok(Some(Step { plain, steered }))
    }

    /// Run the tokens chosen last step: plain's on its cache, steered's on its cache (steered)
    /// and on the shadow's (not).
    async fn feed_pending(&mut self) -> Result<(), ModelError> {
        let plain = self.plain.pending.take();
        let steered = self.steered.pending.take();
        if plain.is_none() && steered.is_none() {
            return Ok(());
        }
        let mut seqs: Vec<[u32; 1]> = Vec::with_capacity(3);
        let mut caches = Vec::with_capacity(3);
        let mut steerings = Vec::with_capacity(3);
        if let Some(t) = plain {
            seqs.push([t]);
            caches.push(std::mem::take(&mut self.plain.cache));
            steerings.push(&self.none);
        }
        if let Some(t) = steered {
            seqs.extend([[t], [t]]);
            caches.push(std::mem::take(&mut self.steered.cache));
            caches.push(std::mem::take(&mut self.shadow_cache));
            steerings.extend([&self.steering, &self.none]);
        }
        let lens = vec![1; seqs.len()];
        let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
        let mut hook = (PerSequence { steerings, lens: lens.clone() }, self.probes.hook(&lens));
        let result = self.model.forward_batch(&refs, &mut caches, &mut hook, Logits::Last);
        // Hand the caches back before any error, so the sides stay consistent.
        let mut caches = caches.into_iter();
        if plain.is_some() {
            self.plain.cache = caches.next().expect("plain cache");
        }
        if steered.is_some() {
            self.steered.cache = caches.next().expect("steered cache");
            self.shadow_cache = caches.next().expect("shadow cache");
        }
        let logits = read_logits(result?).await?;
        let readings = hook.1.read().await?;
        let n_vocab = self.model.config.n_vocab;
        let mut rows = logits.chunks_exact(n_vocab).zip(readings);
        if plain.is_some() {
            let (row, reading) = rows.next().expect("plain row");
            self.plain.next = Some((row.to_vec(), reading));
        }
        if steered.is_some() {
            let (row, reading) = rows.next().expect("steered row");
            self.steered.next = Some((row.to_vec(), reading));
            let (row, reading) = rows.next().expect("shadow row");
            self.shadow_next = Some((row.to_vec(), reading));
        }
        Ok(())
    }
}

/// The tokens most likely before or after (the top `k` of each, and `chosen`), with both
/// probabilities at temperature 1, most likely after first. Only the listed tokens' probabilities
/// are computed: a decode step pays one pass over each row for its normaliser.
pub fn top_shift(before: &[f32], after: &[f32], k: usize, chosen: Option<u32>) -> Vec<Shift> {
    let same = std::ptr::eq(before, after);
    let mut ids = top_k(after, k);
    if !same {
        ids.extend(top_k(before, k));
    }
    ids.extend(chosen.map(|t| t as usize).filter(|&t| t < after.len()));
    ids.sort_unstable();
    ids.dedup();
    let z_after = log_sum_exp(after);
    let z_before = if same { z_after } else { log_sum_exp(before) };
    let p = |row: &[f32], z: f64, i: usize| (row[i] as f64 - z).exp() as f32;
    let mut out: Vec<Shift> = ids
        .into_iter()
        .map(|i| Shift { token: i as u32, before: p(before, z_before, i), after: p(after, z_after, i) })
        .collect();
    out.sort_by(|a, b| b.after.total_cmp(&a.after).then(b.before.total_cmp(&a.before)).then(a.token.cmp(&b.token)));
    out
}

/// ln Σ exp(x), in f64 around the row's maximum.
fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    max + logits.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln()
}

/// The `k` largest logits' ids (the same order as their probabilities).
fn top_k(logits: &[f32], k: usize) -> Vec<usize> {
    let mut ids: Vec<usize> = (0..logits.len()).collect();
    let k = k.min(ids.len());
    if k == 0 {
        return Vec::new();
    }
    ids.select_nth_unstable_by(k - 1, |&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    ids.truncate(k);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_lists_both_tops_and_the_chosen_token() {
        let before = [3.0, 2.0, 1.0, 0.0, -1.0];
        let after = [0.0, 1.0, 2.0, 3.0, -1.0];
        let shift = top_shift(&before, &after, 1, Some(4));
        let ids: Vec<u32> = shift.iter().map(|s| s.token).collect();
        assert_eq!(ids, [3, 0, 4]);
        assert!(shift[0].after > shift[0].before);
        let every: f32 = top_shift(&before, &after, after.len(), None).iter().map(|s| s.after).sum();
        assert!((every - 1.0).abs() < 1e-6, "probabilities sum to {every}");
    }

    #[test]
    fn no_steering_means_no_shift() {
        let logits = [0.5, -0.2, 2.0, 1.0];
        for s in top_shift(&logits, &logits, 2, None) {
            assert_eq!(s.before, s.after);
        }
    }
}
