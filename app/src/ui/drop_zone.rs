//! Drag and drop of a .gguf file anywhere on the page.

use leptos::ev;
use leptos::prelude::*;
use web_sys::DragEvent;

use super::app_state::use_app;
use super::i18n::use_i18n;

/// Listens on the window for dropped files, loads the first one, and shows an overlay while a
/// file is dragged over the page. Drags of anything else (text into the prompt) pass through.
#[component]
pub fn DropZone() -> impl IntoView {
    let app = use_app();
    // dragenter/dragleave fire for every child crossed; the depth says when the page is left.
    let depth = StoredValue::new(0i32);
    let dragging = RwSignal::new(false);
    let i18n = use_i18n();

    let handles = [
        window_event_listener(ev::dragenter, move |e: DragEvent| {
            if carries_files(&e) {
                e.prevent_default();
                depth.update_value(|d| *d += 1);
                dragging.set(true);
            }
        }),
        window_event_listener(ev::dragleave, move |e: DragEvent| {
            if carries_files(&e) {
                depth.update_value(|d| *d = (*d - 1).max(0));
                if depth.get_value() == 0 {
                    dragging.set(false);
                }
            }
        }),
        window_event_listener(ev::dragover, move |e: DragEvent| {
            if carries_files(&e) {
                // Without this the browser would open the file instead of dropping it here.
                e.prevent_default();
                if let Some(dt) = e.data_transfer() {
                    dt.set_drop_effect("copy");
                }
            }
        }),
        window_event_listener(ev::drop, move |e: DragEvent| {
            if carries_files(&e) {
                e.prevent_default();
                depth.set_value(0);
                dragging.set(false);
                if let Some(file) = e.data_transfer().and_then(|dt| dt.files()).and_then(|files| files.get(0)) {
                    app.load_file(file);
                }
            }
        }),
    ];
    on_cleanup(move || handles.into_iter().for_each(|h| h.remove()));

    move || {
        dragging.get().then(|| {
            view! {
                <div class="drop-overlay" aria-hidden="true">
                    <p>{move || i18n.t().model.drop_overlay}</p>
                </div>
            }
        })
    }
}

fn carries_files(e: &DragEvent) -> bool {
    e.data_transfer().is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
}
