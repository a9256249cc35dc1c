//! The steering manifest: which vectors a site (or an evaluation) offers as sliders, the files
//! they come from and what ±1 means for each. `public/vectors/manifest.json` is one; the worker
//! and `tiller eval` read it through this type.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `relative_strength` when a manifest gives none: the built-in sentiment vector's strength over
/// the mean residual norm of its blocks (4.0 / 250.93, blocks 14–24, from `tiller.residual_norms`
/// in public/vectors/sentiment.gguf).
pub const DEFAULT_RELATIVE_STRENGTH: f32 = 0.01594;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The model's `general.name`, when the manifest names it: other models of the same width
    /// would take the vectors without complaint and mean nothing by them.
    #[serde(default)]
    pub general_name: Option<String>,
    pub n_embd: usize,
    pub vectors: Vec<Slider>,
    /// Coefficient 1 of a built or imported vector = this × the mean residual norm of its blocks.
    #[serde(default)]
    pub relative_strength: Option<f32>,
}

/// One slider: a control-vector file, the blocks it steers and its calibrated strength.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slider {
    pub id: String,
    pub label: String,
    /// What the two ends mean ("negative", "positive").
    pub low: String,
    pub high: String,
    /// The coefficient's range: −1..1, or 0..1 for safety.
    pub min: f32,
    pub max: f32,
    /// The control-vector GGUF, relative to the manifest.
    pub file: String,
    /// The same pairs' directions at every block, which the Inside view reads the stream with.
    #[serde(default)]
    pub probe: Option<String>,
    /// First and last block steered.
    pub layers: (usize, usize),
    /// The scale a coefficient of 1 applies.
    pub strength: f32,
    #[serde(default)]
    pub note: String,
    /// A second direction under the same slider that applies only to replies whose prompt opens
    /// the gate its file carries (`tiller.condition.*`): safety's refusal beside civility.
    #[serde(default)]
    pub gated: Option<GatedPart>,
}

/// The conditional part of a slider (see [`crate::gate`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatedPart {
    /// A control-vector GGUF with a condition, relative to the manifest.
    pub file: String,
    pub layers: (usize, usize),
    /// The scale a coefficient of 1 applies.
    pub strength: f32,
    /// The scale a coefficient of 1 applies to the slider's own direction while the gate is
    /// open, in place of its `strength` (absent: unchanged). Safety's civility steps down
    /// under a refusal, which at full strength it made rarer and less fluent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_strength: Option<f32>,
    #[serde(default)]
    pub note: String,
}

impl GatedPart {
    /// What the gated part adds to the slider's own direction, per unit of coefficient, so
    /// that the open gate's sum holds it at `parent_strength`: 0 when that is absent.
    pub fn parent_change(&self, slider_strength: f32) -> f32 {
        self.parent_strength.map_or(0.0, |p| p - slider_strength)
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ManifestError {
    #[error("the steering manifest is not valid: {0}")]
    Json(String),
    #[error("the steering manifest's vector `{id}` {why}")]
    Slider { id: String, why: &'static str },
    #[error("the built-in steering vectors were made for another model")]
    OtherModel,
    #[error("the steering vector `{id}` steers blocks {start}–{end}; the model has blocks 1–{last} to steer")]
    Blocks { id: String, start: usize, end: usize, last: usize },
}

impl Manifest {
    /// Parse and check a manifest: every slider with a range, a positive finite strength and an
    /// ordered block range.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        for s in &m.vectors {
            let why = if !(s.min.is_finite() && s.max.is_finite() && s.min < s.max) {
                Some("needs min < max")
            } else if !(s.strength.is_finite() && s.strength > 0.0) {
                Some("needs a positive strength")
            } else if s.layers.0 == 0 || s.layers.0 > s.layers.1 {
                Some("needs layers [first, last] with 1 ≤ first ≤ last")
            } else if let Some(g) = &s.gated
                && !(g.strength.is_finite() && g.strength > 0.0 && g.layers.0 >= 1 && g.layers.0 <= g.layers.1)
            {
                Some("has a gated part without a positive strength and blocks [first, last]")
            } else if let Some(p) = s.gated.as_ref().and_then(|g| g.parent_strength)
                && !(p.is_finite() && p >= 0.0)
            {
                Some("has a gated part whose parent_strength is not a finite number ≥ 0")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(ManifestError::Slider { id: s.id.clone(), why });
            }
        }
        Ok(m)
    }

    /// What ±1 means for vectors built or imported by the user.
    pub fn relative_strength(&self) -> f32 {
        self.relative_strength.filter(|k| k.is_finite() && *k > 0.0).unwrap_or(DEFAULT_RELATIVE_STRENGTH)
    }

    /// Whether the vectors were made for a model of this name and width, and steer blocks it has.
    pub fn check_fits(&self, general_name: Option<&str>, n_embd: usize, n_layer: usize) -> Result<(), ManifestError> {
        if self.n_embd != n_embd || self.general_name.as_deref().is_some_and(|m| Some(m) != general_name) {
            return Err(ManifestError::OtherModel);
        }
        let ranges = self
            .vectors
            .iter()
            .flat_map(|s| std::iter::once((s, s.layers)).chain(s.gated.as_ref().map(|g| (s, g.layers))));
        for (s, (start, end)) in ranges {
            if end >= n_layer {
                return Err(ManifestError::Blocks { id: s.id.clone(), start, end, last: n_layer.saturating_sub(1) });
            }
        }
        Ok(())
    }

    pub fn slider(&self, id: &str) -> Option<&Slider> {
        self.vectors.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &[u8] = include_bytes!("../../public/vectors/manifest.json");

    #[test]
    fn the_sites_manifest_reads_and_fits_the_default_model() {
        let m = Manifest::parse(SITE).unwrap();
        assert_eq!(m.vectors.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["sentiment", "formality", "safety"]);
        assert!((m.relative_strength() - 0.01594).abs() < 1e-6);
        m.check_fits(m.general_name.as_deref(), 576, 30).unwrap();
        assert_eq!(m.check_fits(Some("another model"), 576, 30), Err(ManifestError::OtherModel));
        assert_eq!(m.check_fits(m.general_name.as_deref(), 64, 30), Err(ManifestError::OtherModel));
        assert!(matches!(m.check_fits(m.general_name.as_deref(), 576, 12), Err(ManifestError::Blocks { .. })));
    }

    #[test]
    fn a_slider_that_cannot_work_is_named() {
        let text = String::from_utf8(SITE.to_vec()).unwrap().replacen("\"strength\": 4.0", "\"strength\": -4.0", 1);
        let err = Manifest::parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "the steering manifest's vector `sentiment` needs a positive strength");
        assert!(matches!(Manifest::parse(b"{\"n_embd\": 5}"), Err(ManifestError::Json(_))));
    }

    #[test]
    fn an_open_gate_can_hold_the_sliders_own_direction_at_another_strength() {
        let m = Manifest::parse(SITE).unwrap();
        let safety = m.vectors.iter().find(|s| s.id == "safety").unwrap();
        let gated = safety.gated.as_ref().unwrap();
        let p = gated.parent_strength.expect("the site's safety slider steps civility down under a refusal");
        assert!(p < safety.strength);
        assert_eq!(safety.strength + gated.parent_change(safety.strength), p);
        assert_eq!(GatedPart { parent_strength: None, ..gated.clone() }.parent_change(4.0), 0.0);

        let text = String::from_utf8(SITE.to_vec()).unwrap().replacen(
            "\"parent_strength\": 2.0",
            "\"parent_strength\": -1.0",
            1,
        );
        let err = Manifest::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the steering manifest's vector `safety` has a gated part whose parent_strength is not a finite number ≥ 0"
        );
    }
}
