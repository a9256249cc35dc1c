//! What the worker is doing about models: the status of the load in flight or done, the last
//! error, and the source last asked for. The actions that start a load change other states too
//! (a new model ends the reply and drops the vectors), so they live in [`super::app_state`].

use leptos::prelude::*;

use crate::protocol::{ModelSource, Response};

use super::format::one_line;
use super::i18n::Msg;
pub use super::load_status::LoadStatus;

/// Copying it shares the same signals.
#[derive(Clone, Copy)]
pub struct LoadState {
    pub status: RwSignal<LoadStatus>,
    /// One line for the user when loading failed, or a picked file could not be used (then an
    /// earlier model may still be loaded).
    pub error: RwSignal<Option<Msg>>,
    /// The model last asked for; reloaded when the backend changes.
    pub source: RwSignal<Option<ModelSource>>,
}

impl LoadState {
    pub fn new() -> Self {
        Self { status: RwSignal::new(LoadStatus::Idle), error: RwSignal::new(None), source: RwSignal::new(None) }
    }

    /// Whether a model is loaded (tracked).
    pub fn is_ready(&self) -> bool {
        self.status.with(|s| matches!(s, LoadStatus::Ready { .. }))
    }

    /// Follows the worker's loading messages; ignores the others.
    pub fn apply(&self, response: &Response) {
        match response {
            Response::Progress { phase, done, total } => {
                self.status.set(LoadStatus::Loading { phase: *phase, done: *done, total: *total })
            }
            Response::Ready { model, backend, load_ms, .. } => {
                self.error.set(None);
                self.status.set(LoadStatus::Ready {
                    model: model.clone(),
                    backend: backend.clone(),
                    load_ms: *load_ms,
                });
            }
            Response::LoadFailed { error } => {
                let error = error.clone();
                self.fail(Msg::new(move |t| (t.model.load_failed_with)(&(t.failure.failure)(&error))));
            }
            Response::Crashed { message } => {
                let message = one_line(message);
                self.fail(Msg::new(move |t| (t.model.crashed)(&message)));
            }
            _ => {}
        }
    }

    /// A load of `source` was asked for.
    pub fn start(&self, source: &ModelSource) {
        self.error.set(None);
        let cached = matches!(source, ModelSource::Cached { .. });
        self.status.set(LoadStatus::Starting { cached });
        self.source.set(Some(source.clone()));
    }

    /// The worker has no model any more.
    fn fail(&self, message: Msg) {
        self.error.set(Some(message));
        self.status.set(LoadStatus::Failed);
    }

    /// Shows a problem the UI found itself (already on one line); the loaded model, if any, stays.
    pub fn show_error(&self, message: Msg) {
        self.error.set(Some(message));
    }
}
