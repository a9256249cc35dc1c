//! How steering moved the next-token distribution at one token: the top candidates, each with a
//! bar for its probability without steering and one with it, drawn as SVG.

use std::sync::Arc;

use leptos::prelude::*;

use super::compare::{Side, Tok};
use super::i18n::use_i18n;

const WIDTH: f64 = 560.0;
const LABEL: f64 = 130.0;
const NUMBERS: f64 = 175.0;
const ROW: f64 = 26.0;
const BAR: f64 = 9.0;

/// A token as it reads in a label: line breaks and tabs made visible.
pub fn visible(piece: &str) -> String {
    piece.replace('\n', "↵").replace('\t', "⇥")
}

#[component]
pub fn ShiftBars(tok: Arc<Tok>, side: Side) -> impl IntoView {
    let i18n = use_i18n();
    let top = tok.data.top.clone();
    let chosen = tok.data.token;
    let max = top.iter().map(|c| c.before.max(c.after)).fold(1e-6, f32::max) as f64;
    let span = WIDTH - LABEL - NUMBERS;
    let height = top.len() as f64 * ROW + 4.0;
    let title = {
        let piece = visible(&tok.data.piece);
        move || (i18n.t().inside.bars_title)(tok.index, &piece)
    };
    let rows = top
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let y = i as f64 * ROW + 2.0;
            let label = format!("“{}”", visible(&c.piece));
            let is_chosen = c.token == chosen;
            let numbers = match side {
                Side::Steered => format!("{:.1}% → {:.1}%", c.before * 100.0, c.after * 100.0),
                Side::Plain => format!("{:.1}%", c.after * 100.0),
            };
            let aria = {
                let piece = visible(&c.piece);
                move || (i18n.t().inside.bar_row)(&piece, c.before, c.after)
            };
            let before_w = c.before as f64 / max * span;
            let after_w = c.after as f64 / max * span;
            view! {
                <g class="bar-row" class:chosen=is_chosen role="listitem" aria-label=aria>
                    <text x=LABEL - 8.0 y=y + ROW / 2.0 + 4.0 text-anchor="end" class="bar-label">{label}</text>
                    {(side == Side::Steered).then(|| view! {
                        <rect x=LABEL y=y + 2.0 width=before_w height=BAR class="bar before"></rect>
                    })}
                    <rect
                        x=LABEL
                        y=if side == Side::Steered { y + 3.0 + BAR } else { y + 2.0 + BAR / 2.0 }
                        width=after_w
                        height=BAR
                        class=if side == Side::Steered { "bar after" } else { "bar before" }
                    ></rect>
                    <text x=WIDTH - 4.0 y=y + ROW / 2.0 + 4.0 text-anchor="end" class="bar-numbers">
                        {numbers}
                        {is_chosen.then(|| view! { <tspan class="chosen-tag">{move || format!(" · {}", i18n.t().inside.chosen)}</tspan> })}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="shift" data-testid="shift-bars">
            <figcaption>
                <strong>{title}</strong>
                <span class="hint">" "{move || i18n.t().inside.bars_desc}</span>
            </figcaption>
            {(side == Side::Steered).then(|| view! {
                <p class="legend" aria-hidden="true">
                    <span class="swatch before"></span>{move || i18n.t().inside.before}
                    <span class="swatch after"></span>{move || i18n.t().inside.after}
                </p>
            })}
            <svg viewBox=format!("0 0 {WIDTH} {height}") class="bars" role="list" preserveAspectRatio="xMinYMin meet">
                {rows}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_are_visible_in_labels() {
        assert_eq!(visible(" a\nb\t"), " a↵b⇥");
    }
}
