//! Slider presets: a few built in (for the concepts the model has) and the user's own, named and
//! kept in localStorage. A preset sets every slider: those it does not name go to 0.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::protocol::{Coefs, VectorInfo};

use super::i18n::ShareText;

const STORAGE_KEY: &str = "tiller.presets";

/// A preset the user saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub name: String,
    pub coefs: Coefs,
}

/// A built-in preset: its test id, its name, and the values it sets. Offered only when the model
/// has every concept it names.
pub struct Builtin {
    pub key: &'static str,
    pub name: fn(&ShareText) -> &'static str,
    pub values: &'static [(&'static str, f32)],
}

pub const BUILTINS: [Builtin; 6] = [
    Builtin { key: "neutral", name: |t| t.builtin_names.neutral, values: &[] },
    Builtin { key: "cheerful", name: |t| t.builtin_names.cheerful, values: &[("sentiment", 0.8)] },
    Builtin { key: "gloomy", name: |t| t.builtin_names.gloomy, values: &[("sentiment", -0.8)] },
    Builtin { key: "formal", name: |t| t.builtin_names.formal, values: &[("formality", 0.8)] },
    Builtin { key: "casual", name: |t| t.builtin_names.casual, values: &[("formality", -0.8)] },
    Builtin { key: "careful", name: |t| t.builtin_names.careful, values: &[("safety", 1.0)] },
];

/// The built-in presets that fit the loaded vectors (none without vectors).
pub fn builtins_for(vectors: &[VectorInfo]) -> Vec<&'static Builtin> {
    if vectors.is_empty() {
        return Vec::new();
    }
    BUILTINS.iter().filter(|b| b.values.iter().all(|(id, _)| vectors.iter().any(|v| v.id == *id))).collect()
}

/// Every loaded slider's value under a preset: its own value within the slider's range, else 0.
pub fn preset_values(preset: &Coefs, vectors: &[VectorInfo]) -> Coefs {
    vectors.iter().map(|v| (v.id.clone(), preset.get(&v.id).map_or(0.0, |x| x.clamp(v.min, v.max)))).collect()
}

impl Builtin {
    pub fn coefs(&self) -> Coefs {
        self.values.iter().map(|(id, x)| (id.to_string(), *x)).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    Taken(String),
}

/// The name a new preset gets: trimmed, not empty, not one already saved (ignoring case).
pub fn check_name(name: &str, saved: &[Preset]) -> Result<String, NameError> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if saved.iter().any(|p| p.name.to_lowercase() == name.to_lowercase()) {
        return Err(NameError::Taken(name));
    }
    Ok(name)
}

/// The saved presets from storage; anything unreadable counts as none, so a corrupt entry never
/// breaks the page.
pub fn parse_saved(json: &str) -> Vec<Preset> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The user's presets, in localStorage.
#[derive(Clone, Copy)]
pub struct Presets {
    pub saved: RwSignal<Vec<Preset>>,
}

impl Presets {
    pub fn load() -> Self {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        Self { saved: RwSignal::new(stored.as_deref().map(parse_saved).unwrap_or_default()) }
    }

    pub fn store(&self) -> Result<(), String> {
        let json = self.saved.with_untracked(serde_json::to_string).map_err(|e| e.to_string())?;
        let storage = storage().ok_or("localStorage is not available")?;
        storage.set_item(STORAGE_KEY, &json).map_err(|e| super::dom::js_error_message(&e))
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(id: &str, min: f32) -> VectorInfo {
        VectorInfo {
            id: id.into(),
            label: id.into(),
            low: "−".into(),
            high: "+".into(),
            min,
            max: 1.0,
            strength: 4.0,
            layers: (1, 2),
            origin: crate::protocol::VectorOrigin::Shipped { note: String::new() },
            gated: None,
        }
    }

    #[test]
    fn builtins_need_their_concepts() {
        let keys = |vs: &[VectorInfo]| builtins_for(vs).iter().map(|b| b.key).collect::<Vec<_>>();
        assert!(keys(&[]).is_empty());
        assert_eq!(keys(&[vector("sentiment", -1.0)]), ["neutral", "cheerful", "gloomy"]);
        let all = [vector("sentiment", -1.0), vector("formality", -1.0), vector("safety", 0.0)];
        assert_eq!(keys(&all).len(), 6);
    }

    #[test]
    fn a_preset_sets_every_loaded_slider_within_range() {
        let vs = [vector("sentiment", -1.0), vector("safety", 0.0), vector("mine", -1.0)];
        let preset = Coefs::from([("sentiment".into(), -0.8), ("safety".into(), -0.5), ("gone".into(), 1.0)]);
        assert_eq!(
            preset_values(&preset, &vs),
            Coefs::from([("sentiment".into(), -0.8), ("safety".into(), 0.0), ("mine".into(), 0.0)])
        );
    }

    #[test]
    fn names_must_be_new_and_not_empty() {
        let saved = [Preset { name: "Demo".into(), coefs: Coefs::new() }];
        assert_eq!(check_name("  ", &saved), Err(NameError::Empty));
        assert_eq!(check_name(" demo ", &saved), Err(NameError::Taken("demo".into())));
        assert_eq!(check_name("  my   demo ", &saved), Ok("my demo".into()));
    }

    #[test]
    fn saved_presets_round_trip_and_survive_garbage() {
        let presets = vec![Preset { name: "课堂".into(), coefs: Coefs::from([("sentiment".into(), 0.5)]) }];
        assert_eq!(parse_saved(&serde_json::to_string(&presets).unwrap()), presets);
        assert!(parse_saved("{not json").is_empty());
    }
}
