//! The presets' part of the steering panel: built-in and saved presets, saving and deleting.

use leptos::prelude::*;

use crate::protocol::Coefs;

use super::i18n::{Msg, use_i18n};
use super::presets::{NameError, Preset, Presets, builtins_for, check_name, preset_values};
use super::steering::SteeringState;
use super::worker_bridge::Bridge;

#[component]
pub fn PresetsPanel(
    presets: Presets,
    steering: SteeringState,
    bridge: Bridge,
    generating: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move || &i18n.t().share;
    let name = RwSignal::new(String::new());
    let feedback = RwSignal::new(None::<(bool, Msg)>);
    let apply = move |coefs: Coefs| {
        let values = steering.vectors.with_untracked(|vs| preset_values(&coefs, vs));
        steering.set_all(&values, bridge, generating);
    };
    let save = move || {
        let result = presets.saved.with_untracked(|saved| check_name(&name.get_untracked(), saved));
        match result {
            Ok(new_name) => {
                let coefs =
                    steering.vectors.with_untracked(|vs| steering.coefs.with_untracked(|c| preset_values(c, vs)));
                presets.saved.update(|p| p.push(Preset { name: new_name.clone(), coefs }));
                name.set(String::new());
                feedback.set(Some(match presets.store() {
                    Ok(()) => (false, Msg::new(move |t| (t.share.saved)(&new_name))),
                    Err(e) => (true, Msg::new(move |t| (t.share.store_failed)(&e))),
                }));
            }
            Err(NameError::Empty) => feedback.set(Some((true, Msg::new(|t| t.share.name_empty.into())))),
            Err(NameError::Taken(n)) => feedback.set(Some((true, Msg::new(move |t| (t.share.name_taken)(&n))))),
        }
    };
    let delete = move |index: usize| {
        presets.saved.update(|p| {
            if index < p.len() {
                p.remove(index);
            }
        });
        feedback.set(presets.store().err().map(|e| (true, Msg::new(move |t| (t.share.store_failed)(&e)))));
    };
    let builtins = move || {
        steering
            .vectors
            .with(|vs| builtins_for(vs))
            .into_iter()
            .map(|b| {
                let coefs = b.coefs();
                view! {
                    <li>
                        <button
                            type="button"
                            class="small"
                            data-testid=format!("preset-{}", b.key)
                            on:click=move |_| apply(coefs.clone())
                        >
                            {move || (b.name)(t())}
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let saved = move || {
        presets
            .saved
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let label = p.name.clone();
                let label2 = p.name.clone();
                let coefs = p.coefs.clone();
                view! {
                    <li class="saved-preset">
                        <button
                            type="button"
                            class="small"
                            data-testid="preset-saved"
                            aria-label=move || (t().apply_label)(&label)
                            on:click=move |_| apply(coefs.clone())
                        >
                            {p.name.clone()}
                        </button>
                        <button
                            type="button"
                            class="small link"
                            data-testid="preset-delete"
                            aria-label=move || (t().delete_label)(&label2)
                            on:click=move |_| delete(i)
                        >
                            {move || t().delete}
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || steering.vectors.with(|v| !v.is_empty())>
            <div class="presets" data-testid="presets" role="group" aria-labelledby="presets-title">
                <h3 id="presets-title">{move || t().presets}</h3>
                <p class="field-hint">{move || t().presets_hint}</p>
                <ul class="preset-list">{builtins}{saved}</ul>
                <div class="preset-save">
                    <label for="preset-name" class="visually-hidden">{move || t().preset_name}</label>
                    <input
                        type="text"
                        id="preset-name"
                        data-testid="preset-name"
                        maxlength="40"
                        placeholder=move || t().preset_placeholder
                        title=move || t().preset_name
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Enter" && !ev.is_composing() {
                                ev.prevent_default();
                                save();
                            }
                        }
                    />
                    <button type="button" class="small" data-testid="preset-save" on:click=move |_| save()>
                        {move || t().save}
                    </button>
                </div>
                {move || feedback.get().map(|(error, m)| {
                    let text = move || m.render(i18n.t());
                    if error {
                        view! { <p class="field-error" role="alert" data-testid="preset-error">{text}</p> }.into_any()
                    } else {
                        view! { <p class="field-hint" role="status" data-testid="preset-status">{text}</p> }.into_any()
                    }
                })}
            </div>
        </Show>
    }
}
