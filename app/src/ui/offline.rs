//! Registers the service worker (`sw.js`, written by `cargo xtask dist`) that keeps the app
//! shell for offline use, and tells it which engine build to keep. The model itself is cached by
//! the engine worker.

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

/// Asks the service worker, once it is active, to keep `wasm` (the engine build this page
/// started: see `public/sw.js`) with the shell, so the page works offline on this backend.
/// Without a service worker there is nothing to keep it in.
pub fn keep_engine(wasm: &'static str) {
    use js_sys::{Function, Object, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else { return };
    let container = window.navigator().service_worker();
    if JsValue::from(container.clone()).is_undefined() {
        return;
    }
    let Ok(ready) = Reflect::get(&container, &"ready".into()).and_then(|p| p.dyn_into::<Promise>()) else {
        return;
    };
    spawn_local(async move {
        let Ok(registration) = JsFuture::from(ready).await else { return };
        let active = Reflect::get(&registration, &"active".into()).unwrap_or(JsValue::NULL);
        let Ok(post) = Reflect::get(&active, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>()) else {
            return;
        };
        let message = Object::new();
        let _ = Reflect::set(&message, &"keepEngine".into(), &wasm.into());
        if let Err(e) = post.call1(&active, &message) {
            console_debug(&format!(
                "tiller: could not ask the service worker to keep {wasm}: {}",
                js_error_message(&e)
            ));
        }
    });
}
