//! Loading models: what the worker is doing, the requests that start a load, and the picked
//! files that go through the browser cache first.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::protocol::{BackendChoice, BackendInfo, ModelInfo, ModelSource, Phase, Request, Response};

use super::cache;
use super::chat::ChatState;
use super::dom::absolute_url;
use super::format::one_line;
use super::i18n::Msg;
use super::steering::SteeringState;
use super::url_params::DEFAULT_MODEL;
use super::worker_bridge::Bridge;

/// The steering manifest, next to the page.
const VECTORS_MANIFEST: &str = "vectors/manifest.json";

#[derive(Debug, Clone, PartialEq)]
pub enum LoadStatus {
    /// Nothing asked for yet.
    Idle,
    /// A picked file being copied into the browser cache before it is loaded.
    Storing {
        name: String,
    },
    /// Asked for; no progress report yet. `cached`: a picked file, read back from the cache.
    Starting {
        cached: bool,
    },
    Loading {
        phase: Phase,
        done: u64,
        total: Option<u64>,
    },
    Ready {
        model: ModelInfo,
        backend: BackendInfo,
        load_ms: f64,
    },
    /// The worker could not load the model, or crashed (the reason is in `LoadState::error`); no
    /// model is loaded.
    Failed,
}

impl LoadStatus {
    pub fn is_loading(&self) -> bool {
        matches!(self, Self::Storing { .. } | Self::Starting { .. } | Self::Loading { .. })
    }
}

/// What the worker is doing about models. Copying it shares the same signals.
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

    /// Follows the worker's loading messages (a new model's vectors go to `steering`); ignores
    /// the others.
    pub fn apply(&self, response: &Response, steering: SteeringState) {
        match response {
            Response::Progress { phase, done, total } => {
                self.status.set(LoadStatus::Loading { phase: *phase, done: *done, total: *total })
            }
            Response::Ready { model, backend, vectors, steering_note, load_ms } => {
                steering.set_vectors(vectors.clone(), steering_note.clone());
                self.error.set(None);
                self.status.set(LoadStatus::Ready {
                    model: model.clone(),
                    backend: backend.clone(),
                    load_ms: *load_ms,
                });
            }
            Response::LoadFailed { message } => {
                let message = one_line(message);
                self.fail(
                    if message.is_empty() {
                        Msg::new(|t| t.model.load_failed.into())
                    } else {
                        Msg::new(move |t| (t.model.load_failed_with)(&message))
                    },
                    steering,
                );
            }
            Response::Crashed { message } => {
                let message = one_line(message);
                self.fail(Msg::new(move |t| (t.model.crashed)(&message)), steering);
            }
            Response::Token { .. }
            | Response::Done { .. }
            | Response::GenerateFailed { .. }
            | Response::BuildProgress { .. }
            | Response::VectorAdded(_)
            | Response::VectorBytes { .. }
            | Response::VectorFailed { .. }
            | Response::CompareStarted { .. }
            | Response::CompareStep { .. }
            | Response::CompareDone { .. } => {}
        }
    }

    /// The worker has no model any more.
    fn fail(&self, message: Msg, steering: SteeringState) {
        steering.set_vectors(Vec::new(), None);
        self.error.set(Some(message));
        self.status.set(LoadStatus::Failed);
    }
}

/// The actions that load models, on top of [`LoadState`]. Copying it shares the same state.
#[derive(Clone, Copy)]
pub struct Loader {
    pub state: LoadState,
    backend: RwSignal<BackendChoice>,
    bridge: Bridge,
    chat: ChatState,
    steering: SteeringState,
}

impl Loader {
    pub fn new(
        state: LoadState,
        bridge: Bridge,
        backend: RwSignal<BackendChoice>,
        chat: ChatState,
        steering: SteeringState,
    ) -> Self {
        Self { state, backend, bridge, chat, steering }
    }

    /// Whether a model is loaded and idle enough to generate (tracked).
    pub fn is_ready(&self) -> bool {
        self.state.status.with(|s| matches!(s, LoadStatus::Ready { .. }))
    }

    /// Asks the worker for `source` on the chosen backend, replacing the loaded model.
    pub fn load(&self, source: ModelSource) {
        // The worker drops the model a reply would come from, so end the reply here.
        self.chat.abandon(self.bridge);
        self.steering.set_vectors(Vec::new(), None);
        self.state.error.set(None);
        let cached = matches!(source, ModelSource::Cached { .. });
        self.state.status.set(LoadStatus::Starting { cached });
        self.state.source.set(Some(source.clone()));
        let vectors = absolute_url(VECTORS_MANIFEST).ok();
        self.bridge.send(Request::Load { source, backend: self.backend.get_untracked(), vectors });
    }

    /// `url` relative to the page, or absolute.
    pub fn load_url(&self, url: &str) {
        match absolute_url(url) {
            Ok(url) => self.load(ModelSource::Url { url }),
            Err(e) => self.show_error(Msg::new(move |t| (t.model.cannot_load)(&one_line(&e)))),
        }
    }

    pub fn load_default(&self) {
        self.load_url(DEFAULT_MODEL);
    }

    /// Whether the model last asked for is the default one (tracked).
    pub fn is_default_source(&self) -> bool {
        let default = absolute_url(DEFAULT_MODEL).ok();
        self.state.source.with(|s| matches!(s, Some(ModelSource::Url { url }) if Some(url) == default.as_ref()))
    }

    /// Reloads the last model (after a failure, or on another backend).
    pub fn reload(&self) {
        if let Some(source) = self.state.source.get_untracked() {
            self.load(source);
        }
    }

    pub fn set_backend(&self, choice: BackendChoice) {
        if self.backend.get_untracked() != choice {
            self.backend.set(choice);
            self.reload();
        }
    }

    /// Copies a picked or dropped file into the model cache, then loads it from there.
    pub fn load_file(&self, file: File) {
        let name = file.name();
        if !name.to_lowercase().ends_with(".gguf") {
            self.show_error(Msg::new(move |t| (t.model.not_gguf)(&one_line(&name))));
            return;
        }
        let key = match cache::user_model_key(&name) {
            Ok(key) => key,
            Err(e) => {
                let name = one_line(&name);
                return self.show_error(Msg::new(move |t| (t.model.cannot_use)(&name, &one_line(&e))));
            }
        };
        self.state.error.set(None);
        // Not ready from here on: the page is loading another model.
        let previous = self.state.status.get_untracked();
        self.state.status.set(LoadStatus::Storing { name: name.clone() });
        let this = *self;
        spawn_local(async move {
            match cache::store_file(&file, &key).await {
                Ok(()) => this.load(ModelSource::Cached { key, name }),
                Err(e) => {
                    // The worker never heard of this file: what it had loaded is still there.
                    if matches!(this.state.status.get_untracked(), LoadStatus::Storing { .. }) {
                        this.state.status.set(previous);
                    }
                    let name = one_line(&name);
                    this.show_error(Msg::new(move |t| (t.model.cannot_store)(&name, &one_line(&e))));
                }
            }
        });
    }

    /// Shows a problem the UI found itself (already on one line); the loaded model, if any, stays.
    pub fn show_error(&self, message: Msg) {
        self.state.error.set(Some(message));
    }
}
