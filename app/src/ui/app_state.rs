//! Where the UI's states meet. Each state module (chat, steering, loader, compare, the vector
//! work) owns its signals and never imports another; this coordinator routes every worker
//! message to the states that follow it and owns the actions that change several of them at
//! once — a new model ends the reply and drops the vectors; `Ready` brings the new ones. Views
//! get it from Leptos context ([`use_app`]).

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::protocol::{BackendChoice, ModelSource, Request, Response};

use super::cache;
use super::chat::ChatState;
use super::compare::CompareState;
use super::dom::{absolute_url, download, webgpu_exposed};
use super::format::one_line;
use super::i18n::Msg;
use super::loader::{LoadState, LoadStatus};
use super::settings::SettingsState;
use super::steering::SteeringState;
use super::url_params::{DEFAULT_MODEL, UrlParams};
use super::user_vectors::VectorWork;
use super::worker_bridge::{Bridge, Engine};

/// The steering manifest, next to the page.
const VECTORS_MANIFEST: &str = "vectors/manifest.json";

/// Copying it shares every state and the one worker.
#[derive(Clone, Copy)]
pub struct AppState {
    pub load: LoadState,
    pub chat: ChatState,
    pub steering: SteeringState,
    /// Builds, imports and downloads of vectors.
    pub work: VectorWork,
    pub compare: CompareState,
    pub settings: SettingsState,
    pub bridge: Bridge,
}

/// The app state the page was given (see `ui::App`).
pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

impl AppState {
    /// The states of a page opened with `params`, and the worker whose messages they follow.
    pub fn start(params: &UrlParams) -> Self {
        let followers = Followers {
            load: LoadState::new(),
            chat: ChatState::new(),
            steering: SteeringState::new(),
            work: VectorWork::new(),
            compare: CompareState::new(params.prompt.clone()),
        };
        let engine = Engine::for_choice(params.backend, webgpu_exposed());
        let bridge = Bridge::spawn(engine, move |response: Response| followers.route(&response));
        let Followers { load, chat, steering, work, compare } = followers;
        Self { load, chat, steering, work, compare, settings: SettingsState::new(params), bridge }
    }

    /// Asks the worker for `source` on the chosen backend, replacing the loaded model.
    pub fn load(&self, source: ModelSource) {
        // The worker drops the model a reply would come from, so end the reply here; the
        // vectors belong to the old model.
        self.chat.abandon(self.bridge);
        self.steering.set_vectors(Vec::new(), None);
        let backend = self.settings.backend.get_untracked();
        if self.bridge.use_engine(Engine::for_choice(backend, webgpu_exposed())) {
            // The other build's worker ended with whatever vector work it had going.
            self.work.abandon();
        }
        self.load.start(&source);
        let vectors = absolute_url(VECTORS_MANIFEST).ok();
        self.bridge.send(Request::Load { source, backend, vectors });
    }

    /// `url` relative to the page, or absolute.
    pub fn load_url(&self, url: &str) {
        match absolute_url(url) {
            Ok(url) => self.load(ModelSource::Url { url }),
            Err(e) => self.load.show_error(Msg::new(move |t| (t.model.cannot_load)(&one_line(&e)))),
        }
    }

    pub fn load_default(&self) {
        self.load_url(DEFAULT_MODEL);
    }

    /// Whether the model last asked for is the default one (tracked).
    pub fn is_default_source(&self) -> bool {
        let default = absolute_url(DEFAULT_MODEL).ok();
        self.load.source.with(|s| matches!(s, Some(ModelSource::Url { url }) if Some(url) == default.as_ref()))
    }

    /// Reloads the last model (after a failure, or on another backend).
    pub fn reload(&self) {
        if let Some(source) = self.load.source.get_untracked() {
            self.load(source);
        }
    }

    pub fn set_backend(&self, choice: BackendChoice) {
        if self.settings.backend.get_untracked() != choice {
            self.settings.backend.set(choice);
            self.reload();
        }
    }

    /// Copies a picked or dropped file into the model cache, then loads it from there.
    pub fn load_file(&self, file: File) {
        let name = file.name();
        if !name.to_lowercase().ends_with(".gguf") {
            self.load.show_error(Msg::new(move |t| (t.model.not_gguf)(&one_line(&name))));
            return;
        }
        let key = match cache::user_model_key(&name) {
            Ok(key) => key,
            Err(e) => {
                let name = one_line(&name);
                return self.load.show_error(Msg::new(move |t| (t.model.cannot_use)(&name, &one_line(&e))));
            }
        };
        self.load.error.set(None);
        // Not ready from here on: the page is loading another model.
        let previous = self.load.status.get_untracked();
        self.load.status.set(LoadStatus::Storing { name: name.clone() });
        let this = *self;
        spawn_local(async move {
            match cache::store_file(&file, &key).await {
                Ok(()) => this.load(ModelSource::Cached { key, name }),
                Err(e) => {
                    // The worker never heard of this file: what it had loaded is still there.
                    if matches!(this.load.status.get_untracked(), LoadStatus::Storing { .. }) {
                        this.load.status.set(previous);
                    }
                    let name = one_line(&name);
                    this.load.show_error(Msg::new(move |t| (t.model.cannot_store)(&name, &one_line(&e))));
                }
            }
        });
    }
}

/// The states that follow the worker's messages.
#[derive(Clone, Copy)]
struct Followers {
    load: LoadState,
    chat: ChatState,
    steering: SteeringState,
    work: VectorWork,
    compare: CompareState,
}

impl Followers {
    /// One message to every state that follows it. The steering state takes a model's vectors
    /// before the load status says `Ready`, so nothing that waits for ready sees a model without
    /// them; every other state reads only its own messages, in any order.
    fn route(&self, response: &Response) {
        match response {
            Response::Ready { vectors, steering_note, .. } => {
                self.steering.set_vectors(vectors.clone(), steering_note.clone())
            }
            // The worker has no model any more.
            Response::LoadFailed { .. } | Response::Crashed { .. } => self.steering.set_vectors(Vec::new(), None),
            Response::VectorAdded(info) => self.steering.add(info),
            _ => {}
        }
        self.load.apply(response);
        self.chat.apply(response);
        self.compare.apply(response);
        if let Some((id, bytes)) = self.work.apply(response)
            && let Err(e) = download(&format!("{id}.gguf"), &bytes, "application/octet-stream")
        {
            let e = one_line(&e);
            self.work.export_error.set(Some(Msg::new(move |t| (t.vectors.save_failed)(&id, &e))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BackendInfo, Failure, ModelInfo, VectorInfo};

    fn followers() -> Followers {
        Followers {
            load: LoadState::new(),
            chat: ChatState::new(),
            steering: SteeringState::new(),
            work: VectorWork::new(),
            compare: CompareState::new(None),
        }
    }

    fn vector(id: &str) -> VectorInfo {
        VectorInfo {
            id: id.into(),
            label: id.into(),
            low: "−".into(),
            high: "+".into(),
            min: -1.0,
            max: 1.0,
            strength: 4.0,
            layers: (1, 2),
            origin: crate::protocol::VectorOrigin::Shipped { note: String::new() },
            gated: None,
        }
    }

    fn ready(vectors: Vec<VectorInfo>) -> Response {
        Response::Ready {
            model: ModelInfo { name: "m".into(), bytes: 1, n_layer: 30, n_embd: 576, n_ctx: 2048, from_cache: false },
            backend: BackendInfo { name: "CPU".into(), adapter: None, fallback_reason: None },
            vectors,
            steering_note: None,
            load_ms: 1.0,
        }
    }

    #[test]
    fn ready_brings_the_vectors_and_a_failure_takes_them() {
        let f = followers();
        f.route(&ready(vec![vector("sentiment")]));
        assert!(f.load.is_ready());
        assert_eq!(f.steering.vectors.get_untracked().len(), 1);
        f.route(&Response::VectorAdded(vector("mine")));
        f.route(&Response::VectorAdded(vector("mine")));
        let ids: Vec<String> = f.steering.vectors.get_untracked().into_iter().map(|v| v.id).collect();
        assert_eq!(ids, ["sentiment", "mine"], "a new vector joins once");
        f.route(&Response::LoadFailed { error: Failure::ModelFile { detail: "truncated".into() } });
        assert!(f.steering.vectors.get_untracked().is_empty());
        assert_eq!(f.load.status.get_untracked(), LoadStatus::Failed);
    }
}
