//! The steering panel: one slider per steering vector the worker attached to the model (built
//! in, built here or imported), each with a download of its GGUF, and the tools that add vectors.

use leptos::prelude::*;

use crate::protocol::VectorInfo;

use super::format::coef_text;
use super::i18n::use_i18n;
use super::presets::Presets;
use super::presets_view::PresetsPanel;
use super::steering::{SteeringState, words};
use super::user_vectors::VectorWork;
use super::vector_tools::{BuildVector, ImportVector};
use super::worker_bridge::Bridge;

/// The concepts the project plans vectors for, shown disabled while the model has none: (id,
/// min, max); their words are in [`super::i18n::SteeringText::concepts`].
const PLANNED: [(&str, f32, f32); 3] = [("sentiment", -1.0, 1.0), ("formality", -1.0, 1.0), ("safety", 0.0, 1.0)];

#[component]
pub fn SteeringPanel(
    steering: SteeringState,
    work: VectorWork,
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
            vectors
                .into_iter()
                .map(|v| slider(v, steering, work, bridge, generating).into_any())
                .collect_view()
                .into_any()
        }
    };
    let note = move || {
        let vectors = steering.vectors.get();
        let t = &i18n.t().steering;
        if vectors.is_empty() && !ready.get() {
            // Vectors come with a model: none yet says nothing about this one.
            view! { <p>{t.waiting_for_model}</p> }.into_any()
        } else if vectors.is_empty() {
            view! {
                <p>
                    {t.none_loaded}
                    {t.none_source.0}<code>"vectors/manifest.json"</code>{t.none_source.1}
                </p>
                {move || steering.why_none.get().map(|why| view! {
                    <p class="why-none">{move || { let t = i18n.t(); (t.steering.why_none)(&(t.failure.failure)(&why)) }}</p>
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
                            let gated = v.gated.as_ref().map(|g| (t.gated)(g));
                            view! {
                                <li>
                                    <strong>{w.label}</strong>
                                    {(t.layers)(v.layers.0, v.layers.1)}
                                    {w.note}
                                    <span data-testid="steering-gated">{gated}</span>
                                </li>
                            }
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
            {move || work.export_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="export-error">{move || e.render(i18n.t())}</p>
            })}
            <p class="live-hint" aria-live="polite">
                {move || generating.get().then(|| i18n.t().steering.live_hint)}
            </p>
            <PresetsPanel presets steering bridge generating />
            <ImportVector steering work bridge ready />
            <BuildVector steering work bridge ready n_layer />
            <div class="steering-note" data-testid="steering-note">{note}</div>
        </section>
    }
}

fn slider(
    v: VectorInfo,
    steering: SteeringState,
    work: VectorWork,
    bridge: Bridge,
    generating: Signal<bool>,
) -> impl IntoView {
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
        move |_| work.start_export(bridge, &id)
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
