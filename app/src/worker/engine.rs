//! What the worker holds while a model is loaded: the model and its vectors, the state a message
//! handler changes while a reply runs, and the job a generation request becomes.

use std::cell::{Cell, RefCell};

use tiller_engine::chat::Message;
use tiller_engine::load::LoadedModel;
use tiller_engine::sample::SamplingParams;
use tiller_engine::sequence::Stop;

use super::vectors::Concept;
use crate::protocol::{ChatMessage, Coefs, Failure, Role, Sampling, StopReason};

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

/// The conversation rendered with the model's chat template, ready for the assistant's turn.
pub fn prompt_tokens(engine: &Engine, messages: &[ChatMessage]) -> Result<Vec<u32>, Failure> {
    encode(engine, &messages.iter().map(to_engine_message).collect::<Vec<_>>())
}

/// The latest request on its own (system prompt and last user message), which the safety gate
/// reads; `None` when the conversation is that request already.
pub fn request_tokens(engine: &Engine, messages: &[ChatMessage]) -> Result<Option<Vec<u32>>, Failure> {
    let messages: Vec<Message> = messages.iter().map(to_engine_message).collect();
    tiller_engine::chat::latest_request(&messages).map(|request| encode(engine, &request)).transpose()
}

/// Messages rendered by the model's template, ready for the assistant's reply, as tokens.
fn encode(engine: &Engine, messages: &[Message]) -> Result<Vec<u32>, Failure> {
    engine.loaded.prompt(messages).map_err(|e| Failure::Engine { detail: e.to_string() })
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

impl From<Stop> for StopReason {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::EndOfGeneration => StopReason::EndOfGeneration,
            Stop::MaxTokens => StopReason::MaxTokens,
            Stop::ContextFull => StopReason::ContextFull,
        }
    }
}
