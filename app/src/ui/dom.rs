//! Small browser helpers shared by the UI modules.

use wasm_bindgen::{JsCast, JsValue};

/// The page's base URL (`document.baseURI`), against which the app's relative URLs resolve, so
/// that the site works from any sub-path.
pub fn base_uri() -> Result<String, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    document.base_uri().map_err(|e| js_error_message(&e))?.ok_or_else(|| "the page has no base URL".to_string())
}

/// `relative` made absolute against the page's base URL.
pub fn absolute_url(relative: &str) -> Result<String, String> {
    let base = base_uri()?;
    web_sys::Url::new_with_base(relative, &base).map(|u| u.href()).map_err(|_| format!("not a valid URL: {relative}"))
}

/// One readable line for an exception or rejected promise.
pub fn js_error_message(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// Whether the browser exposes `navigator.gpu` (it may still give no adapter; only the worker
/// asks for one).
pub fn webgpu_exposed() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&navigator, &"gpu".into()).is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

pub fn console_debug(line: &str) {
    web_sys::console::debug_1(&JsValue::from_str(line));
}

/// Saves `bytes` as a file called `name` through a Blob URL and a download link.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| js_error_message(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_message(&e))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_error_message(&e))?
        .dyn_into()
        .map_err(|_| "could not make a download link".to_string())?;
    link.set_href(&url);
    link.set_download(name);
    if let Some(body) = document.body() {
        let _ = body.append_child(&link);
    }
    link.click();
    link.remove();
    // The download has its own copy once it started; the URL only keeps the Blob alive.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}

/// The whole content of a file the user picked.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await.map_err(|e| js_error_message(&e))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
