//! "Share": a link that opens Tiller with the same sliders, prompt, seed, view and language. The
//! link is always shown in a read-only field as well, since the clipboard may be refused.

use leptos::html::{Button, Input};
use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{Coefs, Role};

use super::chat::ChatState;
use super::i18n::use_i18n;
use super::settings::SettingsState;
use super::steering::SteeringState;
use super::tabs::ViewTab;
use super::url_params::{Shared, share_query};

/// The page's address without its query or fragment.
fn page_address() -> String {
    let location = window().location();
    format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default())
}

#[component]
pub fn ShareLink(
    steering: SteeringState,
    settings: SettingsState,
    chat: ChatState,
    prompt: RwSignal<String>,
    /// The Compare view's prompt, shared from the Compare and Inside views.
    compare_prompt: RwSignal<String>,
    view_tab: RwSignal<ViewTab>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move || &i18n.t().share;
    let open = RwSignal::new(false);
    // None: nothing tried yet; Some(true): copied; Some(false): the clipboard refused.
    let copied = RwSignal::new(None::<bool>);
    let toggle = NodeRef::<Button>::new();
    let field = NodeRef::<Input>::new();

    let url = Memo::new(move |_| {
        // The loaded sliders; before the vectors are known, the values waiting for them.
        let coefs: Coefs = steering.vectors.with(|vs| {
            steering.coefs.with(|c| {
                c.iter()
                    .filter(|(id, _)| vs.is_empty() || vs.iter().any(|v| &v.id == *id))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            })
        });
        // The comparison's prompt from its views; else the prompt being typed, else the last sent.
        let comparing = matches!(view_tab.get(), ViewTab::Compare | ViewTab::Inside);
        let text = if comparing { compare_prompt.get() } else { prompt.get() };
        let text = if text.trim().is_empty() && !comparing {
            chat.entries
                .with(|es| es.iter().rev().find(|e| e.role == Role::User).map(|e| e.text.get()).unwrap_or_default())
        } else {
            text
        };
        let shared =
            Shared { coefs, prompt: text, seed: settings.seed.get(), view: view_tab.get(), lang: i18n.lang.get() };
        format!("{}{}", page_address(), share_query(&shared))
    });

    let close = move || {
        open.set(false);
        if let Some(button) = toggle.get_untracked() {
            let _ = button.focus();
        }
    };
    let copy = move |_| {
        let text = url.get_untracked();
        if let Some(input) = field.get_untracked() {
            input.select();
        }
        let navigator = window().navigator();
        // Absent outside secure contexts: the field is there to copy from by hand.
        let has_clipboard =
            js_sys::Reflect::get(&navigator, &"clipboard".into()).is_ok_and(|c| !c.is_undefined() && !c.is_null());
        if !has_clipboard {
            copied.set(Some(false));
            return;
        }
        let promise = navigator.clipboard().write_text(&text);
        leptos::task::spawn_local(async move {
            copied.set(Some(JsFuture::from(promise).await.is_ok()));
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close();
        }
    };
    view! {
        <div class="share" on:keydown=on_key>
            <button
                type="button"
                node_ref=toggle
                data-testid="share-toggle"
                aria-expanded=move || open.get().to_string()
                aria-controls="share-panel"
                on:click=move |_| {
                    copied.set(None);
                    open.update(|o| *o = !*o);
                }
            >
                {move || t().share}
            </button>
            <div id="share-panel" class="share-panel" data-testid="share-panel" hidden=move || !open.get()>
                <label for="share-url">{move || t().link_label}</label>
                <input
                    type="text"
                    id="share-url"
                    node_ref=field
                    data-testid="share-url"
                    readonly=true
                    prop:value=move || url.get()
                    on:focus=move |_| {
                        if let Some(input) = field.get_untracked() {
                            input.select();
                        }
                    }
                />
                <p class="field-hint">{move || t().link_hint}</p>
                <div class="share-actions">
                    <button type="button" class="primary small" data-testid="share-copy" on:click=copy>
                        {move || t().copy_link}
                    </button>
                    <button type="button" class="small" on:click=move |_| close()>{move || t().close}</button>
                    <span class="field-hint" role="status" data-testid="share-status">
                        {move || copied.get().map(|ok| if ok { t().copied } else { t().copy_failed })}
                    </span>
                </div>
            </div>
        </div>
    }
}

/// Applies a URL's steering coefficients once the model's vectors are known (the first time it
/// has any), and adds a notice for values outside a concept's range and for concepts the model
/// has no vector for. Nothing is clamped silently.
pub fn apply_url_coefs(coefs: Coefs, steering: SteeringState, notices: RwSignal<Vec<super::i18n::Msg>>) {
    if coefs.is_empty() {
        return;
    }
    let pending = StoredValue::new(Some(coefs));
    Effect::new(move |_| {
        let ranges: Vec<(String, f32, f32)> =
            steering.vectors.with(|vs| vs.iter().map(|v| (v.id.clone(), v.min, v.max)).collect());
        if ranges.is_empty() {
            return;
        }
        let Some(coefs) = pending.try_update_value(Option::take).flatten() else { return };
        let (apply, warnings, unknown) = super::url_params::check_coefs(&coefs, &ranges);
        steering.coefs.update(|c| c.extend(apply));
        notices.update(|n| {
            n.extend(warnings.into_iter().map(|w| w.into_msg()));
            if !unknown.is_empty() {
                let ids = unknown.join(", ");
                n.push(super::i18n::Msg::new(move |t| (t.settings.unknown_concepts)(&ids)));
            }
        });
    });
}
