//! The page frame: header, view tabs, language and theme switches.

pub struct AppText {
    pub tagline: &'static str,
    pub views_label: &'static str,
    pub tab_chat: &'static str,
    pub tab_compare: &'static str,
    pub tab_inside: &'static str,
    pub tab_learn: &'static str,
    pub language: &'static str,
    pub theme: &'static str,
    pub theme_system: &'static str,
    pub theme_light: &'static str,
    pub theme_dark: &'static str,
    pub skip_to_main: &'static str,
}

pub const EN: AppText = AppText {
    tagline: "A small language model in your browser, steerable",
    views_label: "Views",
    tab_chat: "Chat",
    tab_compare: "Compare",
    tab_inside: "Inside the model",
    tab_learn: "Learn",
    language: "Language",
    theme: "Theme",
    theme_system: "System theme",
    theme_light: "Light",
    theme_dark: "Dark",
    skip_to_main: "Skip to the main content",
};

pub const ZH: AppText = AppText {
    tagline: "在浏览器里运行、可以引导的小型语言模型",
    views_label: "视图",
    tab_chat: "对话",
    tab_compare: "对比",
    tab_inside: "模型内部",
    tab_learn: "讲解",
    language: "语言",
    theme: "主题",
    theme_system: "跟随系统",
    theme_light: "浅色",
    theme_dark: "深色",
    skip_to_main: "跳到主要内容",
};
