//! The Inside view: for the last comparison, the residual stream's reading along each concept
//! at every block and token (heatmap), and the next-token shift at the selected token (bars).

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::compare::{CompareState, Side, Tok};
use super::compare_view::concept_label;
use super::heatmap::{Heatmap, Mode, cell_value};
use super::i18n::use_i18n;
use super::shift_bars::{ShiftBars, visible};
use super::steering::SteeringState;
use super::tabs::ViewTab;

#[component]
pub fn InsidePanel(compare: CompareState, steering: SteeringState, view_tab: RwSignal<ViewTab>) -> impl IntoView {
    let i18n = use_i18n();
    let has_tokens = move || compare.plain.with(|v| !v.is_empty()) || compare.steered.with(|v| !v.is_empty());
    view! {
        <section class="panel inside" aria-labelledby="inside-title" data-testid="inside">
            <h2 id="inside-title">{move || i18n.t().inside.title}</h2>
            <p class="view-intro">{move || i18n.t().inside.intro}</p>
            <Show
                when=has_tokens
                fallback=move || view! {
                    <p data-testid="inside-empty">{move || i18n.t().inside.empty}" "
                        <button type="button" class="link" on:click=move |_| view_tab.set(ViewTab::Compare)>
                            {move || i18n.t().inside.go_compare}
                        </button>
                    </p>
                }
            >
                <Inspector compare steering />
            </Show>
        </section>
    }
}

#[component]
fn Inspector(compare: CompareState, steering: SteeringState) -> impl IntoView {
    let i18n = use_i18n();
    let concept = RwSignal::new(0usize);
    let mode = RwSignal::new(Mode::Reading);
    let hover: RwSignal<Option<(u32, u32)>> = RwSignal::new(None);
    let side = Signal::derive(move || compare.selected.get().map(|(s, _)| s).unwrap_or(Side::Steered));
    let tokens = Signal::derive(move || compare.side(side.get()).get());
    let selected = Signal::derive(move || compare.selected.get().map(|(_, i)| i));
    let concepts =
        Signal::derive(move || compare.run.with(|r| r.as_ref().map(|r| r.concepts.clone()).unwrap_or_default()));
    let n_layer = Signal::derive(move || compare.run.with(|r| r.as_ref().map(|r| r.n_layer as usize).unwrap_or(0)));
    let column = Signal::derive(move || (concept.get(), concepts.with(Vec::len)));
    let concept_id = move || concepts.with(|c| c.get(concept.get()).cloned());
    let steered_blocks = Signal::derive(move || {
        let id = concept_id()?;
        let steered_now = compare.run.with(|r| r.as_ref().is_some_and(|r| r.coefs.contains_key(&id)));
        (steered_now && side.get() == Side::Steered)
            .then(|| steering.vectors.with(|vs| vs.iter().find(|v| v.id == id).map(|v| v.layers)))
            .flatten()
    });
    let title = Signal::derive(move || {
        let label = concept_id().map(|id| concept_label(&id, steering)).unwrap_or_default();
        (i18n.t().inside.heatmap_title)(&label)
    });
    let select_side = move |s: Side| {
        let len = compare.side(s).with_untracked(Vec::len) as u32;
        let i = selected.get_untracked().unwrap_or(0).min(len.saturating_sub(1));
        compare.selected.set(Some((s, i)));
    };
    let current_tok = move || {
        let i = selected.get()?;
        tokens.with(|v| v.iter().find(|t| t.index == i).cloned())
    };
    let readout = move || {
        let t = &i18n.t().inside;
        let Some((token, block)) = hover.get() else { return t.hover_hint.to_string() };
        let (c, k) = column.get();
        tokens
            .with(|v| {
                let tok = v.iter().find(|t| t.index == token)?;
                let at = block as usize * k + c;
                let proj = tok.data.projections.get(at).copied().flatten();
                let Some(proj) = proj else { return Some(format!("{}: {}", (t.block)(block), t.no_direction)) };
                Some(match mode.get() {
                    Mode::Change => match cell_value(tok, Mode::Change, block as usize, c, k) {
                        Some(change) => (t.cell_change)(block, token, change, proj),
                        None => t.change_plain_note.to_string(),
                    },
                    Mode::Reading => {
                        let norm = tok.data.norms.get(block as usize).copied().unwrap_or(0.0);
                        let cos = if norm > 0.0 { proj / norm } else { 0.0 };
                        (t.cell)(block, token, proj, norm, cos)
                    }
                })
            })
            .unwrap_or_default()
    };

    view! {
        <div class="inside-controls">
            <fieldset class="segmented">
                <legend>{move || i18n.t().inside.side_label}</legend>
                {[Side::Plain, Side::Steered]
                    .into_iter()
                    .map(|s| {
                        let label = move || {
                            let t = &i18n.t().compare;
                            if s == Side::Plain { t.plain_title } else { t.steered_title }
                        };
                        view! {
                            <label>
                                <input
                                    type="radio"
                                    name="inside-side"
                                    data-testid=if s == Side::Plain { "inside-side-plain" } else { "inside-side-steered" }
                                    prop:checked=move || side.get() == s
                                    on:change=move |_| select_side(s)
                                />
                                {label}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <label class="inline-field">
                {move || i18n.t().inside.concept_label}
                <select
                    data-testid="inside-concept"
                    on:change=move |ev| concept.set(event_target_value(&ev).parse().unwrap_or(0))
                    prop:value=move || concept.get().to_string()
                >
                    {move || {
                        concepts
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, id)| view! { <option value=i.to_string()>{concept_label(&id, steering)}</option> })
                            .collect_view()
                    }}
                </select>
            </label>
            <fieldset class="segmented">
                <legend>{move || i18n.t().inside.mode_label}</legend>
                {[(Mode::Reading, "inside-mode-reading"), (Mode::Change, "inside-mode-change")]
                    .into_iter()
                    .map(|(m, testid)| {
                        let label = move || {
                            let t = &i18n.t().inside;
                            if m == Mode::Reading { t.mode_reading } else { t.mode_change }
                        };
                        view! {
                            <label>
                                <input
                                    type="radio"
                                    name="inside-mode"
                                    data-testid=testid
                                    prop:checked=move || mode.get() == m
                                    on:change=move |_| mode.set(m)
                                />
                                {label}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </div>
        <p class="hint">
            {move || {
                let t = &i18n.t().inside;
                match (mode.get(), side.get()) {
                    (Mode::Change, Side::Plain) => t.change_plain_note,
                    (Mode::Change, Side::Steered) => t.mode_change_help,
                    (Mode::Reading, _) => t.mode_reading_help,
                }
            }}
        </p>
        <TokenStrip compare tokens side selected />
        <Heatmap tokens concept=column n_layer mode=mode.into() selected steered=steered_blocks hover title />
        <p class="legend" aria-hidden="true">
            <span class="swatch neg"></span>{move || i18n.t().inside.legend_low}
            <span class="swatch pos"></span>{move || i18n.t().inside.legend_high}
            {move || steered_blocks.get().map(|_| view! {
                <span class="swatch steered"></span>{i18n.t().inside.steered_blocks}
            })}
        </p>
        <p class="readout" data-testid="heatmap-readout" aria-live="polite">{readout}</p>
        {move || current_tok().map(|tok| {
            let s = side.get();
            view! {
                <ShiftBars tok=tok.clone() side=s />
                <Numbers tok concepts steering />
            }
        })}
    }
}

/// The selected reply's tokens as a row of buttons; one tab stop, arrow keys move the selection.
#[component]
fn TokenStrip(
    compare: CompareState,
    tokens: Signal<Vec<Arc<Tok>>>,
    side: Signal<Side>,
    selected: Signal<Option<u32>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = tokens.with_untracked(Vec::len) as u32;
        if n == 0 {
            return;
        }
        let i = selected.get_untracked().unwrap_or(0).min(n - 1);
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (i + 1).min(n - 1),
            "ArrowLeft" | "ArrowUp" => i.saturating_sub(1),
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        ev.prevent_default();
        compare.selected.set(Some((side.get_untracked(), next)));
        let id = format!("strip-tok-{next}");
        if let Some(el) = document().get_element_by_id(&id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    };
    view! {
        <div class="token-strip" role="listbox" aria-label=move || i18n.t().inside.tokens_label data-testid="token-strip" on:keydown=on_key>
            <For each=move || tokens.get() key=|t| t.index let:tok>
                {
                    let i = tok.index;
                    let is_selected = move || selected.get() == Some(i);
                    view! {
                        <button
                            type="button"
                            role="option"
                            id=format!("strip-tok-{i}")
                            class="strip-tok"
                            aria-selected=move || is_selected().to_string()
                            tabindex=move || if is_selected() || (selected.get().is_none() && i == 0) { "0" } else { "-1" }
                            on:click=move |_| compare.selected.set(Some((side.get_untracked(), i)))
                            on:mouseenter=move |_| compare.selected.set(Some((side.get_untracked(), i)))
                        >
                            {visible(&tok.data.piece)}
                        </button>
                    }
                }
            </For>
        </div>
    }
}

/// Every number of the selected token, as a table (for screen readers and exact values).
#[component]
fn Numbers(tok: Arc<Tok>, concepts: Signal<Vec<String>>, steering: SteeringState) -> impl IntoView {
    let i18n = use_i18n();
    let steered = tok.data.unsteered.is_some();
    let k = concepts.with_untracked(Vec::len);
    let n_layer = tok.data.norms.len();
    let fmt = |v: Option<f32>| v.map(|x| format!("{x:+.2}")).unwrap_or_else(|| "—".into());
    let head = move || {
        let t = &i18n.t().inside;
        concepts
            .get()
            .into_iter()
            .flat_map(|id| {
                let label = concept_label(&id, steering);
                let mut cols = vec![(t.col_projection)(&label)];
                if steered {
                    cols.push((t.col_change)(&label));
                }
                cols
            })
            .map(|c| view! { <th scope="col">{c}</th> })
            .collect_view()
    };
    let rows = (0..n_layer)
        .map(|b| {
            let cells = (0..k)
                .flat_map(|c| {
                    let proj = tok.data.projections.get(b * k + c).copied().flatten();
                    let mut out = vec![fmt(proj)];
                    if steered {
                        out.push(fmt(cell_value(&tok, Mode::Change, b, c, k)));
                    }
                    out
                })
                .map(|v| view! { <td>{v}</td> })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">{b}</th>
                    <td>{format!("{:.1}", tok.data.norms[b])}</td>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="numbers" data-testid="token-numbers">
            <summary>{move || i18n.t().inside.numbers}</summary>
            <div class="table-scroll">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{move || i18n.t().inside.col_block}</th>
                            <th scope="col">{move || i18n.t().inside.col_norm}</th>
                            {head}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
}
