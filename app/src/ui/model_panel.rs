//! The model strip above the chat (status, progress, errors, "use your own model") and the
//! backend badge in the header.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use super::format::{backend_text, model_text, phase_attr, progress_of, status_text};
use super::loader::{LoadStatus, Loader};

#[component]
pub fn ModelPanel(loader: Loader) -> impl IntoView {
    let status = loader.state.status;
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            loader.load_file(file);
        }
        // Lets the same file be picked again later.
        input.set_value("");
    };
    let progress = move || {
        status.with(|s| s.is_loading()).then(|| {
            let bar = status.with(progress_of);
            view! {
                <progress
                    data-testid="load-progress"
                    value=bar.map(|(done, _)| done as f64)
                    max=bar.map(|(_, total)| total as f64)
                ></progress>
            }
        })
    };
    let model_info = move || {
        status.with(|s| match s {
            LoadStatus::Ready { model, .. } => Some(view! { <p class="model-info">{model_text(model)}</p> }),
            _ => None,
        })
    };
    let error = move || {
        loader.state.error.get().map(|message| {
            view! {
                <p class="load-error" role="alert" data-testid="load-error">{message}</p>
            }
        })
    };
    let show_retry = move || status.with(|s| *s == LoadStatus::Failed) && loader.state.source.with(Option::is_some);
    let show_default = move || !loader.is_default_source() && !status.with(LoadStatus::is_loading);

    view! {
        <section class="model" aria-label="Model">
            <div class="status-row">
                <span class="load-status" data-testid="load-status" data-phase=move || status.with(phase_attr)>
                    {move || status.with(status_text)}
                </span>
                {progress}
            </div>
            {model_info}
            {error}
            <div class="model-actions">
                <label class="button file-button">
                    "Use your own model"
                    <input
                        type="file"
                        accept=".gguf"
                        class="visually-hidden"
                        data-testid="model-file"
                        on:change=on_file
                    />
                </label>
                {move || show_retry().then(|| view! {
                    <button type="button" on:click=move |_| loader.reload()>"Retry"</button>
                })}
                {move || show_default().then(|| view! {
                    <button type="button" on:click=move |_| loader.load_default()>"Load the default model"</button>
                })}
                <span class="hint">"…or drop a .gguf file anywhere on the page."</span>
            </div>
        </section>
    }
}

/// The backend in use, for the header.
#[component]
pub fn BackendBadge(loader: Loader) -> impl IntoView {
    let text = move || {
        loader.state.status.with(|s| match s {
            LoadStatus::Ready { backend, .. } => backend_text(backend),
            LoadStatus::Storing { .. } | LoadStatus::Starting { .. } | LoadStatus::Loading { .. } => {
                "Starting the engine…".into()
            }
            LoadStatus::Idle | LoadStatus::Failed => "No model loaded".into(),
        })
    };
    let class = move || {
        loader.state.status.with(|s| match s {
            LoadStatus::Ready { backend, .. } if backend.fallback_reason.is_some() => "badge badge-warn",
            LoadStatus::Ready { .. } => "badge badge-ok",
            _ => "badge",
        })
    };
    view! {
        <span class=class data-testid="backend" title="The engine's compute backend">{text}</span>
    }
}
