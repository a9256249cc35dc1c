//! One loaded model and its session, serving generation requests one at a time.
//!
//! The session borrows the model and keeps its KV cache between turns, so both live inside one
//! long-running task; requests reach it through a channel. Vector builds and imports share the
//! model (an `Rc`) from tasks of their own, interleaved with generation at its yields. Dropping
//! the sender and the worker's `Rc` ends the task and frees the model once any build has
//! noticed it was cancelled.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use tiller_engine::chat::Message;
use tiller_engine::load::LoadedModel;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::session::{Session, Stop};
use tiller_engine::tokenizer::StreamDecoder;

use super::compare;
use super::vectors::{self, Concept};
use super::yield_now::yield_now;
use crate::protocol::{ChatMessage, Coefs, GenStats, Response, Role, Sampling, StopReason};

pub struct Job {
    pub kind: JobKind,
    pub id: u64,
    pub messages: Vec<ChatMessage>,
    pub sampling: Sampling,
    pub coefs: Coefs,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// One reply, into the chat's session.
    Chat,
    /// The classroom comparison (see `super::compare`): its own caches, the session untouched.
    Compare,
}

/// What a message handler changes while a reply is being generated.
#[derive(Default)]
pub struct Control {
    pub stop: Cell<bool>,
    pub coefs: RefCell<Coefs>,
    /// Bumped by every SetSteering, so the loop rebuilds the steering only when it changed.
    pub coefs_version: Cell<u64>,
    /// A reply is being generated: vector builds wait between their chunks meanwhile, so that
    /// chat is not slowed to one token per chunk.
    pub generating: Cell<bool>,
}

pub struct Engine {
    pub loaded: LoadedModel,
    /// The built-in vectors, then those built or imported here, in the order they came.
    pub concepts: RefCell<Vec<Concept>>,
    /// Coefficient 1 of a built or imported vector = this × the mean residual norm of its blocks.
    pub relative_strength: f32,
    /// The model's mean residual norm after each block, measured once on a fixed text, for
    /// imported vectors that do not carry their own.
    pub residual_norms: RefCell<Option<Vec<f32>>>,
}

pub async fn serve(
    engine: Rc<Engine>,
    mut jobs: UnboundedReceiver<Job>,
    control: Rc<Control>,
    reply: Rc<dyn Fn(Response)>,
) {
    let mut session = Session::new(&engine.loaded.model);
    while let Some(job) = jobs.next().await {
        let id = job.id;
        control.generating.set(true);
        let response = match job.kind {
            JobKind::Chat => match generate(&engine, &mut session, job, &control, reply.as_ref()).await {
                Ok((stop, stats)) => Response::Done { id, stop, stats },
                Err(message) => Response::GenerateFailed { id, message },
            },
            JobKind::Compare => match compare::run(&engine, job, &control, reply.as_ref()).await {
                Ok((plain, steered, stats)) => Response::CompareDone { id, plain, steered, stats },
                Err(message) => Response::GenerateFailed { id, message },
            },
        };
        control.generating.set(false);
        reply(response);
    }
}

async fn generate(
    engine: &Engine,
    session: &mut Session<'_>,
    job: Job,
    control: &Control,
    reply: &dyn Fn(Response),
) -> Result<(StopReason, GenStats), String> {
    let LoadedModel { model, tokenizer, stop_ids, .. } = &engine.loaded;
    let config = &model.config;
    let steer = |coefs: &Coefs| {
        vectors::steering(&engine.concepts.borrow(), coefs, config.n_layer, config.n_embd, model.device())
    };

    control.stop.set(false);
    *control.coefs.borrow_mut() = job.coefs.clone();
    let mut coefs_version = control.coefs_version.get();
    session.set_steering(steer(&job.coefs)?);
    let mut sampler = Sampler::new(sampling_params(&job.sampling)).map_err(|e| e.to_string())?;

    let tokens = prompt_tokens(engine, &job.messages)?;

    let start = js_sys::Date::now();
    session.prefill(&tokens).await.map_err(|e| e.to_string())?;
    let mut stats = GenStats {
        prompt_tokens: tokens.len() as u32,
        prefilled_tokens: (tokens.len() - session.reused()) as u32,
        ..GenStats::default()
    };
    let mut first_token_at = start;
    let mut decoder = StreamDecoder::new();
    let mut stop = StopReason::MaxTokens;
    while stats.generated_tokens < job.sampling.max_tokens {
        if control.stop.get() {
            stop = StopReason::Stopped;
            break;
        }
        if control.coefs_version.get() != coefs_version {
            coefs_version = control.coefs_version.get();
            session.set_steering(steer(&control.coefs.borrow())?);
        }
        match session.step(&mut sampler, stop_ids, false).await.map_err(|e| e.to_string())? {
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
            Err(end) => {
                stop = match end {
                    Stop::EndOfGeneration => StopReason::EndOfGeneration,
                    Stop::MaxTokens => StopReason::MaxTokens,
                    Stop::ContextFull => StopReason::ContextFull,
                };
                break;
            }
        }
        yield_now().await;
    }
    let rest = decoder.flush();
    if !rest.is_empty() {
        reply(Response::Token { id: job.id, piece: rest });
    }
    Ok((stop, stats))
}

/// The conversation rendered with the model's chat template, ready for the assistant's turn.
pub fn prompt_tokens(engine: &Engine, messages: &[ChatMessage]) -> Result<Vec<u32>, String> {
    let messages: Vec<Message> = messages.iter().map(to_engine_message).collect();
    let prompt = engine.loaded.template.render(&messages, true).map_err(|e| e.to_string())?;
    Ok(engine.loaded.tokenizer.encode(&prompt, true))
}

pub fn sampling_params(s: &Sampling) -> SamplingParams {
    SamplingParams { temperature: s.temperature, top_p: s.top_p, seed: s.seed, ..SamplingParams::default() }
}

fn to_engine_message(m: &ChatMessage) -> Message {
    match m.role {
        Role::System => Message::system(m.content.clone()),
        Role::User => Message::user(m.content.clone()),
        Role::Assistant => Message::assistant(m.content.clone()),
    }
}
