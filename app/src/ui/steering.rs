//! The steering panel: one slider per steering vector the worker attached to the model (built
//! in, built here or imported), each with a download of its GGUF, and the tools that add vectors.

use std::time::Duration;

use leptos::prelude::*;

use crate::protocol::{Coefs, Request, Response, VectorInfo};

use super::dom::download;
use super::format::coef_text;
use super::user_vectors::VectorWork;
use super::vector_tools::{BuildVector, ImportVector};
use super::worker_bridge::Bridge;

/// How often moving a slider during a reply updates the worker.
const PUSH_EVERY: Duration = Duration::from_millis(100);

/// The concepts the project plans vectors for, shown disabled while the model has none.
const PLANNED: [(&str, &str, &str, &str, f32, f32); 3] = [
    ("sentiment", "Sentiment", "negative", "positive", -1.0, 1.0),
    ("formality", "Formality", "casual", "formal", -1.0, 1.0),
    ("safety", "Safety strength", "off", "strong", 0.0, 1.0),
];

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
            self.work.export_error.set(Some(format!("{id}.gguf could not be saved: {e}")));
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

    fn value(&self, id: &str) -> f32 {
        self.coefs.with(|c| c.get(id).copied().unwrap_or(0.0))
    }

    /// Sets a coefficient; during a reply the worker hears of it within [`PUSH_EVERY`].
    fn set(&self, id: &str, value: f32, bridge: Bridge, generating: Signal<bool>) {
        self.coefs.update(|c| {
            c.insert(id.to_string(), value);
        });
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
) -> impl IntoView {
    // Only the list of vectors rebuilds the sliders; each value updates in place, so a slider
    // being dragged is never replaced.
    let sliders = move || {
        let vectors = steering.vectors.get();
        if vectors.is_empty() {
            PLANNED.iter().map(|p| planned_slider(*p).into_any()).collect_view().into_any()
        } else {
            vectors.into_iter().map(|v| slider(v, steering, bridge, generating).into_any()).collect_view().into_any()
        }
    };
    let note = move || {
        let vectors = steering.vectors.get();
        if vectors.is_empty() {
            view! {
                <p>
                    "No steering vector is loaded for this model, so these controls are off. "
                    "Vectors come from "<code>"vectors/manifest.json"</code>" and are attached when they fit the model."
                </p>
                {move || steering.why_none.get().map(|why| view! { <p class="why-none">{why}</p> })}
            }
            .into_any()
        } else {
            view! {
                <p>
                    "Each slider adds a direction in the model's hidden state (a steering vector), "
                    "scaled by its value, at every new token. Vectors built or imported here last "
                    "until another model is loaded."
                </p>
                <ul>
                    {vectors
                        .into_iter()
                        .map(|v| view! {
                            <li><strong>{v.label}</strong>" (layers "{v.layers.0}"–"{v.layers.1}"): "{v.note}</li>
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <section class="panel steering" aria-labelledby="steering-title">
            <h2 id="steering-title">"Steering"</h2>
            <div class="sliders">{sliders}</div>
            {move || steering.work.export_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="export-error">{e}</p>
            })}
            <p class="live-hint" aria-live="polite">
                {move || generating.get().then_some("Changes apply from the next token.")}
            </p>
            <ImportVector steering bridge ready />
            <BuildVector steering bridge ready n_layer />
            <div class="steering-note" data-testid="steering-note">{note}</div>
        </section>
    }
}

fn slider(v: VectorInfo, steering: SteeringState, bridge: Bridge, generating: Signal<bool>) -> impl IntoView {
    let id = v.id.clone();
    let input_id = format!("steer-{id}");
    let value = {
        let id = id.clone();
        Signal::derive(move || steering.value(&id))
    };
    let (low, high) = (v.low.clone(), v.high.clone());
    let (min, max) = (v.min, v.max);
    let valuetext = move || {
        let x = value.get();
        let side = if x < 0.0 {
            format!(", toward {low}")
        } else if x > 0.0 {
            format!(", toward {high}")
        } else {
            String::new()
        };
        format!("{}{side}", coef_text(x))
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
                <label for=input_id.clone()>{v.label.clone()}</label>
                <output data-testid=format!("value-{id}") for=input_id.clone()>{move || coef_text(value.get())}</output>
                <button
                    type="button"
                    class="small"
                    data-testid=format!("reset-{id}")
                    aria-label=format!("Reset {}", v.label)
                    on:click=on_reset
                >
                    "Reset"
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
                <span>{v.low}</span>
                <span>{v.high}</span>
            </div>
            <button
                type="button"
                class="link"
                data-testid=format!("download-{id}")
                title="A llama.cpp control-vector file (use it with llama.cpp's --control-vector)"
                aria-label=format!("Download {} as .gguf", v.label)
                on:click=on_download
            >
                "Download .gguf"
            </button>
        </div>
    }
}

/// A concept without a vector: visibly there, never pretending to act.
fn planned_slider(
    (id, label, low, high, min, max): (&'static str, &'static str, &str, &str, f32, f32),
) -> impl IntoView {
    let input_id = format!("steer-{id}");
    view! {
        <div class="steer planned">
            <div class="steer-head">
                <label for=input_id.clone()>{label}</label>
                <output data-testid=format!("value-{id}") for=input_id.clone()>"0.00"</output>
                <button type="button" class="small" data-testid=format!("reset-{id}") disabled=true>"Reset"</button>
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
                aria-valuetext="off: no vector loaded"
            />
            <div class="steer-ends" aria-hidden="true">
                <span>{low.to_string()}</span>
                <span>{high.to_string()}</span>
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
