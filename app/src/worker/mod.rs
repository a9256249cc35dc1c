//! The inference worker: owns the engine, answers the UI's requests (see `protocol`).
//!
//! Loading runs as one task per Load (a newer Load supersedes it); generation runs in the task
//! that owns the loaded model (`jobs::serve`). Stop and SetSteering only flip shared state,
//! which the generation loop reads between tokens. Each vector build or import is a task of its
//! own on the shared engine; a Load cancels the builds of the model it replaces.

mod backend;
mod chat;
mod compare;
mod engine;
mod failure;
mod fetch;
mod jobs;
mod user_vectors;
mod vectors;
mod yield_now;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use tiller_engine::gguf::{Gguf, SharedBytes};
use tiller_engine::load::LoadedModel;
use wasm_bindgen_futures::spawn_local;

use crate::protocol::{BackendChoice, Failure, ModelInfo, ModelSource, Phase, Request, Response};
use engine::{Control, Engine, Job, JobKind};
use user_vectors::{BuildSpec, Cancel};

/// Sends a response to the page.
type Reply = Rc<dyn Fn(Response)>;

/// A loaded model's job queue and engine, on their way from the load task to the worker.
type Ready = (UnboundedSender<Job>, Rc<Engine>);

pub struct EngineWorker {
    scope: WorkerScope<Self>,
    /// The bridge to answer; the page opens exactly one.
    client: Option<HandlerId>,
    jobs: Option<UnboundedSender<Job>>,
    /// The loaded model, shared with vector builds and imports.
    engine: Option<Rc<Engine>>,
    control: Rc<Control>,
    /// Bumped by every Load, so a slower earlier load can tell it was superseded.
    load_generation: Rc<Cell<u64>>,
    /// Where the load task hands its job sender and engine back once a model is ready.
    ready_jobs: Rc<RefCell<Option<Ready>>>,
    /// Vector builds and imports in flight, by vector id, with what cancels them.
    builds: Rc<RefCell<BTreeMap<String, Cancel>>>,
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
            engine: None,
            control: Rc::default(),
            load_generation: Rc::default(),
            ready_jobs: Rc::default(),
            builds: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        if self.client != Some(id) {
            self.client = Some(id);
            install_crash_reporter(self.reply());
        }
        if let Some((jobs, engine)) = self.ready_jobs.borrow_mut().take() {
            self.jobs = Some(jobs);
            self.engine = Some(engine);
        }
        match request {
            Request::Load { source, backend, vectors } => self.load(source, backend, vectors),
            Request::Generate { id, messages, sampling, coefs } => {
                self.submit(Job { kind: JobKind::Chat, id, messages, sampling, coefs });
            }
            Request::Compare { id, messages, sampling, coefs } => {
                self.submit(Job { kind: JobKind::Compare, id, messages, sampling, coefs });
            }
            Request::SetSteering { coefs } => {
                *self.control.coefs.borrow_mut() = coefs;
                self.control.coefs_version.set(self.control.coefs_version.get() + 1);
            }
            Request::Stop => self.control.stop.set(true),
            Request::BuildVector { id, label, low, high, pairs, method, layers } => {
                let spec = BuildSpec { id, label, low, high, pairs, method, layers };
                self.build(spec);
            }
            Request::CancelBuild { id } => {
                if let Some(cancel) = self.builds.borrow().get(&id) {
                    cancel.set(true);
                }
            }
            Request::ImportVector { id, name, bytes } => self.import(id, name, bytes),
            Request::ExportVector { id } => {
                let response = match &self.engine {
                    Some(engine) => match user_vectors::export(engine, &id) {
                        Ok(bytes) => Response::VectorBytes { id, bytes },
                        Err(error) => Response::ExportFailed { id, error },
                    },
                    None => Response::ExportFailed { id, error: Failure::NoModel },
                };
                self.reply()(response);
            }
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

    /// Queue a reply or comparison for the task that owns the model.
    fn submit(&self, job: Job) {
        let (id, kind) = (job.id, job.kind);
        let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.unbounded_send(job).is_ok());
        if !sent {
            let error = Failure::NoModel;
            self.reply()(match kind {
                JobKind::Chat => Response::GenerateFailed { id, error },
                JobKind::Compare => Response::CompareFailed { id, error },
            });
        }
    }

    /// The engine for a build or import, registered under `id` with its cancel flag; `Err` when
    /// there is no model or `id` is taken.
    fn start_task(&self, id: &str) -> Result<(Rc<Engine>, Cancel), Failure> {
        let engine = self.engine.clone().ok_or(Failure::NoModel)?;
        if self.builds.borrow().contains_key(id) {
            return Err(Failure::VectorNameTaken { id: id.to_string() });
        }
        let cancel: Cancel = Rc::default();
        self.builds.borrow_mut().insert(id.to_string(), cancel.clone());
        Ok((engine, cancel))
    }

    fn build(&self, spec: BuildSpec) {
        let id = spec.id.clone();
        let (engine, cancel) = match self.start_task(&id) {
            Ok(task) => task,
            Err(error) => return self.reply()(Response::BuildFailed { id, error }),
        };
        let (builds, reply, control) = (self.builds.clone(), self.reply(), self.control.clone());
        spawn_local(async move {
            let result = user_vectors::build(&engine, spec, &cancel, &control, reply.as_ref()).await;
            drop(engine);
            forget_task(&builds, &id, &cancel);
            reply(match result {
                Ok(info) => Response::VectorAdded(info),
                Err(error) => Response::BuildFailed { id, error },
            });
        });
    }

    fn import(&self, id: String, name: String, bytes: Vec<u8>) {
        let (engine, cancel) = match self.start_task(&id) {
            Ok(task) => task,
            Err(error) => return self.reply()(Response::ImportFailed { id, error }),
        };
        let (builds, reply) = (self.builds.clone(), self.reply());
        spawn_local(async move {
            let result = user_vectors::import(&engine, id.clone(), name, bytes).await;
            drop(engine);
            forget_task(&builds, &id, &cancel);
            reply(match (result, cancel.get()) {
                // The model it was attached to is gone.
                (Ok(_), true) => Response::ImportFailed { id, error: Failure::Cancelled },
                (Ok(info), false) => Response::VectorAdded(info),
                (Err(error), _) => Response::ImportFailed { id, error },
            });
        });
    }

    fn load(&mut self, source: ModelSource, backend: BackendChoice, vectors: Option<String>) {
        // Drop the current model first: two 135M models in f32 need over a gigabyte. Builds on it
        // stop at their next chunk.
        self.jobs = None;
        self.engine = None;
        self.ready_jobs.borrow_mut().take();
        for cancel in std::mem::take(&mut *self.builds.borrow_mut()).into_values() {
            cancel.set(true);
        }
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
                    let engine = Rc::new(engine);
                    *ready_jobs.borrow_mut() = Some((sender, engine.clone()));
                    let Response::Ready { model, backend, vectors, steering_note, .. } = ready else { unreachable!() };
                    let load_ms = js_sys::Date::now() - started;
                    reply(Response::Ready { model, backend, vectors, steering_note, load_ms });
                    jobs::serve(engine, receiver, control, reply).await;
                }
                Err(error) => {
                    if let ModelSource::Cached { key, .. } = &source {
                        fetch::forget(key).await;
                    }
                    reply(Response::LoadFailed { error });
                }
            }
        });
    }
}

/// Unregister a finished build or import, unless a Load already did (and a newer task took the id).
fn forget_task(builds: &RefCell<BTreeMap<String, Cancel>>, id: &str, cancel: &Cancel) {
    let mut builds = builds.borrow_mut();
    if builds.get(id).is_some_and(|c| Rc::ptr_eq(c, cancel)) {
        builds.remove(id);
    }
}

/// Fetch, parse, upload; the Ready it returns has load_ms still to fill in.
async fn load(
    source: &ModelSource,
    choice: BackendChoice,
    manifest: Option<&str>,
    reply: &dyn Fn(Response),
) -> Result<(Engine, Response), Failure> {
    let progress = |phase, done, total| reply(Response::Progress { phase, done, total });
    let fetched = fetch::model_bytes(source, &progress).await?;
    let selected = backend::select(choice).await?;

    progress(Phase::Parse, 0, None);
    yield_now::yield_now().await;
    // The model's packed weights stay in these bytes: wasm memory holds the file once.
    let file = SharedBytes::from(fetched.bytes);
    let parsed = Gguf::parse_shared(&file).map_err(|e| Failure::ModelFile { detail: e.to_string() }).and_then(|gguf| {
        let general_name = gguf.get("general.name").and_then(|v| v.as_str()).map(str::to_string);
        let n_blocks = |done: usize, total: usize| progress(Phase::Upload, done as u64, Some(total as u64));
        let loaded = LoadedModel::from_gguf(&gguf, &selected.device, &mut { n_blocks })?;
        Ok((loaded, general_name))
    });
    if let Some(storing) = fetched.storing {
        storing.finish(parsed.is_ok()).await;
    }
    let (loaded, general_name) = parsed?;

    let name = match source {
        ModelSource::Url { url } => url.rsplit('/').next().unwrap_or(url).to_string(),
        ModelSource::Cached { name, .. } => name.clone(),
    };
    let bytes = file.len() as u64;
    drop(file);

    let config = &loaded.model.config;
    let builtins = match manifest {
        None => vectors::Builtins {
            concepts: Err(Failure::NoManifest),
            relative_strength: tiller_engine::manifest::DEFAULT_RELATIVE_STRENGTH,
        },
        Some(url) => vectors::load(url, general_name.as_deref(), config.n_embd, config.n_layer).await,
    };
    let (concepts, steering_note) = match builtins.concepts {
        Ok(concepts) => (concepts, None),
        Err(why) => (Vec::new(), Some(why)),
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
    let engine = Engine {
        loaded,
        concepts: RefCell::new(concepts),
        relative_strength: builtins.relative_strength,
        residual_norms: RefCell::new(None),
    };
    Ok((engine, ready))
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
