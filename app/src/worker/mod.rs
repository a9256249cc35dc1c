//! The inference worker: owns the engine, answers the UI's requests (see `protocol`).
//!
//! Loading runs as one task per Load (a newer Load supersedes it); generation runs in the task
//! that owns the loaded model (`engine::serve`). Stop and SetSteering only flip shared state,
//! which the generation loop reads between tokens.

mod backend;
mod engine;
mod fetch;
mod vectors;
mod yield_now;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use tiller_engine::gguf::Gguf;
use tiller_engine::load::LoadedModel;
use wasm_bindgen_futures::spawn_local;

use crate::protocol::{BackendChoice, ModelInfo, ModelSource, Phase, Request, Response};
use engine::{Control, Engine, Job};

/// Sends a response to the page.
type Reply = Rc<dyn Fn(Response)>;

pub struct EngineWorker {
    scope: WorkerScope<Self>,
    /// The bridge to answer; the page opens exactly one.
    client: Option<HandlerId>,
    jobs: Option<UnboundedSender<Job>>,
    control: Rc<Control>,
    /// Bumped by every Load, so a slower earlier load can tell it was superseded.
    load_generation: Rc<Cell<u64>>,
    /// Where the engine task hands its job sender back once a model is ready.
    ready_jobs: Rc<RefCell<Option<UnboundedSender<Job>>>>,
}

impl Worker for EngineWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(scope: &WorkerScope<Self>) -> Self {
        Self {
            scope: scope.clone(),
            client: None,
            jobs: None,
            control: Rc::default(),
            load_generation: Rc::default(),
            ready_jobs: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        if self.client != Some(id) {
            self.client = Some(id);
            install_crash_reporter(self.reply());
        }
        if let Some(jobs) = self.ready_jobs.borrow_mut().take() {
            self.jobs = Some(jobs);
        }
        match request {
            Request::Load { source, backend, vectors } => self.load(source, backend, vectors),
            Request::Generate { id, messages, sampling, coefs } => {
                let job = Job { id, messages, sampling, coefs };
                let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.unbounded_send(job).is_ok());
                if !sent {
                    self.reply()(Response::GenerateFailed { id, message: "no model is loaded yet".into() });
                }
            }
            Request::SetSteering { coefs } => {
                *self.control.coefs.borrow_mut() = coefs;
                self.control.coefs_version.set(self.control.coefs_version.get() + 1);
            }
            Request::Stop => self.control.stop.set(true),
        }
    }
}

impl EngineWorker {
    fn reply(&self) -> Reply {
        let scope = self.scope.clone();
        let client = self.client;
        Rc::new(move |response| {
            if let Some(id) = client {
                scope.respond(id, response);
            }
        })
    }

    fn load(&mut self, source: ModelSource, backend: BackendChoice, vectors: Option<String>) {
        // Drop the current model first: two 135M models in f32 need over a gigabyte.
        self.jobs = None;
        self.ready_jobs.borrow_mut().take();
        self.control.stop.set(true);
        let generation = self.load_generation.get() + 1;
        self.load_generation.set(generation);
        let current = self.load_generation.clone();
        let ready_jobs = self.ready_jobs.clone();
        let control = self.control.clone();
        let reply = self.reply();
        spawn_local(async move {
            let started = js_sys::Date::now();
            let loaded = load(&source, backend, vectors.as_deref(), reply.as_ref()).await;
            if current.get() != generation {
                return; // a newer Load won
            }
            match loaded {
                Ok((engine, ready)) => {
                    let (sender, receiver) = unbounded();
                    *ready_jobs.borrow_mut() = Some(sender);
                    let Response::Ready { model, backend, vectors, steering_note, .. } = ready else { unreachable!() };
                    let load_ms = js_sys::Date::now() - started;
                    reply(Response::Ready { model, backend, vectors, steering_note, load_ms });
                    engine::serve(engine, receiver, control, reply).await;
                }
                Err(message) => {
                    if let ModelSource::Cached { key, .. } = &source {
                        fetch::forget(key).await;
                    }
                    reply(Response::LoadFailed { message });
                }
            }
        });
    }
}

/// Fetch, parse, upload; the Ready it returns has load_ms still to fill in.
async fn load(
    source: &ModelSource,
    choice: BackendChoice,
    manifest: Option<&str>,
    reply: &dyn Fn(Response),
) -> Result<(Engine, Response), String> {
    let progress = |phase, done, total| reply(Response::Progress { phase, done, total });
    let mut fetched = fetch::model_bytes(source, &progress).await?;
    let selected = backend::select(choice).await?;

    progress(Phase::Parse, 0, None);
    yield_now::yield_now().await;
    let gguf = Gguf::parse(&fetched.bytes).map_err(|e| format!("not a usable GGUF file: {e}"))?;
    let general_name = gguf.get("general.name").and_then(|v| v.as_str()).map(str::to_string);
    let n_blocks = |done: usize, total: usize| progress(Phase::Upload, done as u64, Some(total as u64));
    let loaded = LoadedModel::from_gguf(&gguf, &selected.device, &mut { n_blocks })
        .map_err(|e| format!("cannot load this model: {e}"))?;
    drop(gguf);

    let (name, key) = match source {
        ModelSource::Url { url } => (url.rsplit('/').next().unwrap_or(url).to_string(), url.as_str()),
        ModelSource::Cached { key, name } => (name.clone(), key.as_str()),
    };
    let bytes = fetched.bytes.len() as u64;
    if !fetched.from_cache {
        fetch::store(key, &mut fetched.bytes).await;
    }
    drop(fetched.bytes);

    let config = &loaded.model.config;
    let (concepts, steering_note) = match manifest {
        None => (Vec::new(), Some("no steering manifest was given".to_string())),
        Some(url) => match vectors::load(url, general_name.as_deref(), config.n_embd, config.n_layer).await {
            Ok(concepts) => (concepts, None),
            Err(why) => (Vec::new(), Some(why)),
        },
    };
    let model = ModelInfo {
        name,
        bytes,
        n_layer: config.n_layer as u32,
        n_embd: config.n_embd as u32,
        n_ctx: config.n_ctx_train as u32,
        from_cache: fetched.from_cache,
    };
    let vectors = concepts.iter().map(|c| c.info.clone()).collect();
    let ready = Response::Ready { model, backend: selected.info, vectors, steering_note, load_ms: 0.0 };
    Ok((Engine { loaded, concepts }, ready))
}

thread_local! {
    static CRASH_REPORTER: RefCell<Option<Reply>> = const { RefCell::new(None) };
}

/// A panic in the engine (a bug, or a lost GPU device) must reach the page as a message rather
/// than a worker that silently stops answering.
fn install_crash_reporter(reply: Reply) {
    CRASH_REPORTER.with(|r| *r.borrow_mut() = Some(reply));
    std::panic::set_hook(Box::new(|info| {
        let message = format!("the engine stopped: {info}; reload the page or the model");
        web_sys::console::error_1(&message.clone().into());
        CRASH_REPORTER.with(|r| {
            if let Ok(r) = r.try_borrow()
                && let Some(reply) = r.as_ref()
            {
                reply(Response::Crashed { message });
            }
        });
    }));
}
