//! The steering panel's tools for vectors of one's own: "Import vector…" (a llama.cpp
//! control-vector file) and "Build a vector" (from built-in or typed contrastive pairs), with
//! the build's progress. Everything the user or the worker wrote is shown as text.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::protocol::{BuildMethod, PairSource};

use super::dom::{absolute_url, read_file};
use super::format::one_line;
use super::i18n::{Msg, VectorsText, use_i18n};
use super::steering::SteeringState;
use super::user_vectors::{DATASETS, MAX_IMPORT_BYTES, VectorWork, check_layers, default_layers, parse_pairs};
use super::worker_bridge::Bridge;

/// The dataset choice for pairs typed into the form.
const TYPED: &str = "typed";

/// "Import vector…": a file picker for control-vector GGUFs, and how the last import went.
#[component]
pub fn ImportVector(steering: SteeringState, work: VectorWork, bridge: Bridge, ready: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        let file = input.files().and_then(|files| files.get(0));
        // Lets the same file be picked again later.
        input.set_value("");
        let Some(file) = file else { return };
        let name = file.name();
        if file.size() > MAX_IMPORT_BYTES {
            let (shown, mb) = (one_line(&name), file.size() / 1e6);
            work.show_import_error(Msg::new(move |t| (t.vectors.too_big)(&shown, mb)));
            return;
        }
        spawn_local(async move {
            match read_file(&file).await {
                Ok(bytes) => work.start_import(bridge, steering.vectors, name, bytes),
                Err(e) => {
                    let (shown, e) = (one_line(&name), one_line(&e));
                    work.show_import_error(Msg::new(move |t| (t.vectors.cannot_read)(&shown, &e)))
                }
            }
        });
    };
    let disabled = move || !ready.get() || work.importing.with(Option::is_some);
    let t = move || &i18n.t().vectors;
    view! {
        <div class="vector-import">
            <label class="button file-button" class:disabled=disabled>
                {move || t().import}
                <input
                    type="file"
                    accept=".gguf"
                    class="visually-hidden"
                    data-testid="vector-file"
                    disabled=disabled
                    on:change=on_file
                />
            </label>
            <span class="field-hint">{move || t().import_hint}</span>
            {move || work.importing.get().map(|_| view! {
                <p class="field-hint" data-testid="import-busy">{move || t().importing}</p>
            })}
            {move || work.import_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="import-error">{move || e.render(i18n.t())}</p>
            })}
            {move || work.import_done.get().map(|m| view! {
                <p class="field-hint" role="status" data-testid="import-status">{move || m.render(i18n.t())}</p>
            })}
        </div>
    }
}

/// "Build a vector": collapsed by default; a form, a progress bar, and the outcome.
#[component]
pub fn BuildVector(
    steering: SteeringState,
    work: VectorWork,
    bridge: Bridge,
    ready: Signal<bool>,
    n_layer: Signal<Option<u32>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move || &i18n.t().vectors;
    let name = RwSignal::new(String::new());
    let low = RwSignal::new(String::new());
    let high = RwSignal::new(String::new());
    let dataset = RwSignal::new(TYPED.to_string());
    let typed = RwSignal::new(String::new());
    let method = RwSignal::new(BuildMethod::Mean);
    let first = RwSignal::new(String::new());
    let last = RwSignal::new(String::new());
    // Which blocks the form starts with follows the loaded model until the user edits them.
    let layers_edited = StoredValue::new(false);
    Effect::new(move |_| {
        let (start, end) = steering.vectors.with(|vs| default_layers(vs, n_layer.get()));
        if !layers_edited.get_value() {
            first.set(start.to_string());
            last.set(end.to_string());
        }
    });
    let form_error = RwSignal::new(None::<Msg>);

    let build = move || {
        let layers = match check_layers(&first.get_untracked(), &last.get_untracked(), n_layer.get_untracked()) {
            Ok(layers) => layers,
            Err(e) => return form_error.set(Some(e.msg())),
        };
        let chosen = dataset.get_untracked();
        let pairs = if chosen == TYPED {
            match parse_pairs(&typed.get_untracked()) {
                Ok(pairs) => PairSource::Typed { pairs },
                Err(e) => return form_error.set(Some(e.msg())),
            }
        } else {
            let Some((_, path)) = DATASETS.iter().find(|(value, _)| *value == chosen) else {
                return form_error.set(Some(Msg::new(move |t| (t.vectors.unknown_dataset)(&chosen))));
            };
            match absolute_url(path) {
                Ok(url) => PairSource::Builtin { url },
                Err(e) => return form_error.set(Some(Msg::new(move |_| e.clone()))),
            }
        };
        form_error.set(None);
        work.start_build(
            bridge,
            steering.vectors,
            &name.get_untracked(),
            &low.get_untracked(),
            &high.get_untracked(),
            pairs,
            method.get_untracked(),
            layers,
            i18n.t_untracked().vectors.default_name,
        );
    };
    let building = move || work.build.with(Option::is_some);
    let can_build = move || ready.get() && !building();
    let blocks_hint = move || {
        let sentiment = steering.vectors.with(|vs| vs.iter().find(|v| v.id == "sentiment").map(|v| v.layers));
        match n_layer.get() {
            Some(n) => (t().blocks_hint)(n.saturating_sub(1), sentiment),
            None => t().load_first.to_string(),
        }
    };
    let progress = move || {
        work.build.get().map(|run| {
            let text = (t().building)(&run.label, run.total.map(|total| (run.done, total)));
            view! {
                <div class="build-progress" role="status">
                    <progress
                        data-testid="build-progress"
                        value=run.total.map(|_| run.done as f64)
                        max=run.total.map(|t| t.max(1) as f64)
                    ></progress>
                    <span data-testid="build-progress-text">{text}</span>
                </div>
            }
        })
    };
    type Words = fn(&VectorsText) -> &'static str;
    let field = move |id: &'static str, label: Words, placeholder: Words, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=format!("build-{id}")>{move || label(t())}</label>
                <input
                    type="text"
                    id=format!("build-{id}")
                    data-testid=format!("build-{id}")
                    placeholder=move || placeholder(t())
                    maxlength="60"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </div>
        }
    };
    let layer_field = move |id: &'static str, label: Words, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=format!("build-{id}")>{move || label(t())}</label>
                <input
                    type="number"
                    id=format!("build-{id}")
                    data-testid=format!("build-{id}")
                    min="1"
                    step="1"
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        layers_edited.set_value(true);
                        value.set(event_target_value(&ev));
                    }
                />
            </div>
        }
    };

    view! {
        <details class="build" data-testid="build-section">
            <summary>{move || t().summary}</summary>
            <p class="field-hint">{move || t().intro}</p>
            {field("name", |t| t.name, |t| t.name_placeholder, name)}
            <div class="field-grid">
                {field("low", |t| t.low, |t| t.low_placeholder, low)}
                {field("high", |t| t.high, |t| t.high_placeholder, high)}
            </div>
            <div class="field">
                <label for="build-dataset">{move || t().pairs}</label>
                <select
                    id="build-dataset"
                    data-testid="build-dataset"
                    on:change=move |ev| dataset.set(event_target_value(&ev))
                >
                    <option value=TYPED selected=move || dataset.with(|d| d == TYPED)>{move || t().typed_option}</option>
                    {DATASETS
                        .into_iter()
                        .enumerate()
                        .map(|(i, (value, _))| view! {
                            <option value=value selected=move || dataset.with(|d| d == value)>
                                {move || t().datasets[i]}
                            </option>
                        })
                        .collect_view()}
                </select>
            </div>
            {move || dataset.with(|d| d == TYPED).then(|| view! {
                <div class="field">
                    <label for="build-pairs">{move || t().typed_label}</label>
                    <textarea
                        id="build-pairs"
                        data-testid="build-pairs"
                        rows="5"
                        placeholder=move || t().pairs_placeholder
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))
                    ></textarea>
                    <p class="field-hint">{move || t().positive_hint}</p>
                </div>
            })}
            <div class="field-grid">
                <div class="field">
                    <label for="build-method">{move || t().method}</label>
                    <select
                        id="build-method"
                        data-testid="build-method"
                        on:change=move |ev| {
                            if let Some(m) = BuildMethod::parse(&event_target_value(&ev)) {
                                method.set(m);
                            }
                        }
                    >
                        <option value="mean" selected=move || method.get() == BuildMethod::Mean>{move || t().mean}</option>
                        <option value="pca" selected=move || method.get() == BuildMethod::Pca>{move || t().pca}</option>
                    </select>
                </div>
                <div></div>
                {layer_field("layer-start", |t| t.first_block, first)}
                {layer_field("layer-end", |t| t.last_block, last)}
            </div>
            <p class="field-hint">{blocks_hint}</p>
            {move || form_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="build-form-error">{move || e.render(i18n.t())}</p>
            })}
            <div class="build-actions">
                <button
                    type="button"
                    class="primary"
                    data-testid="build-start"
                    disabled=move || !can_build()
                    on:click=move |_| build()
                >
                    {move || t().build}
                </button>
                {move || building().then(|| view! {
                    <button type="button" data-testid="build-cancel" on:click=move |_| work.cancel_build(bridge)>
                        {move || t().cancel}
                    </button>
                })}
            </div>
            {progress}
            {move || work.build_error.get().map(|e| view! {
                <p class="field-error" role="alert" data-testid="build-error">{move || e.render(i18n.t())}</p>
            })}
            {move || work.build_done.get().map(|m| view! {
                <p class="field-hint" role="status" data-testid="build-status">{move || m.render(i18n.t())}</p>
            })}
        </details>
    }
}
