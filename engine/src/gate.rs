//! Conditional steering at run time: what a sequence is steered with, and the one prefill that
//! reads a condition and opens its gate. The condition itself (a probe on one block's output at
//! the prompt's tail) is [`ConditionVector`].
//!
//! ```text
//! prefill with `always`; read the condition's block over the prompt's tail, unsteered
//!   ├─ score ≤ threshold ─► the reply runs with `always`
//!   └─ score > threshold ─► re-run the prompt (its last positions, or all of this turn's) with
//!                           `always + gated`; the reply runs with it (its first k tokens, or
//!                           all of them)
//! ```
//!
//! The prompt is re-run because its last position predicts the reply's first token, where a
//! dialogue model decides whether to refuse; the re-run costs a second forward of the prompt
//! (or of its tail), once a reply.
//!
//! The condition reads the stream as no slider has moved it, as its probe was fitted: a request
//! scores the same at any slider setting. When `always` adds nothing before the condition's
//! block, the prefill's own forward is read there; otherwise the request runs on its own,
//! unsteered, through that block only (for the shipped probe on block 15, about half a prefill
//! more).

use burn::tensor::{Device, Tensor};

use crate::concept::{ConceptError, ConditionVector, GateReading};
use crate::model::{Llama, ModelError, ResidualHook, read_f32};
use crate::sequence::{Sequence, advance};
use crate::steer::PerSequence;
use crate::steer::Steering;

/// What a sequence is steered with: `always` at every position, and, when the prompt opens the
/// gate, a gated part on top of it during the reply.
#[derive(Clone, Debug, Default)]
pub struct SteerPlan {
    always: Steering,
    gated: Option<Gated>,
}

#[derive(Clone, Debug)]
struct Gated {
    condition: ConditionVector,
    /// `always` plus the gated vectors, summed once.
    engaged: Steering,
}

impl From<Steering> for SteerPlan {
    fn from(always: Steering) -> Self {
        Self { always, gated: None }
    }
}

impl SteerPlan {
    /// `always` everywhere, and `gated` too where `condition` matches the prompt.
    pub fn gated(
        always: Steering,
        gated: &Steering,
        condition: ConditionVector,
        n_layer: usize,
        n_embd: usize,
        device: &Device,
    ) -> Result<Self, ConceptError> {
        condition.check(n_layer, n_embd)?;
        let engaged = always.plus(gated, device);
        Ok(Self { always, gated: Some(Gated { condition, engaged }) })
    }

    pub fn is_empty(&self) -> bool {
        self.always.is_empty() && self.gated.as_ref().is_none_or(|g| g.engaged.is_empty())
    }

    /// The condition that opens the gated part, if there is one.
    pub fn condition(&self) -> Option<&ConditionVector> {
        self.gated.as_ref().map(|g| &g.condition)
    }

    pub fn always(&self) -> &Steering {
        &self.always
    }

    /// How many of the last prompt positions an open gate runs again with the gated part, when
    /// this prefill runs `waiting` new ones after `cached` kept from earlier turns: the
    /// condition's `prompt_tokens`, or this turn's new positions (on a first turn, the whole
    /// prompt; later, earlier turns keep the keys and values they were made with, so a long
    /// chat is not run through the model again for every request).
    pub(crate) fn again(&self, reading: Option<GateReading>, waiting: usize, cached: usize) -> usize {
        match (&self.gated, reading) {
            (Some(g), Some(r)) if r.engaged() => g.condition.prompt_tokens.unwrap_or(waiting).min(cached + waiting),
            _ => 0,
        }
    }

    /// The steering for the forward of a reply's `nth` chosen token (1 = the first).
    pub(crate) fn for_reply(&self, reading: Option<GateReading>, nth: usize) -> &Steering {
        match (&self.gated, reading) {
            (Some(g), Some(r)) if r.engaged() && g.condition.reply_tokens.is_none_or(|k| nth <= k) => &g.engaged,
            _ => &self.always,
        }
    }
}

/// Run every sequence's waiting tokens (a prompt each) with its plan's `always`, read each
/// plan's condition over the last positions of its prompt, and re-run the tails of the prompts
/// whose gate opened with the gated steering. Returns each sequence's reading (`None` for a plan
/// without a condition). `extra` sees the first forward after the steering (a probe, say).
pub async fn prefill(
    model: &Llama,
    seqs: &mut [&mut Sequence],
    plans: &[&SteerPlan],
    extra: &mut dyn ResidualHook,
) -> Result<Vec<Option<GateReading>>, ModelError> {
    prefill_reading(model, seqs, plans, &vec![None; seqs.len()], extra).await
}

/// As [`prefill`], with each condition read from `requests[i]` on its own where one is given
/// (in a fresh forward: the latest request without the turns before it), else from the end of
/// the sequence's prompt: as the prompt runs when nothing of it is cached and no steering comes
/// before the condition's block, otherwise in a fresh, unsteered forward of the whole prompt (a
/// reply asked for again runs only its last token, too few for the tail).
pub async fn prefill_reading(
    model: &Llama,
    seqs: &mut [&mut Sequence],
    plans: &[&SteerPlan],
    requests: &[Option<&[u32]>],
    extra: &mut dyn ResidualHook,
) -> Result<Vec<Option<GateReading>>, ModelError> {
    assert_eq!(seqs.len(), plans.len(), "one plan per sequence");
    assert_eq!(seqs.len(), requests.len(), "one request (or none) per sequence");
    let lens: Vec<usize> = seqs.iter().map(|s| s.waiting().len()).collect();
    let cached: Vec<usize> = seqs.iter().map(|s| s.tokens().len()).collect();
    let whole: Vec<Option<Vec<u32>>> = seqs
        .iter()
        .zip(plans)
        .zip(requests)
        .map(|((s, p), r)| {
            let alone = p.condition().is_some_and(|c| !s.tokens().is_empty() || !reads_in_prefill(&p.always, c));
            (alone && r.is_none()).then(|| [s.tokens(), s.waiting()].concat())
        })
        .collect();
    let requests: Vec<Option<&[u32]>> = requests.iter().zip(&whole).map(|(r, w)| (*r).or(w.as_deref())).collect();
    let wants: Vec<Option<(usize, usize)>> = plans
        .iter()
        .zip(&lens)
        .zip(&requests)
        .map(|((p, &len), r)| p.condition().filter(|_| r.is_none()).map(|c| (c.layer, c.tail.min(len))))
        .collect();
    let mut capture = TailCapture { wants, lens: lens.clone(), got: seqs.iter().map(|_| None).collect() };
    let steer = PerSequence { steerings: plans.iter().map(|p| &p.always).collect(), lens: lens.clone() };
    advance(model, seqs, &mut (&mut capture, (steer, extra))).await?;

    let n_embd = model.config.n_embd;
    let mut readings = Vec::with_capacity(seqs.len());
    for ((plan, got), request) in plans.iter().zip(capture.got).zip(&requests) {
        readings.push(match (plan.condition(), got, request) {
            (Some(c), _, Some(request)) => Some(read_alone(model, request, c).await?),
            (Some(c), Some(rows), None) => Some(c.read(&crate::concept::tail_mean(&rows.read().await?, n_embd))),
            _ => None,
        });
    }

    let mut open: Vec<(&mut Sequence, &Steering)> = Vec::new();
    for (i, (seq, plan)) in seqs.iter_mut().zip(plans).enumerate() {
        let again = plan.again(readings[i], lens[i], cached[i]);
        if let Some(g) = plan.gated.as_ref().filter(|_| again > 0) {
            seq.rewind(again);
            open.push((&mut **seq, &g.engaged));
        }
    }
    if !open.is_empty() {
        let steer = PerSequence {
            steerings: open.iter().map(|(_, s)| *s).collect(),
            lens: open.iter().map(|(q, _)| q.waiting().len()).collect(),
        };
        let mut again: Vec<&mut Sequence> = open.into_iter().map(|(q, _)| q).collect();
        advance(model, &mut again, &mut { steer }).await?;
    }
    Ok(readings)
}

/// Whether the prefill's own forward can read `condition`: `always` adds nothing before its
/// block (what it adds after that block comes after the reading, see [`TailCapture`]).
fn reads_in_prefill(always: &Steering, condition: &ConditionVector) -> bool {
    always.first_block().is_none_or(|b| b >= condition.layer)
}

/// `condition` read from `request` in a forward of its own, unsteered and only as deep as its
/// block, so a reading depends neither on what the cache held nor on the sliders.
async fn read_alone(model: &Llama, request: &[u32], condition: &ConditionVector) -> Result<GateReading, ModelError> {
    let tail = condition.tail.min(request.len());
    let mut capture =
        TailCapture { wants: vec![Some((condition.layer, tail))], lens: vec![request.len()], got: vec![None] };
    model.read_blocks(request, condition.layer + 1, &mut capture)?;
    let rows = capture.got.pop().flatten().ok_or(ModelError::EmptyInput)?.read().await?;
    Ok(condition.read(&crate::concept::tail_mean(&rows, model.config.n_embd)))
}

/// The rows a condition reads, on the device or on the host (whichever path ran the forward).
enum Rows {
    Device(Box<Tensor<2>>),
    Host(Vec<f32>),
}

impl Rows {
    async fn read(self) -> Result<Vec<f32>, ModelError> {
        match self {
            Rows::Device(t) => read_f32(*t).await,
            Rows::Host(v) => Ok(v),
        }
    }
}

/// Keeps the last `tail` rows of each packed sequence at the block its condition reads, before
/// any steering is added there: the probe was fitted on unsteered block outputs.
struct TailCapture {
    /// Per sequence: (block, tail), or `None` to read nothing.
    wants: Vec<Option<(usize, usize)>>,
    lens: Vec<usize>,
    got: Vec<Option<Rows>>,
}

impl TailCapture {
    /// Per sequence wanting `layer`: (index, first row, row count) in the packed rows.
    fn spans(&self, layer: usize) -> Vec<(usize, usize, usize)> {
        let mut first = 0;
        let mut out = Vec::new();
        for (i, (want, &len)) in self.wants.iter().zip(&self.lens).enumerate() {
            if let Some((l, tail)) = *want
                && l == layer
            {
                out.push((i, first + len - tail, tail));
            }
            first += len;
        }
        out
    }
}

impl ResidualHook for TailCapture {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        for (i, start, n) in self.spans(layer) {
            self.got[i] = Some(Rows::Device(Box::new(x.clone().narrow(0, start, n))));
        }
        x
    }

    fn after_block_rows(&mut self, layer: usize, x: Vec<f32>, n_embd: usize, _device: &Device) -> Vec<f32> {
        for (i, start, n) in self.spans(layer) {
            self.got[i] = Some(Rows::Host(x[start * n_embd..(start + n) * n_embd].to_vec()));
        }
        x
    }
}
