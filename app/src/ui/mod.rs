//! The Leptos user interface: a chat with a model that runs in a Web Worker, steering sliders and
//! settings.
//!
//! Imports run one way (`cargo xtask test` checks that there is no cycle):
//!
//! ```text
//! App (this file) ─► views (*_view, *_panel, tabs, share_link, export, …)
//!                      │
//!                      ▼
//!                  app_state: routes worker messages, actions across states
//!                      │
//!                      ▼
//!                  states: chat, compare, steering, presets, loader, settings, user_vectors
//!                      │   (never each other, never a view)
//!                      ▼
//!                  leaves: format, input, load_status, url_params, i18n, dom, cache, offline,
//!                          worker_bridge (which names its engine to offline)
//! ```

mod app_state;
mod cache;
mod chat;
mod chat_view;
mod compare;
mod compare_view;
mod dom;
mod drop_zone;
mod explain;
mod export;
mod format;
mod heatmap;
pub mod i18n;
mod input;
mod inside_view;
mod load_status;
mod loader;
mod model_panel;
mod offline;
mod presets;
mod presets_view;
mod settings;
mod settings_view;
mod share_link;
mod shift_bars;
mod steering;
mod steering_view;
mod tabs;
mod theme;
mod url_params;
mod user_vectors;
mod vector_tools;
mod worker_bridge;

use leptos::prelude::*;

use app_state::AppState;
use chat_view::ChatPanel;
use compare_view::ComparePanel;
use drop_zone::DropZone;
use explain::ExplainPanel;
use i18n::{I18n, Lang, Msg};
use inside_view::InsidePanel;
use model_panel::{BackendBadge, ModelPanel};
use presets::Presets;
use settings_view::SettingsPanel;
use share_link::ShareLink;
use steering_view::SteeringPanel;
use tabs::{Tabs, ViewTab};
use theme::ThemeSwitch;
use url_params::{ModelParam, UrlParams};

pub use offline::register_service_worker;
pub use worker_bridge::EngineBridge;

#[component]
pub fn App() -> impl IntoView {
    let params = UrlParams::from_location();
    let i18n = I18n::new(initial_lang(&params));
    provide_context(i18n);
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", i18n.lang.get().code());
        }
    });
    let view_tab = RwSignal::new(params.view.unwrap_or(ViewTab::Chat));
    let app = AppState::start(&params);
    provide_context(app);
    let AppState { load, chat, steering, work, compare, settings, bridge } = app;

    match &params.model {
        ModelParam::Default => app.load_default(),
        ModelParam::Url(url) => app.load_url(url),
        ModelParam::None => {}
    }

    let ready = Signal::derive(move || load.is_ready());
    let generating = Signal::derive(move || chat.generating.with(Option::is_some));
    let n_layer = Signal::derive(move || {
        load.status.with(|s| match s {
            load_status::LoadStatus::Ready { model, .. } => Some(model.n_layer),
            _ => None,
        })
    });
    // Notices about the page address: those found now, and those about coefficients once the
    // model's vectors are known.
    let notices = RwSignal::new(params.warnings.iter().cloned().map(|w| w.into_msg()).collect::<Vec<Msg>>());
    share_link::apply_url_coefs(params.coefs.clone(), steering, notices);
    let draft = RwSignal::new(params.prompt.clone().unwrap_or_default());
    let presets = Presets::load();

    view! {
        <div class="app">
            <a class="skip-link" href="#main">{move || i18n.t().app.skip_to_main}</a>
            <header class="top">
                <div class="brand">
                    <h1>"Tiller"</h1>
                    <span class="tagline">{move || i18n.t().app.tagline}</span>
                </div>
                <div class="header-tools">
                    <ShareLink steering settings chat prompt=draft compare_prompt=compare.prompt view_tab />
                    <LanguageSwitch i18n />
                    <ThemeSwitch />
                    <BackendBadge />
                </div>
            </header>
            <Tabs current=view_tab />
            {move || notices.with(|n| !n.is_empty()).then(|| view! {
                <ul class="notices" role="status" aria-label=move || i18n.t().settings.notices_label>
                    {move || notices.get().into_iter().map(|w| view! { <li>{move || w.render(i18n.t())}</li> }).collect_view()}
                </ul>
            })}
            <main class="layout" id="main" tabindex="-1">
                <div class="main-col">
                    <ModelPanel />
                    <ViewPanel tab=ViewTab::Chat current=view_tab>
                        <ChatPanel chat settings steering load bridge ready prompt=draft />
                    </ViewPanel>
                    <ViewPanel tab=ViewTab::Compare current=view_tab>
                        <ComparePanel compare settings steering bridge ready view_tab />
                    </ViewPanel>
                    <ViewPanel tab=ViewTab::Inside current=view_tab>
                        <InsidePanel compare steering view_tab />
                    </ViewPanel>
                    <ViewPanel tab=ViewTab::Learn current=view_tab>
                        <ExplainPanel />
                    </ViewPanel>
                </div>
                <aside class="side">
                    <SteeringPanel steering work bridge generating ready n_layer presets />
                    <SettingsPanel settings />
                </aside>
            </main>
            <DropZone />
        </div>
    }
}

/// One view's panel; every view stays mounted (a comparison keeps streaming while another view is
/// shown) and only the current one is visible.
#[component]
fn ViewPanel(tab: ViewTab, current: RwSignal<ViewTab>, children: Children) -> impl IntoView {
    view! {
        <div
            role="tabpanel"
            id=tab.panel_id()
            aria-labelledby=tab.tab_id()
            class="view"
            hidden=move || current.get() != tab
        >
            {children()}
        </div>
    }
}

#[component]
fn LanguageSwitch(i18n: I18n) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(lang) = Lang::parse(&event_target_value(&ev)) {
            i18n.lang.set(lang);
            remember_lang(lang);
        }
    };
    view! {
        <label class="lang-switch">
            <span class="visually-hidden">{move || i18n.t().app.language}</span>
            <select data-testid="language" on:change=on_change prop:value=move || i18n.lang.get().code()>
                {Lang::ALL
                    .into_iter()
                    .map(|l| view! { <option value=l.code() lang=l.code()>{l.name()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

const LANG_KEY: &str = "tiller.lang";

/// `?lang=`, else the last choice on this device, else the browser's language, else English.
fn initial_lang(params: &UrlParams) -> Lang {
    let stored = || window().local_storage().ok().flatten().and_then(|s| s.get_item(LANG_KEY).ok().flatten());
    params
        .lang
        .or_else(|| stored().and_then(|s| Lang::parse(&s)))
        .or_else(|| window().navigator().language().and_then(|l| Lang::parse(&l)))
        .unwrap_or(Lang::En)
}

fn remember_lang(lang: Lang) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(LANG_KEY, lang.code());
    }
}
