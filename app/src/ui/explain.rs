//! The Learn view: what activation steering is, where it sits among other ways to control
//! generation, and its limits. Numbers come from public/vectors/manifest.json and docs/steering.md.

use leptos::prelude::*;

use super::i18n::{ExplainText, use_i18n};

/// Tiller's built-in vectors (public/vectors/manifest.json): id, blocks, strength, pairs.
const VECTORS: [(&str, (u32, u32), f32, u32); 3] =
    [("sentiment", (14, 24), 4.0, 266), ("formality", (10, 20), 2.0, 260), ("safety", (8, 16), 4.0, 247)];

#[component]
pub fn ExplainPanel() -> impl IntoView {
    let i18n = use_i18n();
    // The whole text follows the language; nothing here holds state worth keeping across a switch.
    move || {
        let text = i18n.t();
        let t = &text.explain;
        view! {
            <article class="panel explain" data-testid="explain" aria-labelledby="explain-title">
                <h2 id="explain-title">{t.title}</h2>
                <p>{t.intro}</p>

                <h3>{t.what_heading}</h3>
                <ol class="steps">{t.steps.iter().map(|s| view! { <li>{*s}</li> }).collect_view()}</ol>
                <p class="formula"><code>{t.formula_note}</code></p>
                <Diagram t />

                <h3>{t.vectors_heading}</h3>
                <ul>
                    {VECTORS
                        .iter()
                        .map(|&(id, layers, strength, pairs)| {
                            let label = text.steering.concept(id).map_or(id, |c| c.label);
                            view! { <li>{(t.vector_line)(label, layers, strength, pairs)}</li> }
                        })
                        .collect_view()}
                </ul>

                <h3>{t.compare_heading}</h3>
                <p>{t.compare_intro}</p>
                <div class="table-scroll" role="region" aria-labelledby="methods-caption" tabindex="0">
                    <table class="methods">
                        <caption id="methods-caption">{t.table_caption}</caption>
                        <thead>
                            <tr>{t.columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}</tr>
                        </thead>
                        <tbody>
                            {t.rows
                                .iter()
                                .map(|r| view! {
                                    <tr>
                                        <th scope="row">{r.name}<span class="cite">{r.cite}</span></th>
                                        <td>{r.changes}</td>
                                        <td>{r.when}</td>
                                        <td>{r.training}</td>
                                        <td>{r.cost}</td>
                                        <td>{r.tradeoffs}</td>
                                    </tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>

                <h3>{t.limits_heading}</h3>
                <ul class="limits">{t.limits.iter().map(|l| view! { <li>{*l}</li> }).collect_view()}</ul>

                <h3>{t.toxic_heading}</h3>
                <p>{t.toxic}</p>

                <h3 data-testid="conditional-heading">{t.conditional_heading}</h3>
                {t.conditional.iter().map(|p| view! { <p>{*p}</p> }).collect_view()}
                <p class="field-hint">{t.source}</p>
            </article>
        }
    }
}

/// How a steering vector is built (top) and applied (bottom). Drawn in SVG with the theme's
/// colours (classes in app/style.css), labelled in the page's language.
#[component]
fn Diagram(t: &'static ExplainText) -> impl IntoView {
    let d = &t.diagram;
    // Build row: four boxes joined by arrows.
    let boxes = [
        (10, d.pairs, d.positive, d.negative),
        (190, d.forward, d.record, ""),
        (370, d.mean, "v_N = mean(h⁺ − h⁻)", ""),
        (550, d.vector, d.per_block, ""),
    ];
    let arrow = |x1: i32, y1: i32, x2: i32, y2: i32| {
        view! { <line x1=x1 y1=y1 x2=x2 y2=y2 class="dg-arrow" marker-end="url(#dg-head)" /> }
    };
    // Generate row: blocks on the residual stream; those of L … M are steered.
    let blocks = [(70, "1", false), (170, "L", true), (290, "M", true), (410, "…", false)];
    view! {
        <figure class="diagram">
            <svg viewBox="0 0 720 330" role="img" aria-labelledby="dg-title dg-desc" data-testid="steering-diagram">
                <title id="dg-title">{d.title}</title>
                <desc id="dg-desc">{d.desc}</desc>
                <defs>
                    <marker id="dg-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="dg-head" />
                    </marker>
                </defs>
                <text x="10" y="20" class="dg-step">{d.build}</text>
                {boxes
                    .iter()
                    .map(|&(x, title, line1, line2)| view! {
                        <g>
                            <rect x=x y="32" width="160" height="78" rx="8" class="dg-box" />
                            <text x=x + 80 y="56" class="dg-title" text-anchor="middle">{title}</text>
                            <text x=x + 80 y="78" class="dg-small" text-anchor="middle">{line1}</text>
                            <text x=x + 80 y="98" class="dg-small" text-anchor="middle">{line2}</text>
                        </g>
                    })
                    .collect_view()}
                {arrow(172, 71, 188, 71)}
                {arrow(352, 71, 368, 71)}
                {arrow(532, 71, 548, 71)}

                <text x="10" y="150" class="dg-step">{d.generate}</text>
                <rect x="160" y="178" width="250" height="64" rx="8" class="dg-steered" />
                <text x="285" y="172" class="dg-small" text-anchor="middle">{d.steered}</text>
                <text x="10" y="206" class="dg-small">{d.tokens}</text>
                {arrow(10, 215, 700, 215)}
                <text x="600" y="206" class="dg-small">{d.stream}</text>
                <text x="600" y="240" class="dg-small">{d.next_token}</text>
                {blocks
                    .iter()
                    .map(|&(x, name, steered)| view! {
                        <g>
                            <rect x=x y="197" width="44" height="36" rx="6" class=if steered { "dg-block dg-on" } else { "dg-block" } />
                            <text x=x + 22 y="220" class="dg-title" text-anchor="middle">{name}</text>
                            {steered.then(|| view! {
                                <g>
                                    <circle cx=x + 66 cy="215" r="10" class="dg-plus" />
                                    <text x=x + 66 y="220" class="dg-title" text-anchor="middle">"+"</text>
                                    <line x1=x + 66 y1="282" x2=x + 66 y2="227" class="dg-arrow" marker-end="url(#dg-head)" />
                                </g>
                            })}
                        </g>
                    })
                    .collect_view()}
                <text x="268" y="220" class="dg-small" text-anchor="middle">"…"</text>
                <rect x="160" y="282" width="250" height="40" rx="8" class="dg-box dg-inject" />
                <text x="285" y="300" class="dg-title" text-anchor="middle">{d.inject}</text>
                <text x="285" y="316" class="dg-small" text-anchor="middle">{d.every_position}</text>
            </svg>
        </figure>
    }
}
