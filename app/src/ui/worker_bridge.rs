//! The UI's end of the worker: spawns `tiller-worker.js`, sends [`Request`]s and hands each
//! [`Response`] to a callback. Every message is also logged to the console for the end-to-end
//! tests and the benchmark (see the UI contract).

use gloo_worker::{HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use leptos::prelude::*;

use crate::protocol::{Request, Response};

use super::dom::console_debug;

/// The script Trunk emits for the worker binary, next to the page.
const WORKER_SCRIPT: &str = "./tiller-worker.js";

/// Stands for the engine worker on the UI side. gloo-worker types a bridge by the worker it talks
/// to, but the UI build deliberately leaves the engine out, so this marker only carries the
/// message types. Its methods run inside a worker, never here: the real worker
/// (`tiller-worker`) registers its own type with the same `Input` and `Output`, and bincode on
/// those is all the two sides share.
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

/// A handle on the spawned worker; copying it shares the one worker.
#[derive(Clone, Copy)]
pub struct Bridge {
    // The bridge must stay alive: dropping it disconnects the callback and ends the worker.
    inner: StoredValue<WorkerBridge<EngineBridge>, LocalStorage>,
}

impl Bridge {
    /// Starts the worker; `on_response` runs on the UI thread for each message it sends back.
    /// Requests sent before the worker has started wait in gloo's queue.
    pub fn spawn(on_response: impl Fn(Response) + 'static) -> Self {
        let bridge = EngineBridge::spawner()
            .callback(move |response: Response| {
                log_response(&response);
                on_response(response);
            })
            .spawn(WORKER_SCRIPT);
        Self { inner: StoredValue::new_local(bridge) }
    }

    pub fn send(&self, request: Request) {
        log("tiller:request", &request);
        // The bridge lives as long as the app; were it gone, there is no one left to tell.
        let _ = self.inner.try_with_value(|bridge| bridge.send(request));
    }
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
}
