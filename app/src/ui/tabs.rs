//! The four views of the page and the tab strip that switches between them (WAI-ARIA tabs:
//! arrow keys move between tabs, Home/End jump to the ends).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::i18n::use_i18n;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewTab {
    Chat,
    Compare,
    Inside,
    Learn,
}

impl ViewTab {
    pub const ALL: [ViewTab; 4] = [ViewTab::Chat, ViewTab::Compare, ViewTab::Inside, ViewTab::Learn];

    /// The value of the `view` URL parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Compare => "compare",
            Self::Inside => "inside",
            Self::Learn => "learn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    fn label(self) -> &'static str {
        let t = &use_i18n().t().app;
        match self {
            Self::Chat => t.tab_chat,
            Self::Compare => t.tab_compare,
            Self::Inside => t.tab_inside,
            Self::Learn => t.tab_learn,
        }
    }

    pub fn tab_id(self) -> String {
        format!("tab-{}", self.as_str())
    }

    pub fn panel_id(self) -> String {
        format!("panel-{}", self.as_str())
    }
}

#[component]
pub fn Tabs(current: RwSignal<ViewTab>) -> impl IntoView {
    let i18n = use_i18n();
    let focus = |tab: ViewTab| {
        if let Some(el) = document().get_element_by_id(&tab.tab_id())
            && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = el.focus();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let i = ViewTab::ALL.iter().position(|t| *t == current.get_untracked()).unwrap_or(0);
        let n = ViewTab::ALL.len();
        let next = match ev.key().as_str() {
            "ArrowRight" => (i + 1) % n,
            "ArrowLeft" => (i + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        ev.prevent_default();
        current.set(ViewTab::ALL[next]);
        focus(ViewTab::ALL[next]);
    };
    view! {
        <nav class="tabs" role="tablist" aria-label=move || i18n.t().app.views_label on:keydown=on_key>
            {ViewTab::ALL
                .into_iter()
                .map(|tab| {
                    let selected = move || current.get() == tab;
                    view! {
                        <button
                            type="button"
                            role="tab"
                            id=tab.tab_id()
                            data-testid=format!("tab-{}", tab.as_str())
                            aria-controls=tab.panel_id()
                            aria-selected=move || selected().to_string()
                            tabindex=move || if selected() { "0" } else { "-1" }
                            on:click=move |_| current.set(tab)
                        >
                            {move || tab.label()}
                        </button>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_names_round_trip() {
        for v in ViewTab::ALL {
            assert_eq!(ViewTab::parse(v.as_str()), Some(v));
        }
        assert_eq!(ViewTab::parse("nope"), None);
    }
}
