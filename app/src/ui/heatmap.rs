//! The layers × tokens heatmap of one concept's reading, drawn as SVG: a column per generated
//! token (appended as tokens arrive, never redrawn), a row per block.

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::compare::Tok;
use super::i18n::use_i18n;

const CELL_W: f64 = 14.0;
const CELL_H: f64 = 11.0;
const LEFT: f64 = 64.0;
const TOP: f64 = 6.0;
const BOTTOM: f64 = 22.0;

/// What a cell's colour shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// cos(stream, direction) after each block.
    Reading,
    /// Projection with steering minus without, at the same context (steered reply only).
    Change,
}

/// The number a cell shows for `tok` at `block` for concept column `c` of `k`, if any.
pub fn cell_value(tok: &Tok, mode: Mode, block: usize, c: usize, k: usize) -> Option<f32> {
    let at = block * k + c;
    let proj = (*tok.data.projections.get(at)?)?;
    match mode {
        Mode::Reading => {
            let norm = *tok.data.norms.get(block)?;
            (norm > 0.0).then(|| proj / norm)
        }
        Mode::Change => {
            let before = (*tok.data.unsteered.as_ref()?.get(at)?)?;
            Some(proj - before)
        }
    }
}

/// The largest |value| over the tokens, the colour scale's end (never 0).
pub fn scale_of<'a>(toks: impl Iterator<Item = &'a Tok>, mode: Mode, c: usize, k: usize, n_layer: usize) -> f32 {
    let floor = match mode {
        Mode::Reading => 0.02,
        Mode::Change => 0.01,
    };
    toks.flat_map(|t| (0..n_layer).filter_map(move |b| cell_value(t, mode, b, c, k)))
        .map(f32::abs)
        .fold(floor, f32::max)
}

/// The hovered cell: (token index, block).
pub type Hover = RwSignal<Option<(u32, u32)>>;

#[component]
pub fn Heatmap(
    tokens: Signal<Vec<Arc<Tok>>>,
    /// The concept's column and the number of columns.
    concept: Signal<(usize, usize)>,
    n_layer: Signal<usize>,
    mode: Signal<Mode>,
    selected: Signal<Option<u32>>,
    /// The blocks the concept's vector steers, marked beside the rows.
    steered: Signal<Option<(u32, u32)>>,
    hover: Hover,
    /// Accessible name of the drawing.
    title: Signal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let scale = Memo::new(move |_| {
        let (c, k) = concept.get();
        tokens.with(|toks| scale_of(toks.iter().map(|t| t.as_ref()), mode.get(), c, k, n_layer.get()))
    });
    let width = move || LEFT + tokens.with(Vec::len).max(1) as f64 * CELL_W + 8.0;
    let height = move || TOP + n_layer.get() as f64 * CELL_H + BOTTOM;
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some(svg) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let rect = svg.get_bounding_client_rect();
        let (x, y) = (ev.client_x() as f64 - rect.left(), ev.client_y() as f64 - rect.top());
        let (col, row) = (((x - LEFT) / CELL_W).floor(), ((y - TOP) / CELL_H).floor());
        let inside = col >= 0.0
            && row >= 0.0
            && (col as usize) < tokens.with_untracked(Vec::len)
            && (row as usize) < n_layer.get_untracked();
        hover.set(inside.then_some((col as u32, row as u32)));
    };
    let block_labels = move || {
        let n = n_layer.get();
        (0..n)
            .filter(|b| b % 5 == 0 || *b + 1 == n)
            .map(|b| {
                let y = TOP + (b as f64 + 0.8) * CELL_H;
                view! { <text x=LEFT - 10.0 y=y text-anchor="end" class="axis">{b}</text> }
            })
            .collect_view()
    };
    let steered_bar = move || {
        steered.get().map(|(a, b)| {
            let y = TOP + a as f64 * CELL_H;
            let h = (b - a + 1) as f64 * CELL_H;
            view! { <rect x=LEFT - 6.0 y=y width="3" height=h class="steered-mark"></rect> }
        })
    };
    let token_ticks = move || {
        let n = tokens.with(Vec::len);
        let y = TOP + n_layer.get() as f64 * CELL_H + 14.0;
        (0..n)
            .filter(|i| i % 10 == 0)
            .map(
                |i| view! { <text x=LEFT + (i as f64 + 0.5) * CELL_W y=y text-anchor="middle" class="axis">{i}</text> },
            )
            .collect_view()
    };
    let outline = move || {
        selected.get().filter(|&i| (i as usize) < tokens.with(Vec::len)).map(|i| {
            view! {
                <rect
                    x=LEFT + i as f64 * CELL_W
                    y=TOP
                    width=CELL_W
                    height=n_layer.get() as f64 * CELL_H
                    class="selected-col"
                ></rect>
            }
        })
    };
    view! {
        <div class="heatmap-scroll">
            <svg
                class="heatmap"
                data-testid="heatmap"
                role="img"
                aria-label=move || title.get()
                width=width
                height=height
                on:mousemove=on_move
                on:mouseleave=move |_| hover.set(None)
            >
                <desc>{move || i18n.t().inside.heatmap_desc}</desc>
                {block_labels}
                {steered_bar}
                <For each=move || tokens.get() key=|t| t.index let:tok>
                    <Column tok concept n_layer mode scale />
                </For>
                {token_ticks}
                {outline}
            </svg>
        </div>
    }
}

/// One token's cells: blocks top to bottom, coloured by sign (warm toward the concept's high
/// end, cool toward its low end) with opacity by size against the scale.
#[component]
fn Column(
    tok: Arc<Tok>,
    concept: Signal<(usize, usize)>,
    n_layer: Signal<usize>,
    mode: Signal<Mode>,
    scale: Memo<f32>,
) -> impl IntoView {
    let x = LEFT + tok.index as f64 * CELL_W;
    let index = tok.index;
    let cells = move || {
        let (c, k) = concept.get();
        let (mode, scale) = (mode.get(), scale.get());
        (0..n_layer.get())
            .map(|b| {
                let y = TOP + b as f64 * CELL_H;
                match cell_value(&tok, mode, b, c, k) {
                    Some(v) => {
                        let class = if v >= 0.0 { "cell pos" } else { "cell neg" };
                        let opacity = format!("{:.3}", (v.abs() / scale).clamp(0.0, 1.0));
                        view! {
                            <rect x=x y=y width=CELL_W - 1.0 height=CELL_H - 1.0 class=class fill-opacity=opacity></rect>
                        }
                        .into_any()
                    }
                    None => view! {
                        <rect x=x y=y width=CELL_W - 1.0 height=CELL_H - 1.0 class="cell none"></rect>
                    }
                    .into_any(),
                }
            })
            .collect_view()
    };
    view! { <g data-token=index>{cells}</g> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SideToken;

    fn tok(projections: Vec<Option<f32>>, unsteered: Option<Vec<Option<f32>>>) -> Tok {
        let data =
            SideToken { token: 1, piece: "a".into(), projections, norms: vec![10.0, 20.0], unsteered, top: Vec::new() };
        Tok { index: 0, data }
    }

    #[test]
    fn readings_are_cosines_and_changes_are_differences() {
        // Two blocks × two concepts.
        let t = tok(vec![None, Some(1.0), Some(4.0), Some(-2.0)], Some(vec![None, Some(0.5), Some(1.0), None]));
        assert_eq!(cell_value(&t, Mode::Reading, 0, 0, 2), None);
        assert_eq!(cell_value(&t, Mode::Reading, 0, 1, 2), Some(0.1));
        assert_eq!(cell_value(&t, Mode::Reading, 1, 1, 2), Some(-0.1));
        assert_eq!(cell_value(&t, Mode::Change, 1, 0, 2), Some(3.0));
        assert_eq!(cell_value(&t, Mode::Change, 1, 1, 2), None, "no unsteered reading there");
        assert_eq!(scale_of([&t].into_iter(), Mode::Change, 0, 2, 2), 3.0);
        assert_eq!(scale_of(std::iter::empty(), Mode::Reading, 0, 2, 2), 0.02);
    }

    #[test]
    fn a_plain_token_has_no_change() {
        let t = tok(vec![Some(1.0), Some(1.0)], None);
        assert_eq!(cell_value(&t, Mode::Change, 0, 0, 1), None);
    }
}
