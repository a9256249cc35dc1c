//! The settings panel: system prompt, sampling, backend.

use leptos::prelude::*;

use crate::protocol::BackendChoice;

use super::app_state::use_app;
use super::i18n::{Msg, SettingsText, Text, use_i18n};
use super::input::{Invalid, parse_max_tokens, parse_seed, parse_temperature, parse_top_p};
use super::settings::SettingsState;

/// A backend's name in the settings' words.
type Label = fn(&SettingsText) -> &'static str;

#[component]
pub fn SettingsPanel(settings: SettingsState) -> impl IntoView {
    let app = use_app();
    let i18n = use_i18n();
    let backends: [(BackendChoice, Label); 3] = [
        (BackendChoice::Auto, |t| t.backend_auto),
        (BackendChoice::WebGpu, |t| t.backend_webgpu),
        (BackendChoice::Cpu, |t| t.backend_cpu),
    ];
    let on_backend = move |ev: leptos::ev::Event| match BackendChoice::parse(&event_target_value(&ev)) {
        Some(choice) => app.set_backend(choice),
        None => app.load.show_error(Msg::new(|t| t.model.unknown_backend.into())),
    };
    // Decimal fields show what was typed ("0." must survive); whole numbers follow their signal, so
    // a seed set in the Compare view shows here too.
    let temperature = number_field(
        Field { label: |t| t.settings.temperature, testid: "temperature", step: "0.1", min: "0", max: Some("5") },
        Signal::stored(settings.temperature.get_untracked().to_string()),
        move |s| parse_temperature(s).map(|v| settings.temperature.set(v)),
    );
    let top_p = number_field(
        Field { label: |t| t.settings.top_p, testid: "top-p", step: "0.05", min: "0.05", max: Some("1") },
        Signal::stored(settings.top_p.get_untracked().to_string()),
        move |s| parse_top_p(s).map(|v| settings.top_p.set(v)),
    );
    let max_tokens = number_field(
        Field { label: |t| t.settings.max_tokens, testid: "max-tokens", step: "1", min: "1", max: Some("32768") },
        Signal::derive(move || settings.max_tokens.get().to_string()),
        move |s| parse_max_tokens(s).map(|v| settings.max_tokens.set(v)),
    );
    let seed = number_field(
        Field { label: |t| t.settings.seed, testid: "seed", step: "1", min: "0", max: None },
        Signal::derive(move || settings.seed.get().to_string()),
        move |s| parse_seed(s).map(|v| settings.seed.set(v)),
    );
    let t = move || &i18n.t().settings;
    view! {
        <section class="panel settings" aria-labelledby="settings-title">
            <h2 id="settings-title">{move || t().title}</h2>
            <div class="field">
                <label for="system-prompt">{move || t().system_prompt}</label>
                <textarea
                    id="system-prompt"
                    data-testid="system-prompt"
                    rows="3"
                    prop:value=move || settings.system_prompt.get()
                    on:input=move |ev| settings.system_prompt.set(event_target_value(&ev))
                ></textarea>
                <p class="field-hint">{move || t().system_hint}</p>
            </div>
            <div class="field-grid">
                {temperature}
                {top_p}
                {max_tokens}
                {seed}
            </div>
            <div class="field">
                <label for="backend-select">{move || t().backend}</label>
                <select id="backend-select" data-testid="backend-select" on:change=on_backend>
                    {backends
                        .into_iter()
                        .map(|(choice, label)| {
                            view! {
                                <option value=choice.as_str() selected=move || settings.backend.get() == choice>
                                    {move || label(t())}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <p class="field-hint">{move || t().backend_hint}</p>
            </div>
        </section>
    }
}

/// What a number input looks like; the browser's range hints, the parsers the real checks.
pub struct Field {
    pub label: fn(&Text) -> &'static str,
    pub testid: &'static str,
    pub step: &'static str,
    pub min: &'static str,
    pub max: Option<&'static str>,
}

/// A labelled number input showing `value`, that applies each valid entry and explains an invalid
/// one, keeping the last valid value meanwhile.
pub fn number_field(
    Field { label, testid, step, min, max }: Field,
    value: Signal<String>,
    apply: impl Fn(&str) -> Result<(), Invalid> + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<Invalid>);
    let id = format!("setting-{testid}");
    view! {
        <div class="field">
            <label for=id.clone()>{move || label(i18n.t())}</label>
            <input
                type="number"
                id=id
                data-testid=testid
                prop:value=move || value.get()
                step=step
                min=min
                max=max
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                on:input=move |ev| error.set(apply(&event_target_value(&ev)).err())
            />
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{move || e.text(&i18n.t().settings)}</p> })}
        </div>
    }
}
