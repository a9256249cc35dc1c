//! The URL parameters that set the app's starting state (see the UI contract): `backend`,
//! `model`, `temperature`, `top_p`, `seed`, `max_tokens`, `lang`, `view`, `prompt` and one
//! `s.<concept>` per steering coefficient; and the share link that writes them back.

use crate::protocol::{BackendChoice, Coefs, Sampling};

use super::i18n::{Lang, Msg, Text};
use super::input::{Invalid, parse_max_tokens, parse_seed, parse_temperature, parse_top_p};
use super::tabs::ViewTab;

/// The model shipped next to the page.
pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The prefix of a steering coefficient's parameter: `s.sentiment=-0.5`.
pub const COEF_PREFIX: &str = "s.";

/// The widest range of any slider; a concept's own range is checked once its vector is known.
pub const COEF_RANGE: (f32, f32) = (-1.0, 1.0);

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
    /// `lang`: the page's language.
    pub lang: Option<Lang>,
    /// `view`: the view shown first.
    pub view: Option<ViewTab>,
    /// `s.<concept>`: steering coefficients, each within [`COEF_RANGE`]. They are applied once the
    /// model's vectors are known; then values outside a concept's own range, and concepts the
    /// model has no vector for, are reported (see [`check_coefs`]).
    pub coefs: Coefs,
    /// `prompt`: text for the chat input (and the Compare view).
    pub prompt: Option<String>,
    /// One per parameter that was ignored, shown to the user.
    pub warnings: Vec<UrlWarning>,
}

/// A parameter that was ignored, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlWarning {
    pub name: String,
    pub value: String,
    pub why: Why,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    Backend,
    Lang,
    View,
    Setting(Invalid),
    CoefNumber,
    /// Outside this range.
    CoefRange(f32, f32),
}

impl UrlWarning {
    pub fn text(&self, t: &Text) -> String {
        let s = &t.settings;
        let why = match self.why {
            Why::Backend => s.use_backend.to_string(),
            Why::Lang => s.use_lang.to_string(),
            Why::View => s.use_view.to_string(),
            Why::Setting(invalid) => invalid.text(s).to_string(),
            Why::CoefNumber => s.coef_number.to_string(),
            Why::CoefRange(min, max) => (s.coef_range)(min, max),
        };
        (s.ignored)(&self.name, &self.value, &why)
    }

    /// The notice, worded in whatever language the page shows.
    pub fn into_msg(self) -> Msg {
        Msg::new(move |t| self.text(t))
    }
}

impl UrlParams {
    /// The parameters of the current page; defaults if it has none or they cannot be read.
    pub fn from_location() -> Self {
        let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        Self::parse(&parse_query(&search))
    }

    /// Reads decoded `(name, value)` pairs, so this runs without a browser. When a name repeats,
    /// the first value counts, as with `URLSearchParams.get`.
    pub fn parse(query: &[(String, String)]) -> Self {
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut warnings = Vec::new();
        let mut warn = |name: &str, value: &str, why: Why| {
            warnings.push(UrlWarning { name: name.to_string(), value: value.to_string(), why })
        };
        let backend = match get("backend") {
            None => BackendChoice::Auto,
            Some(v) => BackendChoice::parse(v.trim()).unwrap_or_else(|| {
                warn("backend", &v, Why::Backend);
                BackendChoice::Auto
            }),
        };
        let model = match get("model").as_deref().map(str::trim) {
            None | Some("") | Some("default") => ModelParam::Default,
            Some("none") => ModelParam::None,
            Some(url) => ModelParam::Url(url.to_string()),
        };
        let mut sampling = Sampling::default();
        apply(&get, "temperature", parse_temperature, &mut sampling.temperature, &mut warn);
        apply(&get, "top_p", parse_top_p, &mut sampling.top_p, &mut warn);
        apply(&get, "max_tokens", parse_max_tokens, &mut sampling.max_tokens, &mut warn);
        apply(&get, "seed", parse_seed, &mut sampling.seed, &mut warn);
        let lang = get("lang").and_then(|v| {
            let lang = Lang::parse(&v);
            if lang.is_none() {
                warn("lang", &v, Why::Lang);
            }
            lang
        });
        let view = get("view").and_then(|v| {
            let view = ViewTab::parse(&v);
            if view.is_none() {
                warn("view", &v, Why::View);
            }
            view
        });
        let mut coefs = Coefs::new();
        for (name, raw) in query {
            let Some(id) = name.strip_prefix(COEF_PREFIX) else { continue };
            if id.is_empty() || coefs.contains_key(id) {
                continue;
            }
            match raw.trim().parse::<f32>() {
                Ok(v) if !v.is_finite() => warn(name, raw, Why::CoefNumber),
                Ok(v) if !(COEF_RANGE.0..=COEF_RANGE.1).contains(&v) => {
                    warn(name, raw, Why::CoefRange(COEF_RANGE.0, COEF_RANGE.1))
                }
                Ok(v) => {
                    coefs.insert(id.to_string(), v);
                }
                Err(_) => warn(name, raw, Why::CoefNumber),
            }
        }
        let prompt = get("prompt").filter(|p| !p.trim().is_empty());
        Self { backend, model, sampling, lang, view, coefs, prompt, warnings }
    }
}

/// Splits the coefficients from a URL by what the loaded vectors allow: returns those to apply,
/// the values outside their concept's own range (as warnings), and the ids the model has no
/// vector for.
pub fn check_coefs(coefs: &Coefs, ranges: &[(String, f32, f32)]) -> (Coefs, Vec<UrlWarning>, Vec<String>) {
    let mut apply = Coefs::new();
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    for (id, &value) in coefs {
        match ranges.iter().find(|(vid, _, _)| vid == id) {
            Some(&(_, min, max)) if (min..=max).contains(&value) => {
                apply.insert(id.clone(), value);
            }
            Some(&(_, min, max)) => warnings.push(UrlWarning {
                name: format!("{COEF_PREFIX}{id}"),
                value: value.to_string(),
                why: Why::CoefRange(min, max),
            }),
            None => unknown.push(id.clone()),
        }
    }
    (apply, warnings, unknown)
}

/// What a share link restores.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    pub coefs: Coefs,
    pub prompt: String,
    pub seed: u64,
    pub view: ViewTab,
    pub lang: Lang,
}

/// The query string (with its `?`) of a share link. Zero coefficients and an empty prompt are
/// left out, so a link stays short; the order is fixed so equal setups give equal links.
pub fn share_query(shared: &Shared) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (id, value) in &shared.coefs {
        if *value != 0.0 {
            pairs.push((format!("{COEF_PREFIX}{id}"), super::format::coef_text(*value)));
        }
    }
    if !shared.prompt.trim().is_empty() {
        pairs.push(("prompt".into(), shared.prompt.clone()));
    }
    pairs.push(("seed".into(), shared.seed.to_string()));
    pairs.push(("view".into(), shared.view.as_str().into()));
    let lang = match shared.lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    };
    pairs.push(("lang".into(), lang.into()));
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    format!("?{}", query.join("&"))
}

/// `?a=1&b=x%20y` → [("a", "1"), ("b", "x y")], as `URLSearchParams` decodes it (`+` is a space).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sets `slot` from parameter `name` when it is present and valid, else records why not.
fn apply<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    parse: fn(&str) -> Result<T, Invalid>,
    slot: &mut T,
    warn: &mut impl FnMut(&str, &str, Why),
) {
    if let Some(raw) = get(name) {
        match parse(&raw) {
            Ok(value) => *slot = value,
            Err(invalid) => warn(name, &raw, Why::Setting(invalid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::{EN, ZH};

    fn parse(query: &[(&str, &str)]) -> UrlParams {
        let pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        UrlParams::parse(&pairs)
    }

    #[test]
    fn defaults_without_parameters() {
        let p = parse(&[]);
        assert_eq!(p.backend, BackendChoice::Auto);
        assert_eq!(p.model, ModelParam::Default);
        assert_eq!(p.sampling, Sampling::default());
        assert!(p.coefs.is_empty() && p.prompt.is_none());
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
            ("s.sentiment", "-0.5"),
            ("prompt", "Hi there"),
        ]);
        assert_eq!(p.backend, BackendChoice::Cpu);
        assert_eq!(p.model, ModelParam::None);
        assert_eq!(p.sampling, Sampling { temperature: 0.0, top_p: 0.5, max_tokens: 12, seed: 7 });
        assert_eq!(p.coefs, Coefs::from([("sentiment".into(), -0.5)]));
        assert_eq!(p.prompt.as_deref(), Some("Hi there"));
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
        assert_eq!(p.warnings[0].text(&EN), "Ignored backend=tpu: use auto, webgpu or cpu.");
        assert!(p.warnings[1].text(&ZH).starts_with("已忽略 temperature=hot"));
    }

    #[test]
    fn coefficients_out_of_range_are_reported_not_clamped() {
        let p = parse(&[("s.sentiment", "1.5"), ("s.formality", "abc"), ("s.safety", "0.25"), ("s.x", "NaN")]);
        assert_eq!(p.coefs, Coefs::from([("safety".into(), 0.25)]));
        let names: Vec<&str> = p.warnings.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["s.sentiment", "s.formality", "s.x"]);
        assert_eq!(p.warnings[0].why, Why::CoefRange(-1.0, 1.0));
    }

    #[test]
    fn coefficients_are_checked_against_the_loaded_vectors() {
        let coefs = Coefs::from([("sentiment".into(), -0.5), ("safety".into(), -0.5), ("mine".into(), 0.2)]);
        let ranges = [("sentiment".to_string(), -1.0, 1.0), ("safety".to_string(), 0.0, 1.0)];
        let (apply, warnings, unknown) = check_coefs(&coefs, &ranges);
        assert_eq!(apply, Coefs::from([("sentiment".into(), -0.5)]));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].text(&EN), "Ignored s.safety=-0.5: a steering value must be from 0 to 1");
        assert_eq!(unknown, ["mine"]);
    }

    #[test]
    fn share_links_round_trip() {
        let shared = Shared {
            coefs: Coefs::from([("sentiment".into(), -0.5), ("formality".into(), 0.0), ("safety".into(), 0.75)]),
            prompt: "Tell me about rain & snow? 100% 雨".into(),
            seed: 42,
            view: ViewTab::Learn,
            lang: Lang::Zh,
        };
        let query = share_query(&shared);
        assert!(query.starts_with("?s.safety=0.75&s.sentiment=-0.50&prompt=Tell%20me"), "{query}");
        assert!(!query.contains("formality"), "zero coefficients are left out: {query}");
        let p = UrlParams::parse(&parse_query(&query));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.coefs, Coefs::from([("sentiment".into(), -0.5), ("safety".into(), 0.75)]));
        assert_eq!(p.prompt.as_deref(), Some(shared.prompt.as_str()));
        assert_eq!(p.sampling.seed, 42);
        assert_eq!(p.view, Some(ViewTab::Learn));
        assert_eq!(p.lang, Some(Lang::Zh));
    }

    #[test]
    fn queries_decode_like_url_search_params() {
        assert_eq!(
            parse_query("?a=1&b=x+y%21&c&=z&bad=%zz%"),
            [("a", "1"), ("b", "x y!"), ("c", ""), ("", "z"), ("bad", "%zz%")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(parse_query("?p=%E9%9B%A8"), [("p".to_string(), "雨".to_string())]);
    }
}
