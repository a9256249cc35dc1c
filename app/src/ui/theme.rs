//! The colour theme: follow the system (the default), or light or dark. The choice is kept in
//! localStorage and applied as `data-theme` on the root element; app/style.css does the rest.

use leptos::prelude::*;

use super::i18n::use_i18n;

const STORAGE_KEY: &str = "tiller.theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s.trim())
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Sets `data-theme` (absent for the system's choice, which the stylesheet's `light-dark()` colours follow).
fn apply(theme: Theme) {
    let Some(root) = document().document_element() else { return };
    let _ = match theme {
        Theme::System => root.remove_attribute("data-theme"),
        other => root.set_attribute("data-theme", other.as_str()),
    };
}

/// The stored theme, applied at once so the page does not flash the other one.
pub fn initial_theme() -> Theme {
    let theme = storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .and_then(|s| Theme::parse(&s))
        .unwrap_or(Theme::System);
    apply(theme);
    theme
}

#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let theme = RwSignal::new(initial_theme());
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(choice) = Theme::parse(&event_target_value(&ev)) {
            theme.set(choice);
            apply(choice);
            if let Some(s) = storage() {
                let _ = s.set_item(STORAGE_KEY, choice.as_str());
            }
        }
    };
    let name = move |choice: Theme| {
        let t = &i18n.t().app;
        match choice {
            Theme::System => t.theme_system,
            Theme::Light => t.theme_light,
            Theme::Dark => t.theme_dark,
        }
    };
    view! {
        <label class="theme-switch">
            <span class="visually-hidden">{move || i18n.t().app.theme}</span>
            <select data-testid="theme" on:change=on_change prop:value=move || theme.get().as_str()>
                {Theme::ALL
                    .into_iter()
                    .map(|choice| view! {
                        <option value=choice.as_str() selected=move || theme.get() == choice>{move || name(choice)}</option>
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_names_round_trip() {
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), Some(t));
        }
        assert_eq!(Theme::parse("sepia"), None);
    }
}
