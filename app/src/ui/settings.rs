//! The system prompt, the sampling settings and the backend choice.

use leptos::prelude::*;

use crate::protocol::{BackendChoice, Sampling};

use super::i18n::{Msg, SettingsText, Text, use_i18n};
use super::loader::Loader;
use super::url_params::UrlParams;

pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant.";

#[derive(Clone, Copy)]
pub struct SettingsState {
    pub system_prompt: RwSignal<String>,
    pub temperature: RwSignal<f32>,
    pub top_p: RwSignal<f32>,
    pub max_tokens: RwSignal<u32>,
    pub seed: RwSignal<u64>,
    pub backend: RwSignal<BackendChoice>,
}

impl SettingsState {
    pub fn new(params: &UrlParams) -> Self {
        let s = &params.sampling;
        Self {
            system_prompt: RwSignal::new(DEFAULT_SYSTEM_PROMPT.to_string()),
            temperature: RwSignal::new(s.temperature),
            top_p: RwSignal::new(s.top_p),
            max_tokens: RwSignal::new(s.max_tokens),
            seed: RwSignal::new(s.seed),
            backend: RwSignal::new(params.backend),
        }
    }

    /// The settings for the next reply.
    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature.get_untracked(),
            top_p: self.top_p.get_untracked(),
            max_tokens: self.max_tokens.get_untracked(),
            seed: self.seed.get_untracked(),
        }
    }
}

/// Which setting a typed or URL value failed; [`Invalid::text`] says what it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    Temperature,
    TopP,
    MaxTokens,
    Seed,
}

impl Invalid {
    pub fn text(self, t: &SettingsText) -> &'static str {
        match self {
            Self::Temperature => t.invalid_temperature,
            Self::TopP => t.invalid_top_p,
            Self::MaxTokens => t.invalid_max_tokens,
            Self::Seed => t.invalid_seed,
        }
    }
}

pub fn parse_temperature(s: &str) -> Result<f32, Invalid> {
    parse_f32_in(s, 0.0, 5.0).ok_or(Invalid::Temperature)
}

pub fn parse_top_p(s: &str) -> Result<f32, Invalid> {
    match parse_f32_in(s, 0.0, 1.0) {
        Some(p) if p > 0.0 => Ok(p),
        _ => Err(Invalid::TopP),
    }
}

pub fn parse_max_tokens(s: &str) -> Result<u32, Invalid> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=32_768).contains(&n) => Ok(n),
        _ => Err(Invalid::MaxTokens),
    }
}

pub fn parse_seed(s: &str) -> Result<u64, Invalid> {
    s.trim().parse::<u64>().map_err(|_| Invalid::Seed)
}

fn parse_f32_in(s: &str, min: f32, max: f32) -> Option<f32> {
    s.trim().parse::<f32>().ok().filter(|v| v.is_finite() && (min..=max).contains(v))
}

#[component]
pub fn SettingsPanel(settings: SettingsState, loader: Loader) -> impl IntoView {
    let i18n = use_i18n();
    let backends: [(BackendChoice, fn(&SettingsText) -> &'static str); 3] = [
        (BackendChoice::Auto, |t| t.backend_auto),
        (BackendChoice::WebGpu, |t| t.backend_webgpu),
        (BackendChoice::Cpu, |t| t.backend_cpu),
    ];
    let on_backend = move |ev: leptos::ev::Event| match BackendChoice::parse(&event_target_value(&ev)) {
        Some(choice) => loader.set_backend(choice),
        None => loader.show_error(Msg::new(|t| t.model.unknown_backend.into())),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_values_are_checked() {
        assert_eq!(parse_temperature(" 0 "), Ok(0.0));
        assert!(parse_temperature("-1").is_err());
        assert!(parse_temperature("NaN").is_err());
        assert_eq!(parse_top_p("1"), Ok(1.0));
        assert!(parse_top_p("0").is_err());
        assert_eq!(parse_max_tokens("64"), Ok(64));
        assert!(parse_max_tokens("0").is_err());
        assert!(parse_max_tokens("1.5").is_err());
        assert_eq!(parse_seed("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_seed("-1").is_err());
    }
}
