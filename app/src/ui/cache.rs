//! Stores a model file the user picked in the Cache API, where the worker reads it like a
//! downloaded model, so it loads without the network and survives a reload of the page.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, File, Headers, Response, ResponseInit};

use super::dom::{absolute_url, js_error_message};
use crate::protocol::MODEL_CACHE;

/// The cache key of a picked file: a URL under the page that no server serves.
pub fn user_model_key(file_name: &str) -> Result<String, String> {
    let encoded = String::from(js_sys::encode_uri_component(file_name));
    absolute_url(&format!("user-models/{encoded}"))
}

/// Puts `file` in the model cache under `key`, replacing what was there.
pub async fn store_file(file: &File, key: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    // `caches` throws outside secure contexts (plain http other than localhost).
    let caches = window.caches().map_err(|e| format!("the browser cache is unavailable ({})", js_error_message(&e)))?;
    let cache: Cache = JsFuture::from(caches.open(MODEL_CACHE))
        .await
        .map_err(|e| js_error_message(&e))?
        .dyn_into()
        .map_err(|_| "the browser returned something that is not a cache".to_string())?;

    // Content-Length lets the worker report progress while it reads the file back.
    let headers = Headers::new().map_err(|e| js_error_message(&e))?;
    headers.set("Content-Type", "application/octet-stream").map_err(|e| js_error_message(&e))?;
    headers.set("Content-Length", &(file.size() as u64).to_string()).map_err(|e| js_error_message(&e))?;
    let init = ResponseInit::new();
    init.set_headers(&headers);
    let response = Response::new_with_opt_blob_and_init(Some(file), &init).map_err(|e| js_error_message(&e))?;

    JsFuture::from(cache.put_with_str(key, &response)).await.map_err(|e| js_error_message(&e))?;
    Ok(())
}
