//! The Compare view: one prompt, the same seed, a reply without steering beside one with it,
//! both streaming; the first token where they part is marked.

use std::sync::Arc;

use leptos::prelude::*;

use crate::protocol::{Coefs, StopReason};

use super::compare::{CompareState, RunError, Side, Tok};
use super::format::coef_text;
use super::i18n::{CompareText, use_i18n};
use super::input::{parse_max_tokens, parse_seed};
use super::settings::SettingsState;
use super::settings_view::{Field, number_field};
use super::steering::{SteeringState, words};
use super::tabs::ViewTab;
use super::worker_bridge::Bridge;

#[component]
pub fn ComparePanel(
    compare: CompareState,
    settings: SettingsState,
    steering: SteeringState,
    bridge: Bridge,
    ready: Signal<bool>,
    view_tab: RwSignal<ViewTab>,
) -> impl IntoView {
    let i18n = use_i18n();
    let running = move || compare.running.with(Option::is_some);
    let can_run = move || ready.get() && !running() && compare.prompt.with(|p| !p.trim().is_empty());
    let run = move || {
        if untrack(can_run) {
            let system = settings.system_prompt.get_untracked();
            compare.start(bridge, &system, settings.sampling(), steering.active());
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        run();
    };
    let seed = number_field(
        Field { label: |t| t.compare.seed_label, testid: "compare-seed", step: "1", min: "0", max: None },
        Signal::derive(move || settings.seed.get().to_string()),
        move |s| parse_seed(s).map(|v| settings.seed.set(v)),
    );
    let length = number_field(
        Field { label: |t| t.compare.length_label, testid: "compare-length", step: "1", min: "1", max: Some("32768") },
        Signal::derive(move || compare.max_tokens.get().to_string()),
        move |s| parse_max_tokens(s).map(|v| compare.max_tokens.set(v)),
    );
    // The steering the next comparison will use: the loaded vectors' non-zero sliders.
    let live_coefs = Signal::derive(move || {
        steering.coefs.track();
        steering.vectors.track();
        steering.active()
    });
    let steering_line = move || {
        let t = &i18n.t().compare;
        let coefs = live_coefs.get();
        if coefs.is_empty() {
            view! { <p class="compare-warning" data-testid="compare-no-steering">{t.no_steering}</p> }.into_any()
        } else {
            view! {
                <p class="compare-steering" data-testid="compare-steering">
                    {t.steered_with}" "{coefs_text(&coefs, steering)}
                </p>
            }
            .into_any()
        }
    };
    let parted = Memo::new(move |_| compare.parted_at());
    let summary = move || {
        let t = &i18n.t().compare;
        let n = compare.steered.with(Vec::len).min(compare.plain.with(Vec::len)) as u32;
        compare.run.with(|r| r.as_ref().map(|r| r.started)).unwrap_or(false).then(|| match parted.get() {
            Some(i) => {
                let piece = |side: Side| {
                    compare.side(side).with(|v| v.get(i as usize).map(|t| t.data.piece.clone()).unwrap_or_default())
                };
                (t.parted_at)(i, &piece(Side::Plain), &piece(Side::Steered))
            }
            None => (t.not_parted)(n),
        })
    };
    let error = move || {
        compare.run.with(|r| r.as_ref().and_then(|r| r.error.clone())).map(|e| {
            let line = move || {
                let t = i18n.t();
                match &e {
                    RunError::Failed(f) => format!("{} {}", t.compare.failed, (t.failure.failure)(f)),
                    RunError::Crashed(detail) => (t.model.crashed)(detail),
                }
            };
            view! { <p class="field-error" role="alert" data-testid="compare-error">{line}</p> }
        })
    };
    // The chat's words for the gate: the steered side is a chat reply with the sliders on.
    let gate = move || {
        compare.run.with(|r| r.as_ref().and_then(|r| r.gate)).map(|g| {
            view! {
                <p class="msg-gate" class:engaged=g.engaged() data-testid="compare-gate">
                    {move || (i18n.t().chat.gate)(&g)}
                </p>
            }
        })
    };
    let speed = move || {
        compare.run.with(|r| {
            r.as_ref().and_then(|r| r.stats).map(|s| {
                let steps = compare.steered.with(Vec::len).max(compare.plain.with(Vec::len)) as u32;
                let per_s = if s.decode_ms > 0.0 { steps.saturating_sub(1) as f64 * 1000.0 / s.decode_ms } else { 0.0 };
                (i18n.t().compare.speed)(steps, per_s)
            })
        })
    };

    view! {
        <section class="panel compare" aria-labelledby="compare-title" data-testid="compare">
            <h2 id="compare-title">{move || i18n.t().compare.title}</h2>
            <p class="view-intro">{move || i18n.t().compare.intro}</p>
            <form class="compare-form" on:submit=on_submit>
                <label for="compare-prompt">{move || i18n.t().compare.prompt_label}</label>
                <textarea
                    id="compare-prompt"
                    data-testid="compare-prompt"
                    rows="2"
                    placeholder=move || i18n.t().compare.prompt_placeholder
                    prop:value=move || compare.prompt.get()
                    on:input=move |ev| compare.prompt.set(event_target_value(&ev))
                ></textarea>
                <div class="compare-controls">
                    {seed}
                    {length}
                    <button type="submit" class="primary" data-testid="compare-run" disabled=move || !can_run()>
                        {move || i18n.t().compare.run}
                    </button>
                    <button
                        type="button"
                        data-testid="compare-stop"
                        disabled=move || !running()
                        on:click=move |_| compare.stop(bridge)
                    >
                        {move || i18n.t().compare.stop}
                    </button>
                </div>
                {move || (!ready.get()).then(|| view! { <p class="hint">{i18n.t().compare.waiting_model}</p> })}
                {steering_line}
            </form>
            {error}
            <p class="compare-summary" aria-live="polite" data-testid="compare-summary">{summary}</p>
            {gate}
            <div class="compare-columns">
                <Column compare side=Side::Plain parted view_tab />
                <Column compare side=Side::Steered parted view_tab />
            </div>
            <p class="hint" data-testid="compare-speed">{speed}</p>
        </section>
    }
}

#[component]
fn Column(compare: CompareState, side: Side, parted: Memo<Option<u32>>, view_tab: RwSignal<ViewTab>) -> impl IntoView {
    let i18n = use_i18n();
    let tokens = compare.side(side);
    let title = move || {
        let t = &i18n.t().compare;
        match side {
            Side::Plain => t.plain_title,
            Side::Steered => t.steered_title,
        }
    };
    let status = move || {
        let t = &i18n.t().compare;
        compare.run.with(|run| {
            let run = run.as_ref()?;
            let stop = match side {
                Side::Plain => run.plain_stop,
                Side::Steered => run.steered_stop,
            };
            Some(match stop {
                Some(reason) => (t.ended)(stop_text(t, reason)),
                None if run.error.is_some() => String::new(),
                None if !run.started => t.reading_prompt.to_string(),
                None => t.streaming.to_string(),
            })
        })
    };
    let selected_here = move || compare.selected.get().filter(|(s, _)| *s == side).map(|(_, i)| i);
    let look_inside = move |_| {
        if selected_here().is_none()
            && let Some(last) = tokens.with_untracked(|v| v.last().map(|t| t.index))
        {
            compare.selected.set(Some((side, parted.get_untracked().unwrap_or(last))));
        }
        view_tab.set(ViewTab::Inside);
    };
    let testid = match side {
        Side::Plain => "compare-plain",
        Side::Steered => "compare-steered",
    };
    view! {
        <article class="compare-col" class:steered=side == Side::Steered aria-labelledby=format!("{testid}-title")>
            <h3 id=format!("{testid}-title")>{title}</h3>
            <p class="reply-text" data-testid=testid aria-live="polite">
                <For each=move || tokens.get() key=|t| t.index let:tok>
                    <TokenSpan tok compare side parted />
                </For>
            </p>
            <p class="hint" data-testid=format!("{testid}-status")>{status}</p>
            <button
                type="button"
                class="link"
                data-testid=format!("{testid}-inside")
                disabled=move || tokens.with(Vec::is_empty)
                on:click=look_inside
            >
                {move || i18n.t().compare.look_inside}
            </button>
        </article>
    }
}

#[component]
fn TokenSpan(tok: Arc<Tok>, compare: CompareState, side: Side, parted: Memo<Option<u32>>) -> impl IntoView {
    let i18n = use_i18n();
    let index = tok.index;
    let is_parted = move || parted.get() == Some(index);
    let selected = move || compare.selected.get() == Some((side, index));
    let title = {
        let tok = tok.clone();
        move || {
            let chosen = tok.chosen();
            let after = chosen.map(|c| c.after).unwrap_or(0.0);
            let before = chosen.map(|c| c.before).filter(|_| side == Side::Steered);
            (i18n.t().compare.token_title)(index, after, before)
        }
    };
    view! {
        <span
            class="tok"
            class:parted=is_parted
            class:selected=selected
            data-index=index
            title=title
            on:mouseenter=move |_| compare.selected.set(Some((side, index)))
            on:click=move |_| compare.selected.set(Some((side, index)))
        >
            {move || is_parted().then(|| view! { <span class="visually-hidden">{i18n.t().compare.parted_marker}": "</span> })}
            {tok.data.piece.clone()}
        </span>
    }
}

/// "Sentiment +0.50, Formality −0.25", with each concept's label as the steering panel shows it.
pub fn coefs_text(coefs: &Coefs, steering: SteeringState) -> String {
    coefs
        .iter()
        .map(|(id, c)| format!("{} {}", concept_label(id, steering), coef_text(*c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A concept's label in the current language (its id when the model no longer has it).
pub fn concept_label(id: &str, steering: SteeringState) -> String {
    let t = &use_i18n().t().steering;
    steering
        .vectors
        .with(|vs| vs.iter().find(|v| v.id == id).map(|v| words(t, v).label))
        .unwrap_or_else(|| id.to_string())
}

fn stop_text(t: &CompareText, reason: StopReason) -> &'static str {
    match reason {
        StopReason::EndOfGeneration => t.stop_end,
        StopReason::MaxTokens => t.stop_max,
        StopReason::ContextFull => t.stop_context,
        StopReason::Stopped => t.stop_stopped,
    }
}
