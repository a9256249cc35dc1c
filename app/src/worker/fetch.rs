//! Model bytes from the browser's cache, else from the network, with progress.
//!
//! The cache is the Cache API, which workers and pages share: the page stores files the user
//! picks under a key of its own, and the service worker finds the model there when offline.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStreamDefaultReader, Response, WorkerGlobalScope};

use crate::protocol::{Failure, MODEL_CACHE, ModelSource, Phase};

pub struct Fetched {
    pub bytes: Vec<u8>,
    pub from_cache: bool,
    /// A downloaded file on its way into the cache.
    pub storing: Option<Storing>,
}

/// A downloaded model written to the cache while it is read: `Response.clone()` tees the body,
/// the browser streams one branch to the Cache API and the worker reads the other. Copying the
/// loaded bytes out of wasm memory into a Response afterwards made the first visit's memory
/// peak (bench-browser's peak by phase).
pub struct Storing {
    key: String,
    put: JsFuture,
}

impl Storing {
    /// Wait until the cache holds the file, and forget it again unless it loaded (`loaded`), so
    /// that a file that does not load is fetched afresh next time. A full quota only costs the
    /// next visit a download, so failures are logged, not raised.
    pub async fn finish(self, loaded: bool) {
        if let Err(e) = self.put.await {
            web_sys::console::warn_2(&"tiller: could not cache the model:".into(), &e);
        } else if !loaded {
            forget(&self.key).await;
        }
    }
}

/// Progress is reported at most this often (bytes), so the page isn't flooded with messages.
const REPORT_EVERY: u64 = 1 << 20;

pub async fn model_bytes(source: &ModelSource, progress: &dyn Fn(Phase, u64, Option<u64>)) -> Result<Fetched, Failure> {
    let cache = open_cache().await;
    let key = match source {
        ModelSource::Url { url } => url.as_str(),
        ModelSource::Cached { key, .. } => key.as_str(),
    };
    let failed = |detail: String| Failure::Download { url: key.to_string(), detail };
    if let Some(cache) = &cache
        && let Some(response) = cached(cache, key).await
    {
        let bytes = read_body(&response, Phase::Cache, progress).await.map_err(failed)?;
        return Ok(Fetched { bytes, from_cache: true, storing: None });
    }
    let url = match source {
        ModelSource::Url { url } => url,
        ModelSource::Cached { name, .. } => return Err(Failure::NotStored { name: name.clone() }),
    };
    let response = download(url).await.map_err(failed)?;
    // The next visit (or an offline one) then skips the download.
    let storing = match (&cache, Response::clone(&response)) {
        (Some(cache), Ok(copy)) => {
            Some(Storing { key: key.to_string(), put: JsFuture::from(cache.put_with_str(key, &copy)) })
        }
        _ => None,
    };
    let bytes = read_body(&response, Phase::Download, progress).await.map_err(failed)?;
    Ok(Fetched { bytes, from_cache: false, storing })
}

/// Forget a stored file that turned out not to load.
pub async fn forget(key: &str) {
    if let Some(cache) = open_cache().await {
        let _ = JsFuture::from(cache.delete_with_str(key)).await;
    }
}

fn scope() -> WorkerGlobalScope {
    js_sys::global().unchecked_into()
}

async fn open_cache() -> Option<Cache> {
    let caches = scope().caches().ok()?;
    JsFuture::from(caches.open(MODEL_CACHE)).await.ok()?.dyn_into().ok()
}

async fn cached(cache: &Cache, key: &str) -> Option<Response> {
    JsFuture::from(cache.match_with_str(key)).await.ok()?.dyn_into().ok()
}

async fn download(url: &str) -> Result<Response, String> {
    let response: Response = JsFuture::from(scope().fetch_with_str(url))
        .await
        .map_err(|e| js_error(&e))?
        .dyn_into()
        .map_err(|_| "not a response".to_string())?;
    if !response.ok() {
        return Err(format!("HTTP {} {}", response.status(), response.status_text()));
    }
    Ok(response)
}

/// A response's body into wasm memory, chunk by chunk as the browser delivers it (network or
/// cache), so no copy of the whole file ever sits in the JS heap: read in one piece
/// (`arrayBuffer()`), the cached model's 92 MB stayed there until a garbage collection and was
/// the reload's and the chat's peak memory (bench-browser: 1255–1262 MiB against 1174–1197
/// streamed, wllama 1182). An earlier session measured a stream at 0.75 s of a 1.2 s reload;
/// since the workers run their constructors once (`tiller_app::run_static_constructors`), the
/// cache phase takes 0.2–0.3 s either way.
async fn read_body(
    response: &Response,
    phase: Phase,
    progress: &dyn Fn(Phase, u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let total = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<u64>().ok());
    let Some(body) = response.body() else { return Ok(Vec::new()) };
    let reader: ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|_| "the browser gave no stream reader".to_string())?;
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(1 << 32) as usize);
    let mut reported = 0u64;
    progress(phase, 0, total);
    loop {
        let chunk: Object = JsFuture::from(reader.read()).await.map_err(|e| js_error(&e))?.unchecked_into();
        if Reflect::get(&chunk, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            break;
        }
        let value: Uint8Array =
            Reflect::get(&chunk, &"value".into()).map_err(|_| "the stream gave no bytes".to_string())?.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        if bytes.len() as u64 - reported >= REPORT_EVERY {
            reported = bytes.len() as u64;
            progress(phase, reported, total);
        }
    }
    progress(phase, bytes.len() as u64, total);
    Ok(bytes)
}

/// The message of a JS exception, or its string form.
pub fn js_error(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
