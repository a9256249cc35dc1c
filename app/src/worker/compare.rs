//! The classroom comparison in the worker: the engine's [`Compare`] over the loaded model, its
//! steps turned into protocol messages as they come.

use tiller_engine::compare::{Compare, Shift, SideStep};
use tiller_engine::load::LoadedModel;
use tiller_engine::probe::Probes;
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::tokenizer::{StreamDecoder, Tokenizer};

use super::engine::{Control, Engine, Job, prompt_tokens, sampling_params};
use super::vectors;
use super::yield_now::yield_now;
use crate::protocol::{Candidate, Failure, GateReport, GenStats, Response, SideToken, StopReason};

/// Runs comparison `job` to its end, streaming `CompareStarted` and `CompareStep`s; returns each
/// side's stop reason and the timings.
pub async fn run(
    engine: &Engine,
    job: Job,
    control: &Control,
    reply: &dyn Fn(Response),
) -> Result<(StopReason, StopReason, GenStats), Failure> {
    let LoadedModel { model, tokenizer, stop_ids, .. } = &engine.loaded;
    let (n_layer, n_embd) = (model.config.n_layer, model.config.n_embd);
    // Everything taken from the concepts is copied out before the first await: a vector build
    // may add one meanwhile.
    let (steering, probes, concept_ids) = {
        let concepts = engine.concepts.borrow();
        let steering = vectors::steering(&concepts, &job.coefs, n_layer, n_embd, model.device())?;
        let directions: Vec<_> = concepts.iter().map(|c| c.probe_directions()).collect();
        let probes = Probes::new(&directions, n_layer, n_embd, model.device());
        (steering, probes, concepts.iter().map(|c| c.info.id.clone()).collect::<Vec<_>>())
    };
    let rule = StopRule::new(stop_ids, Some(job.sampling.max_tokens as usize));
    let mut compare = Compare::new(model, steering, probes, sampling_params(&job.sampling), rule)?;
    let tokens = prompt_tokens(engine, &job.messages)?;

    control.stop.set(false);
    let start = js_sys::Date::now();
    compare.prefill(&tokens).await?;
    reply(Response::CompareStarted {
        id: job.id,
        concepts: concept_ids,
        n_layer: n_layer as u32,
        prompt_tokens: tokens.len() as u32,
        gate: compare.gate().map(|g| GateReport { score: g.score, threshold: g.threshold }),
    });
    let mut stats = GenStats {
        prompt_tokens: tokens.len() as u32,
        prefilled_tokens: tokens.len() as u32,
        prefill_ms: js_sys::Date::now() - start,
        ..GenStats::default()
    };
    let decode_start = js_sys::Date::now();
    let mut sides = [SideState::new(), SideState::new()];
    let mut step = 0;
    loop {
        if control.stop.get() {
            sides.iter_mut().filter(|s| s.stop.is_none()).for_each(|s| s.stop = Some(StopReason::Stopped));
            break;
        }
        let Some(out) = compare.step().await? else { break };
        let plain = sides[0].token(out.plain, tokenizer);
        let steered = sides[1].token(out.steered, tokenizer);
        stats.generated_tokens += plain.is_some() as u32 + steered.is_some() as u32;
        stats.decode_ms = js_sys::Date::now() - decode_start;
        if plain.is_some() || steered.is_some() {
            reply(Response::CompareStep { id: job.id, step, plain, steered });
        }
        step += 1;
        yield_now().await;
    }
    let stop = |s: &SideState| s.stop.unwrap_or(StopReason::MaxTokens);
    Ok((stop(&sides[0]), stop(&sides[1]), stats))
}

struct SideState {
    decoder: StreamDecoder,
    /// Why the side ended, once it has.
    stop: Option<StopReason>,
}

impl SideState {
    fn new() -> Self {
        Self { decoder: StreamDecoder::new(), stop: None }
    }

    /// The message for this side's step; `None` when it ended here or before.
    fn token(&mut self, step: Option<Result<SideStep, Stop>>, tokenizer: &Tokenizer) -> Option<SideToken> {
        let step = match step? {
            Ok(step) => step,
            Err(end) => {
                self.stop = Some(end.into());
                return None;
            }
        };
        let token = step.token;
        Some(SideToken {
            token,
            piece: self.decoder.push(tokenizer, token),
            projections: optional(&step.reading.projections),
            norms: step.reading.norms,
            unsteered: step.unsteered.map(|r| optional(&r.projections)),
            top: step.top.iter().map(|s| candidate(s, tokenizer)).collect(),
        })
    }
}

/// NaN (no direction at that block) becomes `None`.
fn optional(values: &[f32]) -> Vec<Option<f32>> {
    values.iter().map(|&v| v.is_finite().then_some(v)).collect()
}

fn candidate(s: &Shift, tokenizer: &Tokenizer) -> Candidate {
    // Control tokens (the end of a turn) by name: decoding would drop them.
    let piece = if tokenizer.is_control(s.token) {
        tokenizer.token_text(s.token).unwrap_or_default().to_string()
    } else {
        tokenizer.decode(&[s.token])
    };
    Candidate { token: s.token, piece, before: s.before, after: s.after }
}
