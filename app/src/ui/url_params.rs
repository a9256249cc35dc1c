//! The URL parameters that set the app's starting state (see the UI contract): `backend`,
//! `model`, `temperature`, `top_p`, `seed`, `max_tokens`.

use crate::protocol::{BackendChoice, Sampling};

use super::settings::{parse_max_tokens, parse_seed, parse_temperature, parse_top_p};

/// The model shipped next to the page.
pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// Which model to load at start.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelParam {
    /// The default model, [`DEFAULT_MODEL`].
    Default,
    /// Nothing until the user picks a file.
    None,
    /// This URL, relative to the page or absolute.
    Url(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct UrlParams {
    pub backend: BackendChoice,
    pub model: ModelParam,
    pub sampling: Sampling,
    /// One line per parameter that was ignored, shown to the user.
    pub warnings: Vec<String>,
}

impl UrlParams {
    /// The parameters of the current page; defaults if it has none or they cannot be read.
    pub fn from_location() -> Self {
        let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        match web_sys::UrlSearchParams::new_with_str(&search) {
            Ok(params) => Self::parse(|name| params.get(name)),
            Err(_) => Self::parse(|_| None),
        }
    }

    /// Reads the parameters through `get` (a query lookup), so this runs without a browser.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut warnings = Vec::new();
        let backend = match get("backend") {
            None => BackendChoice::Auto,
            Some(v) => BackendChoice::parse(v.trim()).unwrap_or_else(|| {
                warnings.push(format!("Ignored backend={v}: use auto, webgpu, cpu, ndarray or flex."));
                BackendChoice::Auto
            }),
        };
        let model = match get("model").as_deref().map(str::trim) {
            None | Some("") | Some("default") => ModelParam::Default,
            Some("none") => ModelParam::None,
            Some(url) => ModelParam::Url(url.to_string()),
        };
        let mut sampling = Sampling::default();
        apply(&get, "temperature", parse_temperature, &mut sampling.temperature, &mut warnings);
        apply(&get, "top_p", parse_top_p, &mut sampling.top_p, &mut warnings);
        apply(&get, "max_tokens", parse_max_tokens, &mut sampling.max_tokens, &mut warnings);
        apply(&get, "seed", parse_seed, &mut sampling.seed, &mut warnings);
        Self { backend, model, sampling, warnings }
    }
}

/// Sets `slot` from parameter `name` when it is present and valid, else records why not.
fn apply<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    parse: fn(&str) -> Result<T, String>,
    slot: &mut T,
    warnings: &mut Vec<String>,
) {
    if let Some(raw) = get(name) {
        match parse(&raw) {
            Ok(value) => *slot = value,
            Err(why) => warnings.push(format!("Ignored {name}={raw}: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> UrlParams {
        UrlParams::parse(|name| query.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_without_parameters() {
        let p = parse(&[]);
        assert_eq!(p.backend, BackendChoice::Auto);
        assert_eq!(p.model, ModelParam::Default);
        assert_eq!(p.sampling, Sampling::default());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn reads_every_parameter() {
        let p = parse(&[
            ("backend", "cpu"),
            ("model", "none"),
            ("temperature", "0"),
            ("top_p", "0.5"),
            ("max_tokens", "12"),
            ("seed", "7"),
        ]);
        assert_eq!(p.backend, BackendChoice::Ndarray);
        assert_eq!(p.model, ModelParam::None);
        assert_eq!(p.sampling, Sampling { temperature: 0.0, top_p: 0.5, max_tokens: 12, seed: 7 });
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn model_url_is_kept_as_given() {
        assert_eq!(parse(&[("model", "other/m.gguf")]).model, ModelParam::Url("other/m.gguf".into()));
        assert_eq!(parse(&[("model", "default")]).model, ModelParam::Default);
    }

    #[test]
    fn bad_values_are_ignored_with_a_warning() {
        let p = parse(&[("backend", "tpu"), ("temperature", "hot"), ("max_tokens", "-3")]);
        assert_eq!(p.backend, BackendChoice::Auto);
        assert_eq!(p.sampling, Sampling::default());
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("backend=tpu"));
    }
}
