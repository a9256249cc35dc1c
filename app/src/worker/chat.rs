//! A chat reply: the conversation through the session, streamed a piece of text at a time,
//! with Stop and steering changes taking effect between tokens.

use tiller_engine::load::LoadedModel;
use tiller_engine::sample::Sampler;
use tiller_engine::sequence::StopRule;
use tiller_engine::session::Session;
use tiller_engine::tokenizer::StreamDecoder;

use super::engine::{Control, Engine, Job, prompt_tokens, request_tokens, sampling_params};
use super::vectors;
use super::yield_now::yield_now;
use crate::protocol::{Coefs, Failure, GateReport, GenStats, Response, StopReason};

pub async fn run(
    engine: &Engine,
    session: &mut Session<'_>,
    job: Job,
    control: &Control,
    reply: &dyn Fn(Response),
) -> Result<(StopReason, GenStats), Failure> {
    let LoadedModel { model, tokenizer, stop_ids, .. } = &engine.loaded;
    let config = &model.config;
    let steer = |coefs: &Coefs| {
        vectors::steering(&engine.concepts.borrow(), coefs, config.n_layer, config.n_embd, model.device())
    };

    control.stop.set(false);
    *control.coefs.borrow_mut() = job.coefs.clone();
    let mut coefs_version = control.coefs_version.get();
    session.set_steering(steer(&job.coefs)?);
    let sampler = Sampler::new(sampling_params(&job.sampling))?;
    let rule = StopRule::new(stop_ids, Some(job.sampling.max_tokens as usize));

    let tokens = prompt_tokens(engine, &job.messages)?;
    let request = request_tokens(engine, &job.messages)?;

    let start = js_sys::Date::now();
    session.prefill_turn(&tokens, request.as_deref(), sampler, rule).await?;
    if let Some(g) = session.gate() {
        reply(Response::Gate { id: job.id, gate: GateReport { score: g.score, threshold: g.threshold } });
    }
    let mut stats = GenStats {
        prompt_tokens: tokens.len() as u32,
        prefilled_tokens: (tokens.len() - session.reused()) as u32,
        ..GenStats::default()
    };
    let mut first_token_at = start;
    let mut decoder = StreamDecoder::new();
    let stop = loop {
        if control.stop.get() {
            break StopReason::Stopped;
        }
        if control.coefs_version.get() != coefs_version {
            coefs_version = control.coefs_version.get();
            session.set_steering(steer(&control.coefs.borrow())?);
        }
        match session.step().await? {
            Ok(token) => {
                stats.generated_tokens += 1;
                if stats.generated_tokens == 1 {
                    first_token_at = js_sys::Date::now();
                    stats.prefill_ms = first_token_at - start;
                }
                stats.decode_ms = js_sys::Date::now() - first_token_at;
                let piece = decoder.push(tokenizer, token);
                if !piece.is_empty() {
                    reply(Response::Token { id: job.id, piece });
                }
            }
            Err(end) => break StopReason::from(end),
        }
        yield_now().await;
    };
    let rest = decoder.flush();
    if !rest.is_empty() {
        reply(Response::Token { id: job.id, piece: rest });
    }
    Ok((stop, stats))
}
