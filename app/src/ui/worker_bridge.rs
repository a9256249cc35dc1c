//! The UI's end of the worker: spawns the engine's worker script, sends [`Request`]s and hands
//! each [`Response`] to a callback. Every message is also logged to the console for the
//! end-to-end tests and the benchmark (see the UI contract).
//!
//! There are two worker scripts, the same code built twice: `tiller-worker.js` runs the engine on
//! the CPU alone, and `tiller-worker-webgpu.js` adds burn-wgpu (about three times the download).
//! The backend choice picks one ([`Engine::for_choice`]); changing it may start the other.

use std::rc::Rc;

use gloo_worker::{HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use leptos::prelude::*;

use crate::protocol::{BackendChoice, Request, Response};

use super::dom::console_debug;
use super::offline::keep_engine;

/// Which build of the engine's worker a page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// burn-flex only.
    Cpu,
    /// burn-wgpu, with burn-flex as its fallback when the browser gives no adapter.
    WebGpu,
}

impl Engine {
    /// `Auto` takes the WebGPU build wherever the browser exposes `navigator.gpu`: only the worker
    /// can ask for an adapter, and it falls back to the CPU itself when none comes. Where there
    /// is no `navigator.gpu` the WebGPU build would only cost download.
    pub fn for_choice(choice: BackendChoice, gpu_exposed: bool) -> Self {
        match choice {
            BackendChoice::Cpu => Self::Cpu,
            BackendChoice::WebGpu => Self::WebGpu,
            BackendChoice::Auto if gpu_exposed => Self::WebGpu,
            BackendChoice::Auto => Self::Cpu,
        }
    }

    /// The script Trunk emits for this build's binary, next to the page.
    fn script(self) -> &'static str {
        match self {
            Self::Cpu => "./tiller-worker.js",
            Self::WebGpu => "./tiller-worker-webgpu.js",
        }
    }

    /// Its module, which the script fetches.
    fn wasm(self) -> &'static str {
        match self {
            Self::Cpu => "tiller-worker_bg.wasm",
            Self::WebGpu => "tiller-worker-webgpu_bg.wasm",
        }
    }
}

/// Stands for the engine worker on the UI side. gloo-worker types a bridge by the worker it talks
/// to, but the UI build deliberately leaves the engine out, so this marker only carries the
/// message types. Its methods run inside a worker, never here: the real workers register their
/// own type with the same `Input` and `Output`, and bincode on those is all the two sides share.
pub struct EngineBridge;

impl Worker for EngineBridge {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Input, _id: HandlerId) {}
}

/// A handle on the running worker; copying it shares the one worker.
#[derive(Clone, Copy)]
pub struct Bridge {
    inner: StoredValue<Running, LocalStorage>,
}

struct Running {
    engine: Engine,
    // The bridge must stay alive: dropping it disconnects the callback and ends the worker.
    bridge: WorkerBridge<EngineBridge>,
    on_response: Rc<dyn Fn(Response)>,
}

impl Bridge {
    /// Starts `engine`'s worker; `on_response` runs on the UI thread for each message it sends
    /// back. Requests sent before the worker has started wait in gloo's queue.
    pub fn spawn(engine: Engine, on_response: impl Fn(Response) + 'static) -> Self {
        let on_response: Rc<dyn Fn(Response)> = Rc::new(on_response);
        let bridge = start(engine, on_response.clone());
        Self { inner: StoredValue::new_local(Running { engine, bridge, on_response }) }
    }

    /// Makes `engine`'s worker the one requests go to, ending the other build's worker (and all
    /// it held) if that one was running. Returns whether it switched.
    pub fn use_engine(&self, engine: Engine) -> bool {
        let mut switched = false;
        self.inner.update_value(|running| {
            if running.engine != engine {
                running.bridge = start(engine, running.on_response.clone());
                running.engine = engine;
                switched = true;
            }
        });
        switched
    }

    pub fn send(&self, request: Request) {
        log("tiller:request", &request);
        // The bridge lives as long as the app; were it gone, there is no one left to tell.
        let _ = self.inner.try_with_value(|running| running.bridge.send(request));
    }
}

fn start(engine: Engine, on_response: Rc<dyn Fn(Response)>) -> WorkerBridge<EngineBridge> {
    console_debug(&format!("tiller:engine {}", engine.script()));
    keep_engine(engine.wasm());
    EngineBridge::spawner()
        .callback(move |response: Response| {
            log_response(&response);
            on_response(response);
        })
        .spawn(engine.script())
}

fn log_response(response: &Response) {
    // Tokens and progress come by the hundred; the tests need only the outcomes, and the
    // benchmark the start of each load phase (to say where a load's time goes).
    let skip = match response {
        Response::Token { .. } => true,
        Response::Progress { done, .. } => *done != 0,
        _ => false,
    };
    if !skip {
        log("tiller:response", response);
    }
}

fn log(tag: &str, message: &impl serde::Serialize) {
    match serde_json::to_value(message) {
        Ok(json) => console_debug(&format!("{tag} {}", elide_bytes(json))),
        Err(e) => console_debug(&format!("{tag} (not serializable: {e})")),
    }
}

/// File contents (ImportVector, VectorBytes) logged as their length: `"bytes": {"len": N}`.
fn elide_bytes(mut json: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = json.as_object_mut().and_then(|o| o.values_mut().next()).and_then(|v| v.as_object_mut())
        && let Some(bytes) = fields.get_mut("bytes")
        && let Some(len) = bytes.as_array().map(Vec::len)
    {
        *bytes = serde_json::json!({ "len": len });
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_bytes_are_logged_as_their_length() {
        let request = Request::ImportVector { id: "v".into(), name: "v.gguf".into(), bytes: vec![1, 2, 3] };
        let json = elide_bytes(serde_json::to_value(&request).unwrap());
        assert_eq!(json, serde_json::json!({"ImportVector": {"id": "v", "name": "v.gguf", "bytes": {"len": 3}}}));
        let stop = elide_bytes(serde_json::to_value(Request::Stop).unwrap());
        assert_eq!(stop, serde_json::json!("Stop"));
    }

    #[test]
    fn only_a_page_that_can_use_webgpu_loads_its_engine() {
        assert_eq!(Engine::for_choice(BackendChoice::Cpu, true), Engine::Cpu);
        assert_eq!(Engine::for_choice(BackendChoice::WebGpu, false), Engine::WebGpu, "asked for, it says why not");
        assert_eq!(Engine::for_choice(BackendChoice::Auto, true), Engine::WebGpu);
        assert_eq!(Engine::for_choice(BackendChoice::Auto, false), Engine::Cpu);
        for engine in [Engine::Cpu, Engine::WebGpu] {
            let name = engine.script().trim_start_matches("./").trim_end_matches(".js");
            assert_eq!(engine.wasm(), format!("{name}_bg.wasm"), "the module Trunk writes beside the script");
        }
    }
}
