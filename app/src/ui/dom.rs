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

pub fn console_debug(line: &str) {
    web_sys::console::debug_1(&JsValue::from_str(line));
}
