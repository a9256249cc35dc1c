//! The model strip above the chat (status, progress, errors, "use your own model") and the
//! backend badge in the header.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use super::app_state::use_app;
use super::format::{backend_text, model_text};
use super::i18n::use_i18n;
use super::load_status::{phase_attr, progress_of, status_text};
use super::loader::LoadStatus;

#[component]
pub fn ModelPanel() -> impl IntoView {
    let app = use_app();
    let i18n = use_i18n();
    let status = app.load.status;
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            app.load_file(file);
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
            LoadStatus::Ready { model, .. } => {
                let model = model.clone();
                Some(view! { <p class="model-info">{move || model_text(&i18n.t().model, &model)}</p> })
            }
            _ => None,
        })
    };
    let error = move || {
        app.load.error.get().map(|message| {
            view! {
                <p class="load-error" role="alert" data-testid="load-error">{move || message.render(i18n.t())}</p>
            }
        })
    };
    let show_retry = move || status.with(|s| *s == LoadStatus::Failed) && app.load.source.with(Option::is_some);
    let show_default = move || !app.is_default_source() && !status.with(LoadStatus::is_loading);

    view! {
        <section class="model" aria-label=move || i18n.t().model.region>
            <div class="status-row">
                <span class="load-status" data-testid="load-status" data-phase=move || status.with(phase_attr)>
                    {move || status.with(|s| status_text(&i18n.t().model, s))}
                </span>
                {progress}
            </div>
            {model_info}
            {error}
            <div class="model-actions">
                <label class="button file-button">
                    {move || i18n.t().model.use_own}
                    <input
                        type="file"
                        accept=".gguf"
                        class="visually-hidden"
                        data-testid="model-file"
                        on:change=on_file
                    />
                </label>
                {move || show_retry().then(|| view! {
                    <button type="button" on:click=move |_| app.reload()>{move || i18n.t().model.retry}</button>
                })}
                {move || show_default().then(|| view! {
                    <button type="button" on:click=move |_| app.load_default()>
                        {move || i18n.t().model.load_default}
                    </button>
                })}
                <span class="hint">{move || i18n.t().model.drop_hint}</span>
            </div>
        </section>
    }
}

/// The backend in use, for the header.
#[component]
pub fn BackendBadge() -> impl IntoView {
    let app = use_app();
    let i18n = use_i18n();
    let text = move || {
        let t = &i18n.t().model;
        app.load.status.with(|s| match s {
            LoadStatus::Ready { backend, .. } => backend_text(i18n.t(), backend),
            LoadStatus::Storing { .. } | LoadStatus::Starting { .. } | LoadStatus::Loading { .. } => {
                t.badge_starting.into()
            }
            LoadStatus::Idle | LoadStatus::Failed => t.badge_none.into(),
        })
    };
    let class = move || {
        app.load.status.with(|s| match s {
            LoadStatus::Ready { backend, .. } if backend.fallback_reason.is_some() => "badge badge-warn",
            LoadStatus::Ready { .. } => "badge badge-ok",
            _ => "badge",
        })
    };
    view! {
        <span class=class data-testid="backend" title=move || i18n.t().model.badge_title>{text}</span>
    }
}
