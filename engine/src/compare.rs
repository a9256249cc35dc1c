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

use crate::concept::GateReading;
use crate::gate::{self, SteerPlan};
use crate::kernels::{ops, parallel};
use crate::model::{Llama, ModelError};
use crate::probe::{Probes, Reading};
use crate::sample::{SampleError, Sampler, SamplingParams};
use crate::sequence::{Sequence, Stop, StopRule, advance};
use crate::steer::PerSequence;
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
    pub token: u32,
    /// The residual stream at the position that chose it.
    pub reading: Reading,
    /// Steered side: the shadow's reading at the same context (steering off).
    pub unsteered: Option<Reading>,
    /// The union of the top [`TOP_K`] before and after, the chosen token included, most likely
    /// after first. The plain side has before = after.
    pub top: Vec<Shift>,
}

/// One step of both sides: a token, or why the side ended here; `None` once it has ended (its
/// end was reported once).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub plain: Option<Result<SideStep, Stop>>,
    pub steered: Option<Result<SideStep, Stop>>,
}

struct Side {
    seq: Sequence,
    /// The reading at the position whose logits the next choice reads.
    reading: Option<Reading>,
    ended: bool,
}

impl Side {
    /// Choose, with `before` the logits and reading without steering at the same context (the
    /// shadow's, for the steered side).
    fn choose(&mut self, before: Option<(&[f32], Reading)>) -> Option<Result<SideStep, Stop>> {
        if self.ended {
            return None;
        }
        let token = match self.seq.choose() {
            Ok(t) => t,
            Err(stop) => {
                self.ended = true;
                return Some(Err(stop));
            }
        };
        let after = self.seq.logits();
        let (before, unsteered) = match before {
            Some((logits, reading)) => (logits, Some(reading)),
            None => (after, None),
        };
        let top = top_shift(before, after, TOP_K, Some(token));
        let reading = self.reading.take().expect("a forward precedes every choice");
        Some(Ok(SideStep { token, reading, unsteered, top }))
    }
}

pub struct Compare<'m> {
    model: &'m Llama,
    steering: SteerPlan,
    /// What the steering's condition read from the prompt.
    gate: Option<GateReading>,
    none: Steering,
    probes: Probes,
    plain: Side,
    steered: Side,
    /// Runs the steered side's tokens without steering.
    shadow: Sequence,
    shadow_reading: Option<Reading>,
}

impl<'m> Compare<'m> {
    /// Both sides sample with `params` (the same seed) and end by `rule`.
    pub fn new(
        model: &'m Llama,
        steering: impl Into<SteerPlan>,
        probes: Probes,
        params: SamplingParams,
        rule: StopRule,
    ) -> Result<Self, SampleError> {
        let side = || -> Result<Side, SampleError> {
            let seq = Sequence::new(model, Sampler::new(params.clone())?, rule.clone());
            Ok(Side { seq, reading: None, ended: false })
        };
        Ok(Self {
            model,
            steering: steering.into(),
            gate: None,
            none: Steering::none(),
            probes,
            plain: side()?,
            steered: side()?,
            shadow: Sequence::follower(model),
            shadow_reading: None,
        })
    }

    /// Read the prompt on both sides.
    pub async fn prefill(&mut self, prompt: &[u32]) -> Result<(), ModelError> {
        for side in [&mut self.plain, &mut self.steered] {
            side.seq.forget();
            side.seq.start(prompt)?;
            side.ended = false;
        }
        let lens = [prompt.len(), prompt.len()];
        let mut probes = self.probes.hook(&lens);
        let plans = [&SteerPlan::default(), &self.steering];
        let seqs = &mut [&mut self.plain.seq, &mut self.steered.seq];
        // The probes read the first pass: on a steered side whose gate opened, the prompt's
        // last reading is from before the gated part (every reading after it has it).
        self.gate = gate::prefill(self.model, seqs, &plans, &mut probes).await?[1];
        let mut readings = probes.read().await?.into_iter();
        self.plain.reading = readings.next();
        self.steered.reading = readings.next();
        // The prompt is the same and unsteered on the plain side: the shadow starts from it.
        self.shadow = self.plain.seq.clone();
        self.shadow_reading = self.plain.reading.clone();
        Ok(())
    }

    /// What the steering's condition read from the prompt (`None` without a condition).
    pub fn gate(&self) -> Option<GateReading> {
        self.gate
    }

    /// Choose each side's next token; `None` once both have ended. Call [`Compare::prefill`]
    /// first.
    pub async fn step(&mut self) -> Result<Option<Step>, ModelError> {
        self.run_waiting().await?;
        if self.plain.ended && self.steered.ended {
            return Ok(None);
        }
        // Each side's sampling and likely-token lists are passes over the vocabulary: a
        // thread each.
        let shadow = self.shadow_reading.take().map(|r| (self.shadow.logits(), r));
        let (plain, steered) = (&mut self.plain, &mut self.steered);
        let (plain, steered) = parallel::join(|| plain.choose(None), || steered.choose(shadow));
        if let Some(Ok(s)) = &steered {
            self.shadow.follow(s.token);
        }
        Ok(Some(Step { plain, steered }))
    }

    /// Run the tokens chosen last step in one forward: plain's on its own sequence, steered's on
    /// its own (steered) and on the shadow (not).
    async fn run_waiting(&mut self) -> Result<(), ModelError> {
        let ready = |s: &Side| !s.ended && s.seq.stopped().is_none() && !s.seq.waiting().is_empty();
        let (plain, steered) = (ready(&self.plain), ready(&self.steered));
        let mut seqs: Vec<&mut Sequence> = Vec::with_capacity(3);
        let mut steerings = Vec::with_capacity(3);
        if plain {
            seqs.push(&mut self.plain.seq);
            steerings.push(&self.none);
        }
        if steered {
            steerings.extend([self.steering.for_reply(self.gate, self.steered.seq.chosen()), &self.none]);
            seqs.extend([&mut self.steered.seq, &mut self.shadow]);
        }
        if seqs.is_empty() {
            return Ok(());
        }
        let lens: Vec<usize> = seqs.iter().map(|s| s.waiting().len()).collect();
        let mut hook = (PerSequence { steerings, lens: lens.clone() }, self.probes.hook(&lens));
        advance(self.model, &mut seqs, &mut hook).await?;
        let mut readings = hook.1.read().await?.into_iter();
        if plain {
            self.plain.reading = readings.next();
        }
        if steered {
            self.steered.reading = readings.next();
            self.shadow_reading = readings.next();
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

/// ln Σ exp(x), around the row's maximum.
fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max as f64 + ops::sum_exp(logits, max).ln()
}

/// The `k` largest logits' ids, most likely first (ties: the lower id), in one pass that keeps
/// the best `k` so far: a step lists three rows of the whole vocabulary, and selecting over an
/// index array of it cost 0.25 ms a row.
fn top_k(logits: &[f32], k: usize) -> Vec<usize> {
    let better = |a: usize, b: usize| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)).is_gt();
    let mut best: Vec<usize> = Vec::with_capacity(k + 1);
    for i in 0..logits.len() {
        if best.len() == k && (k == 0 || !better(i, best[k - 1])) {
            continue;
        }
        let at = best.partition_point(|&b| better(b, i));
        best.insert(at, i);
        best.truncate(k);
    }
    best
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
    fn top_k_is_the_head_of_a_full_sort() {
        let mut s = 7u32;
        let logits: Vec<f32> = (0..5000)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 20) % 64) as f32 // many ties
            })
            .collect();
        let mut sorted: Vec<usize> = (0..logits.len()).collect();
        sorted.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        for k in [0, 1, 6, 40] {
            assert_eq!(top_k(&logits, k), sorted[..k], "k = {k}");
        }
        assert_eq!(top_k(&logits[..3], 6), sorted_head(&logits[..3]));
    }

    fn sorted_head(logits: &[f32]) -> Vec<usize> {
        let mut ids: Vec<usize> = (0..logits.len()).collect();
        ids.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        ids
    }

    #[test]
    fn no_steering_means_no_shift() {
        let logits = [0.5, -0.2, 2.0, 1.0];
        for s in top_shift(&logits, &logits, 2, None) {
            assert_eq!(s.before, s.after);
        }
    }
}
