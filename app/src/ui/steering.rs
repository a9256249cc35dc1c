//! The steering panel: one slider per steering vector the worker attached to the model (built
//! in, built here or imported), each with a download of its GGUF, and the tools that add vectors.

use std::time::Duration;

use leptos::prelude::*;

use crate::protocol::{Coefs, Request, Response, VectorInfo};

use super::dom::download;
use super::format::{coef_text, one_line};
use super::i18n::{Msg, SteeringText, use_i18n};
use super::presets::{Presets, PresetsPanel};
use super::user_vectors::VectorWork;
use super::vector_tools::{BuildVector, ImportVector};
use super::worker_bridge::Bridge;

/// How often moving a slider during a reply updates the worker.
const PUSH_EVERY: Duration = Duration::from_millis(100);

/// The concepts the project plans vectors for, shown disabled while the model has none: (id,
/// min, max); their words are in [`SteeringText::concepts`].
const PLANNED: [(&str, f32, f32); 3] = [("sentiment", -1.0, 1.0), ("formality", -1.0, 1.0), ("safety", 0.0, 1.0)];

/// A vector's label, ends and note in the current language: the built-in concepts' by id, a
/// user's vector's as it was named.
#[derive(Clone, Debug, PartialEq)]
pub struct Words {
    pub label: String,
    pub low: String,
    pub high: String,
    pub note: String,
}

pub fn words(t: &SteeringText, v: &VectorInfo) -> Words {
    match t.concept(&v.id) {
        Some(c) => Words { label: c.label.into(), low: c.low.into(), high: c.high.into(), note: c.note.into() },
        None => Words { label: v.label.clone(), low: v.low.clone(), high: v.high.clone(), note: v.note.clone() },
    }
}

#[derive(Clone, Copy)]
pub struct SteeringState {
    /// The vectors of the loaded model (none while loading).
    pub vectors: RwSignal<Vec<VectorInfo>>,
    /// Why the loaded model came without vectors, when the worker says.
    pub why_none: RwSignal<Option<String>>,
    pub coefs: RwSignal<Coefs>,
    /// Builds, imports and downloads of vectors.
    pub work: VectorWork,
    /// Whether an update for the worker is already scheduled.
    push_pending: StoredValue<bool>,
}

impl SteeringState {
    pub fn new() -> Self {
        Self {
            vectors: RwSignal::new(Vec::new()),
            why_none: RwSignal::new(None),
            coefs: RwSignal::new(Coefs::new()),
            work: VectorWork::new(),
            push_pending: StoredValue::new(false),
        }
    }

    /// Follows the worker's messages about vectors made here, and saves a download the user
    /// asked for; ignores the others.
    pub fn apply(&self, response: &Response) {
        if let Some((id, bytes)) = self.work.apply(response, self.vectors)
            && let Err(e) = download(&format!("{id}.gguf"), &bytes, "application/octet-stream")
        {
            let e = one_line(&e);
            self.work.export_error.set(Some(Msg::new(move |t| (t.vectors.save_failed)(&id, &e))));
        }
    }

    /// Takes the vectors of a newly loaded model (or none, with the reason when known). Values
    /// outlive a reload (a backend change reloads the same model), within the new model's ranges.
    pub fn set_vectors(&self, vectors: Vec<VectorInfo>, why_none: Option<String>) {
        self.coefs.update(|coefs| {
            for v in &vectors {
                if let Some(c) = coefs.get_mut(&v.id) {
                    *c = c.clamp(v.min, v.max);
                }
            }
        });
        self.vectors.set(vectors);
        self.why_none.set(why_none);
    }

    /// The non-zero coefficients of the loaded vectors, as sent with each request.
    pub fn active(&self) -> Coefs {
        self.vectors.with_untracked(|vectors| {
            self.coefs.with_untracked(|coefs| {
                coefs
                    .iter()
                    .filter(|(id, value)| **value != 0.0 && vectors.iter().any(|v| &v.id == *id))
                    .map(|(id, value)| (id.clone(), *value))
                    .collect()
            })
        })
    }

    pub fn value(&self, id: &str) -> f32 {
        self.coefs.with(|c| c.get(id).copied().unwrap_or(0.0))
    }

    /// Sets a coefficient; during a reply the worker hears of it within [`PUSH_EVERY`].
    fn set(&self, id: &str, value: f32, bridge: Bridge, generating: Signal<bool>) {
        self.coefs.update(|c| {
            c.insert(id.to_string(), value);
        });
        self.push_soon(bridge, generating);
    }

    /// Sets several coefficients at once (a preset), each within its vector's range.
    pub fn set_all(&self, values: &Coefs, bridge: Bridge, generating: Signal<bool>) {
        self.vectors.with_untracked(|vectors| {
            self.coefs.update(|c| {
                for v in vectors {
                    if let Some(x) = values.get(&v.id) {
                        c.insert(v.id.clone(), x.clamp(v.min, v.max));
                    }
                }
            })
        });
        self.push_soon(bridge, generating);
    }

    fn push_soon(&self, bridge: Bridge, generating: Signal<bool>) {
        if generating.get_untracked() && !self.push_pending.get_value() {
            self.push_pending.set_value(true);
            let this = *self;
            // Trailing throttle: the timer sends the latest values, whatever moved meanwhile.
            set_timeout(
                move || {
                    this.push_pending.set_value(false);
                    if generating.get_untracked() {
                        bridge.send(Request::SetSteering { coefs: this.active() });
                    }
                },
                PUSH_EVERY,
            );
        }
    }
}

#[component]
pub fn SteeringPanel(
    steering: SteeringState,
    bridge: Bridge,
    generating: Signal<bool>,
    ready: Signal<bool>,
    n_layer: Signal<Option<u32>>,
    presets: Presets,
) -> impl IntoView {
    let i18n = use_i18n();
    // Only the list of vectors rebuilds the sliders; each value updates in place, so a slider
    // being dragged is never replaced.
    let sliders = move || {
        let vectors = steering.vectors.get();
        if vectors.is_empty() {
            PLANNED.iter().map(|&(id, min, max)| planned_slider(id, min, max).into_any()).collect_view().into_any()
        } else {
            vectors.into_iter().map(|v| slider(v, steering, bridge, generating).into_any()).collect_view().into_any()
        }
    };
    let note = move || {
        let vectors = steering.vectors.get();
        let t = &i18n.t().steering;
        if vectors.is_empty() {
            view! {
                <p>
                    {t.none_loaded}
                    {t.none_source.0}<code>"vectors/manifest.json"</code>{t.none_source.1}
                </p>
                {move || steering.why_none.get().map(|why| view! {
                    <p class="why-none">{move || (i18n.t().steering.why_none)(&why)}</p>
                })}
            }
            .into_any()
        } else {
            view! {
                <p>{t.intro}</p>
                <ul>
                    {vectors
                        .into_iter()
                        .map(|v| {
                            let w = words(t, &v);
                            view! { <li><strong>{w.label}</strong>{(t.layers)(v.layers.0, v.layers.1)}{w.note}</li> }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <section class="panel steering" aria-labelledby="steering-title">
            <h2 id="steering-title">{move || i18n.t().steering.title}</h2>
            <div class="sliders">{sliders}</div>
            {move || steering.work.export_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="export-error">{move || e.render(i18n.t())}</p>
            })}
            <p class="live-hint" aria-live="polite">
                {move || generating.get().then(|| i18n.t().steering.live_hint)}
            </p>
            <PresetsPanel presets steering bridge generating />
            <ImportVector steering bridge ready />
            <BuildVector steering bridge ready n_layer />
            <div class="steering-note" data-testid="steering-note">{note}</div>
        </section>
    }
}

fn slider(v: VectorInfo, steering: SteeringState, bridge: Bridge, generating: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let id = v.id.clone();
    // Built-in concepts are worded in the page's language; the user's vectors keep their names.
    let words = {
        let v = v.clone();
        Signal::derive(move || words(&i18n.t().steering, &v))
    };
    let input_id = format!("steer-{id}");
    let value = {
        let id = id.clone();
        Signal::derive(move || steering.value(&id))
    };
    let (min, max) = (v.min, v.max);
    let valuetext = move || {
        let x = value.get();
        let w = words.get();
        let side = if x < 0.0 {
            Some(w.low.as_str())
        } else if x > 0.0 {
            Some(w.high.as_str())
        } else {
            None
        };
        (i18n.t().steering.valuetext)(&coef_text(x), side)
    };
    let on_input = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            // Snap to the step, so the value shown and sent is the one on the track.
            if let Ok(x) = event_target_value(&ev).parse::<f32>() {
                steering.set(&id, ((x * 20.0).round() / 20.0).clamp(min, max), bridge, generating);
            }
        }
    };
    let on_reset = {
        let id = id.clone();
        move |_| steering.set(&id, 0.0, bridge, generating)
    };
    let on_download = {
        let id = id.clone();
        move |_| steering.work.start_export(bridge, &id)
    };
    view! {
        <div class="steer">
            <div class="steer-head">
                <label for=input_id.clone()>{move || words.get().label}</label>
                <output data-testid=format!("value-{id}") for=input_id.clone()>{move || coef_text(value.get())}</output>
                <button
                    type="button"
                    class="small"
                    data-testid=format!("reset-{id}")
                    aria-label=move || (i18n.t().steering.reset_label)(&words.get().label)
                    on:click=on_reset
                >
                    {move || i18n.t().steering.reset}
                </button>
            </div>
            <input
                type="range"
                id=input_id
                data-testid=format!("slider-{id}")
                min=v.min
                max=v.max
                step="0.05"
                prop:value=move || value.get().to_string()
                aria-valuetext=valuetext
                on:input=on_input
            />
            <div class="steer-ends" aria-hidden="true">
                <span>{move || words.get().low}</span>
                <span>{move || words.get().high}</span>
            </div>
            <button
                type="button"
                class="link"
                data-testid=format!("download-{id}")
                title=move || i18n.t().steering.download_title
                aria-label=move || (i18n.t().steering.download_label)(&words.get().label)
                on:click=on_download
            >
                {move || i18n.t().steering.download}
            </button>
        </div>
    }
}

/// A concept without a vector: visibly there, never pretending to act.
fn planned_slider(id: &'static str, min: f32, max: f32) -> impl IntoView {
    let i18n = use_i18n();
    let concept = move || i18n.t().steering.concept(id);
    let input_id = format!("steer-{id}");
    view! {
        <div class="steer planned">
            <div class="steer-head">
                <label for=input_id.clone()>{move || concept().map(|c| c.label)}</label>
                <output data-testid=format!("value-{id}") for=input_id.clone()>"0.00"</output>
                <button type="button" class="small" data-testid=format!("reset-{id}") disabled=true>
                    {move || i18n.t().steering.reset}
                </button>
            </div>
            <input
                type="range"
                id=input_id
                data-testid=format!("slider-{id}")
                min=min
                max=max
                step="0.05"
                value="0"
                disabled=true
                aria-valuetext=move || i18n.t().steering.planned_valuetext
            />
            <div class="steer-ends" aria-hidden="true">
                <span>{move || concept().map(|c| c.low)}</span>
                <span>{move || concept().map(|c| c.high)}</span>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(id: &str, min: f32, max: f32) -> VectorInfo {
        VectorInfo {
            id: id.into(),
            label: id.into(),
            low: "low".into(),
            high: "high".into(),
            min,
            max,
            strength: 4.0,
            layers: (10, 20),
            note: "test".into(),
        }
    }

    #[test]
    fn english_concept_words_match_the_manifest() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../public/vectors/manifest.json")).unwrap();
        let vectors = manifest["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), crate::ui::i18n::EN.steering.concepts.len());
        for v in vectors {
            let c = crate::ui::i18n::EN.steering.concept(v["id"].as_str().unwrap()).unwrap();
            assert_eq!(
                (c.label, c.low, c.high, c.note),
                (
                    v["label"].as_str().unwrap(),
                    v["low"].as_str().unwrap(),
                    v["high"].as_str().unwrap(),
                    v["note"].as_str().unwrap(),
                )
            );
            assert!(crate::ui::i18n::ZH.steering.concept(&v["id"].as_str().unwrap()).is_some());
        }
    }

    #[test]
    fn only_loaded_concepts_are_sent_within_their_range() {
        let steering = SteeringState::new();
        steering.coefs.set(Coefs::from([("sentiment".into(), -0.5), ("safety".into(), -0.4), ("gone".into(), 1.0)]));
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0), vector("safety", 0.0, 1.0)], None);
        assert_eq!(steering.active(), Coefs::from([("sentiment".into(), -0.5)]));
    }

    #[test]
    fn values_survive_a_reload_but_are_not_sent_without_vectors() {
        let steering = SteeringState::new();
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0)], None);
        steering.coefs.set(Coefs::from([("sentiment".into(), 0.5)]));
        steering.set_vectors(Vec::new(), Some("no manifest".into()));
        assert!(steering.active().is_empty());
        assert_eq!(steering.why_none.get_untracked().as_deref(), Some("no manifest"));
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0)], None);
        assert_eq!(steering.active(), Coefs::from([("sentiment".into(), 0.5)]));
    }
}
