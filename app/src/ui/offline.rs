//! Registers the service worker (`sw.js`, written by `cargo xtask dist`) that keeps the app
//! shell for offline use. The model itself is cached by the engine worker.

use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::dom::{console_debug, js_error_message};

pub fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    // Absent on plain http from another host, and in some private modes: the app still works,
    // only not offline.
    if js_sys::Reflect::get(&window.navigator(), &"serviceWorker".into()).is_ok_and(|v| v.is_undefined()) {
        console_debug("tiller: no service worker support here; the app will not work offline");
        return;
    }
    let promise = window.navigator().service_worker().register("sw.js");
    spawn_local(async move {
        if let Err(e) = JsFuture::from(promise).await {
            console_debug(&format!("tiller: service worker not registered: {}", js_error_message(&e)));
        }
    });
}
