//! Give the worker's event loop a turn, so that Stop and SetSteering arrive mid-reply.
//!
//! On the CPU a whole reply runs without a real await (the "async" readback is ready at once),
//! so without this the worker would not see a message until the reply ended. A MessageChannel
//! round trip is a macrotask without setTimeout's 4 ms clamp.

use js_sys::Promise;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::MessageChannel;

pub async fn yield_now() {
    let Ok(channel) = MessageChannel::new() else { return };
    let promise = Promise::new(&mut |resolve, _reject| {
        let on_message = Closure::once_into_js(move || {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        });
        channel.port1().set_onmessage(Some(on_message.unchecked_ref()));
    });
    if channel.port2().post_message(&wasm_bindgen::JsValue::NULL).is_ok() {
        let _ = JsFuture::from(promise).await;
    }
    channel.port1().close();
}

/// Wait `ms` milliseconds without holding the event loop (a worker's setTimeout).
pub async fn sleep(ms: i32) {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let promise = Promise::new(&mut |resolve, _reject| {
        if scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).is_err() {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(promise).await;
}
