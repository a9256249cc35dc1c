//! Steering on the UI side: the vectors the loaded model has, each slider's value, and the
//! updates a moved slider sends during a reply. The panel is `steering_view`.

use std::time::Duration;

use leptos::prelude::*;

use crate::protocol::{Coefs, Failure, Request, VectorInfo};

use super::i18n::SteeringText;
use super::worker_bridge::Bridge;

/// How often moving a slider during a reply updates the worker.
const PUSH_EVERY: Duration = Duration::from_millis(100);

/// A vector's label, ends and note in the current language: the built-in concepts' by id, a
/// user's vector's as it was named.
#[derive(Clone, Debug, PartialEq)]
pub struct Words {
    pub label: String,
    pub low: String,
    pub high: String,
    pub note: String,
}

pub fn words(t: &SteeringText, v: &VectorInfo) -> Words {
    match t.concept(&v.id) {
        Some(c) => Words { label: c.label.into(), low: c.low.into(), high: c.high.into(), note: c.note.into() },
        None => Words { label: v.label.clone(), low: v.low.clone(), high: v.high.clone(), note: (t.origin)(v) },
    }
}

#[derive(Clone, Copy)]
pub struct SteeringState {
    /// The vectors of the loaded model (none while loading).
    pub vectors: RwSignal<Vec<VectorInfo>>,
    /// Why the loaded model came without vectors, when the worker says.
    pub why_none: RwSignal<Option<Failure>>,
    pub coefs: RwSignal<Coefs>,
    /// Whether an update for the worker is already scheduled.
    push_pending: StoredValue<bool>,
}

impl SteeringState {
    pub fn new() -> Self {
        Self {
            vectors: RwSignal::new(Vec::new()),
            why_none: RwSignal::new(None),
            coefs: RwSignal::new(Coefs::new()),
            push_pending: StoredValue::new(false),
        }
    }

    /// Takes the vectors of a newly loaded model (or none, with the reason when known). Values
    /// outlive a reload (a backend change reloads the same model), within the new model's ranges.
    pub fn set_vectors(&self, vectors: Vec<VectorInfo>, why_none: Option<Failure>) {
        self.coefs.update(|coefs| {
            for v in &vectors {
                if let Some(c) = coefs.get_mut(&v.id) {
                    *c = c.clamp(v.min, v.max);
                }
            }
        });
        self.vectors.set(vectors);
        self.why_none.set(why_none);
    }

    /// A vector built or imported here joins the loaded ones (once).
    pub fn add(&self, info: &VectorInfo) {
        self.vectors.update(|vs| {
            if !vs.iter().any(|v| v.id == info.id) {
                vs.push(info.clone());
            }
        });
    }

    /// The non-zero coefficients of the loaded vectors, as sent with each request.
    pub fn active(&self) -> Coefs {
        self.vectors.with_untracked(|vectors| {
            self.coefs.with_untracked(|coefs| {
                coefs
                    .iter()
                    .filter(|(id, value)| **value != 0.0 && vectors.iter().any(|v| &v.id == *id))
                    .map(|(id, value)| (id.clone(), *value))
                    .collect()
            })
        })
    }

    pub fn value(&self, id: &str) -> f32 {
        self.coefs.with(|c| c.get(id).copied().unwrap_or(0.0))
    }

    /// Sets a coefficient; during a reply the worker hears of it within [`PUSH_EVERY`].
    pub fn set(&self, id: &str, value: f32, bridge: Bridge, generating: Signal<bool>) {
        self.coefs.update(|c| {
            c.insert(id.to_string(), value);
        });
        self.push_soon(bridge, generating);
    }

    /// Sets several coefficients at once (a preset), each within its vector's range.
    pub fn set_all(&self, values: &Coefs, bridge: Bridge, generating: Signal<bool>) {
        self.vectors.with_untracked(|vectors| {
            self.coefs.update(|c| {
                for v in vectors {
                    if let Some(x) = values.get(&v.id) {
                        c.insert(v.id.clone(), x.clamp(v.min, v.max));
                    }
                }
            })
        });
        self.push_soon(bridge, generating);
    }

    fn push_soon(&self, bridge: Bridge, generating: Signal<bool>) {
        if generating.get_untracked() && !self.push_pending.get_value() {
            self.push_pending.set_value(true);
            let this = *self;
            // Trailing throttle: the timer sends the latest values, whatever moved meanwhile.
            set_timeout(
                move || {
                    this.push_pending.set_value(false);
                    if generating.get_untracked() {
                        bridge.send(Request::SetSteering { coefs: this.active() });
                    }
                },
                PUSH_EVERY,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(id: &str, min: f32, max: f32) -> VectorInfo {
        VectorInfo {
            id: id.into(),
            label: id.into(),
            low: "low".into(),
            high: "high".into(),
            min,
            max,
            strength: 4.0,
            layers: (10, 20),
            origin: crate::protocol::VectorOrigin::Shipped { note: "test".into() },
            gated: None,
        }
    }

    /// A vector built or imported here is described by the page, in its language, from what the
    /// worker reported.
    #[test]
    fn a_user_vectors_note_is_worded_in_both_languages() {
        use crate::protocol::{BuildMethod, VectorOrigin};
        let mut v = vector("mine", -1.0, 1.0);
        v.origin = VectorOrigin::Built { pairs: 4, file: None, method: BuildMethod::Mean };
        let en = words(&crate::ui::i18n::EN.steering, &v).note;
        assert!(
            en.starts_with("Built here from 4 pairs (typed pairs, mean difference), blocks 10–20; ±1 = strength 4.00."),
            "{en}"
        );
        let zh = words(&crate::ui::i18n::ZH.steering, &v).note;
        assert!(zh.contains("4 对") && zh.contains("均值差") && zh.contains("10–20"), "{zh}");
        v.origin = VectorOrigin::Imported { file: "kind.gguf".into() };
        assert!(words(&crate::ui::i18n::ZH.steering, &v).note.starts_with("从 kind.gguf 导入"));
        assert!(words(&crate::ui::i18n::EN.steering, &v).note.starts_with("Imported from kind.gguf, blocks 10–20"));
    }

    #[test]
    fn english_concept_words_match_the_manifest() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../public/vectors/manifest.json")).unwrap();
        let vectors = manifest["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), crate::ui::i18n::EN.steering.concepts.len());
        for v in vectors {
            let c = crate::ui::i18n::EN.steering.concept(v["id"].as_str().unwrap()).unwrap();
            assert_eq!(
                (c.label, c.low, c.high, c.note),
                (
                    v["label"].as_str().unwrap(),
                    v["low"].as_str().unwrap(),
                    v["high"].as_str().unwrap(),
                    v["note"].as_str().unwrap(),
                )
            );
            assert!(crate::ui::i18n::ZH.steering.concept(v["id"].as_str().unwrap()).is_some());
        }
    }

    #[test]
    fn only_loaded_concepts_are_sent_within_their_range() {
        let steering = SteeringState::new();
        steering.coefs.set(Coefs::from([("sentiment".into(), -0.5), ("safety".into(), -0.4), ("gone".into(), 1.0)]));
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0), vector("safety", 0.0, 1.0)], None);
        assert_eq!(steering.active(), Coefs::from([("sentiment".into(), -0.5)]));
    }

    #[test]
    fn values_survive_a_reload_but_are_not_sent_without_vectors() {
        let steering = SteeringState::new();
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0)], None);
        steering.coefs.set(Coefs::from([("sentiment".into(), 0.5)]));
        steering.set_vectors(Vec::new(), Some(Failure::NoManifest));
        assert!(steering.active().is_empty());
        assert_eq!(steering.why_none.get_untracked(), Some(Failure::NoManifest));
        steering.set_vectors(vec![vector("sentiment", -1.0, 1.0)], None);
        assert_eq!(steering.active(), Coefs::from([("sentiment".into(), 0.5)]));
    }
}
