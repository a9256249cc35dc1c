//! Every string the UI shows, in English and in Chinese.
//!
//! A language is one [`Text`] value whose fields are the strings, or functions that format them,
//! grouped by the part of the page that shows them. A string missing in one language is a
//! compile error, not a blank on the page. Text from the model and the engine's error details
//! are shown as they come (the model writes English).

mod app;
mod chat;
mod compare;
mod explain;
mod failure;
mod inside;
mod model;
mod msg;
mod settings;
mod share;
mod steering;
mod vectors;

use leptos::prelude::*;

pub use app::AppText;
pub use chat::ChatText;
pub use compare::CompareText;
pub use explain::{ExplainText, MethodRow};
pub use failure::FailureText;
pub use inside::InsideText;
pub use model::ModelText;
pub use msg::Msg;
pub use settings::SettingsText;
pub use share::{ExportWords, ShareText};
pub use steering::SteeringText;
pub use vectors::{Block, PairPart, VectorsText};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag, for `<html lang>`, the URL and storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }

    /// `en…` or `zh…` (any region or script), as in a URL, storage or `navigator.language`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s == "en" || s.starts_with("en-") {
            Some(Self::En)
        } else if s == "zh" || s.starts_with("zh-") {
            Some(Self::Zh)
        } else {
            None
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Zh => "中文",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Self::En => &EN,
            Self::Zh => &ZH,
        }
    }
}

pub struct Text {
    pub app: AppText,
    pub compare: CompareText,
    pub inside: InsideText,
    pub chat: ChatText,
    pub model: ModelText,
    pub settings: SettingsText,
    pub steering: SteeringText,
    pub vectors: VectorsText,
    pub share: ShareText,
    pub explain: ExplainText,
    pub failure: FailureText,
}

pub static EN: Text = Text {
    app: app::EN,
    compare: compare::EN,
    inside: inside::EN,
    chat: chat::EN,
    model: model::EN,
    settings: settings::EN,
    steering: steering::EN,
    vectors: vectors::EN,
    share: share::EN,
    explain: explain::EN,
    failure: failure::EN,
};

pub static ZH: Text = Text {
    app: app::ZH,
    compare: compare::ZH,
    inside: inside::ZH,
    chat: chat::ZH,
    model: model::ZH,
    settings: settings::ZH,
    steering: steering::ZH,
    vectors: vectors::ZH,
    share: share::ZH,
    explain: explain::ZH,
    failure: failure::ZH,
};

/// The language of the page, shared through Leptos context.
#[derive(Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

impl I18n {
    pub fn new(lang: Lang) -> Self {
        Self { lang: RwSignal::new(lang) }
    }

    /// The strings of the current language; reading it in a closure re-renders on a switch.
    pub fn t(&self) -> &'static Text {
        self.lang.get().text()
    }

    pub fn t_untracked(&self) -> &'static Text {
        self.lang.get_untracked().text()
    }
}

/// The page's [`I18n`], provided by the App.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_from_tags() {
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("zh-Hant-TW"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN-gb"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
    }

    #[test]
    fn chinese_text_is_chinese() {
        // A guard against a copied English group: its title must hold CJK characters.
        let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(cjk(ZH.app.tab_compare) && cjk(ZH.compare.title) && cjk(ZH.inside.title));
        assert!(!cjk(EN.app.tab_compare) && !cjk(EN.compare.title) && !cjk(EN.inside.title));
    }
}
