//! The Leptos user interface: a chat with a model that runs in a Web Worker, steering sliders and
//! settings. Each part keeps its state in signals it owns; [`App`] wires them to the worker.

mod cache;
mod chat;
mod chat_view;
mod dom;
mod drop_zone;
mod format;
mod loader;
mod model_panel;
mod offline;
mod settings;
mod steering;
mod url_params;
mod user_vectors;
mod vector_tools;
mod worker_bridge;

use leptos::prelude::*;

use crate::protocol::Response;

use chat::ChatState;
use chat_view::ChatPanel;
use drop_zone::DropZone;
use loader::{LoadState, Loader};
use model_panel::{BackendBadge, ModelPanel};
use settings::{SettingsPanel, SettingsState};
use steering::{SteeringPanel, SteeringState};
use url_params::{ModelParam, UrlParams};
use worker_bridge::Bridge;

pub use offline::register_service_worker;
pub use worker_bridge::EngineBridge;

#[component]
pub fn App() -> impl IntoView {
    let params = UrlParams::from_location();
    let settings = SettingsState::new(&params);
    let chat = ChatState::new();
    let steering = SteeringState::new();

    let load = LoadState::new();
    // Each state takes the responses about it and ignores the others.
    let bridge = Bridge::spawn(move |response: Response| {
        load.apply(&response, steering);
        chat.apply(&response);
        steering.apply(&response);
    });
    let loader = Loader::new(load, bridge, settings.backend, chat, steering);

    match &params.model {
        ModelParam::Default => loader.load_default(),
        ModelParam::Url(url) => loader.load_url(url),
        ModelParam::None => {}
    }

    let ready = Signal::derive(move || loader.is_ready());
    let generating = Signal::derive(move || chat.generating.with(Option::is_some));
    let n_layer = Signal::derive(move || {
        load.status.with(|s| match s {
            loader::LoadStatus::Ready { model, .. } => Some(model.n_layer),
            _ => None,
        })
    });
    let warnings = params.warnings;

    view! {
        <div class="app">
            <header class="top">
                <div class="brand">
                    <h1>"Tiller"</h1>
                    <span class="tagline">"A small language model in your browser, steerable"</span>
                </div>
                <BackendBadge loader />
            </header>
            {(!warnings.is_empty()).then(|| view! {
                <ul class="notices" role="status">
                    {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            })}
            <main class="layout">
                <div class="main-col">
                    <ModelPanel loader />
                    <ChatPanel chat settings steering bridge ready />
                </div>
                <aside class="side">
                    <SteeringPanel steering bridge generating ready n_layer />
                    <SettingsPanel settings loader />
                </aside>
            </main>
            <DropZone loader />
        </div>
    }
}
