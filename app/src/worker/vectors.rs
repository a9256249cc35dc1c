//! The built-in steering vectors: a manifest beside the site and one control-vector GGUF per
//! concept. They are attached only to the model they were built for. The manifest also says what
//! ±1 means for vectors built or imported in the browser (`relative_strength`).

use burn::tensor::Device;
use serde::Deserialize;
use tiller_engine::gguf::Gguf;
use tiller_engine::steer::{ControlVector, Steering};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Response, WorkerGlobalScope};

use crate::protocol::{Coefs, VectorInfo};

#[derive(Deserialize)]
struct Manifest {
    /// The model's `general.name`, when the manifest names it: other models of the same width
    /// would take the vectors without complaint and mean nothing by them.
    #[serde(default)]
    general_name: Option<String>,
    n_embd: usize,
    vectors: Vec<Entry>,
    /// Coefficient 1 of a built or imported vector = this × the mean residual norm of its blocks.
    #[serde(default)]
    relative_strength: Option<f32>,
}

/// `relative_strength` when the manifest gives none (or cannot be read): the built-in sentiment
/// vector's strength over the mean residual norm of its blocks (4.0 / 250.93, blocks 14–24, from
/// `tiller.residual_norms` in public/vectors/sentiment.gguf).
pub const DEFAULT_RELATIVE_STRENGTH: f32 = 0.01594;

#[derive(Deserialize)]
struct Entry {
    id: String,
    label: String,
    low: String,
    high: String,
    min: f32,
    max: f32,
    file: String,
    /// The same pairs' directions at every block, which the Inside view reads the stream with.
    #[serde(default)]
    probe: Option<String>,
    layers: (u32, u32),
    strength: f32,
    #[serde(default)]
    note: String,
}

pub struct Concept {
    pub info: VectorInfo,
    /// Directions restricted to the concept's layer range.
    pub vector: ControlVector,
    /// The vector as a control-vector GGUF, for downloads: a built-in's file as served, an
    /// imported file as given, a built vector as written by the engine.
    pub gguf: Vec<u8>,
    /// Directions at more blocks than the vector steers, for reading the stream (built-ins).
    pub probe: Option<ControlVector>,
}

impl Concept {
    /// The directions the Inside view projects the stream onto: the probe's, else the vector's.
    pub fn probe_directions(&self) -> &std::collections::BTreeMap<usize, Vec<f32>> {
        &self.probe.as_ref().unwrap_or(&self.vector).directions
    }
}

/// What the manifest gives a loaded model: its built-in vectors, or why none fit (shown to the
/// user as the steering note), and the scale for vectors made in the browser.
pub struct Builtins {
    pub concepts: Result<Vec<Concept>, String>,
    pub relative_strength: f32,
}

pub async fn load(manifest_url: &str, general_name: Option<&str>, n_embd: usize, n_layer: usize) -> Builtins {
    let manifest: Result<Manifest, String> = match get(manifest_url).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("the steering manifest is not valid: {e}")),
        Err(e) => Err(e),
    };
    let relative_strength = manifest
        .as_ref()
        .ok()
        .and_then(|m| m.relative_strength)
        .filter(|k| k.is_finite() && *k > 0.0)
        .unwrap_or(DEFAULT_RELATIVE_STRENGTH);
    let concepts = match manifest {
        Ok(manifest) => attach(manifest_url, manifest, general_name, n_embd, n_layer).await,
        Err(e) => Err(e),
    };
    Builtins { concepts, relative_strength }
}

/// The manifest's vectors, when they were made for this model.
async fn attach(
    manifest_url: &str,
    manifest: Manifest,
    general_name: Option<&str>,
    n_embd: usize,
    n_layer: usize,
) -> Result<Vec<Concept>, String> {
    if manifest.n_embd != n_embd || manifest.general_name.as_deref().is_some_and(|m| Some(m) != general_name) {
        return Err("the built-in steering vectors were made for another model".into());
    }
    let mut concepts = Vec::new();
    for entry in manifest.vectors {
        let url = resolve(manifest_url, &entry.file)?;
        let bytes = get(&url).await?;
        let gguf = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", entry.file))?;
        let mut vector = ControlVector::from_gguf(&gguf).map_err(|e| format!("{}: {e}", entry.file))?;
        let (start, end) = (entry.layers.0 as usize, entry.layers.1 as usize);
        if vector.n_embd != n_embd || start == 0 || start > end || end >= n_layer {
            return Err(format!("{} does not fit the model (width or layers {start}–{end})", entry.file));
        }
        vector.directions.retain(|&layer, _| (start..=end).contains(&layer));
        let probe = match &entry.probe {
            Some(file) => Some(load_probe(manifest_url, file, n_embd).await?),
            None => None,
        };
        let info = VectorInfo {
            id: entry.id,
            label: entry.label,
            low: entry.low,
            high: entry.high,
            min: entry.min,
            max: entry.max,
            strength: entry.strength,
            layers: entry.layers,
            note: entry.note,
        };
        concepts.push(Concept { info, vector, gguf: bytes, probe });
    }
    Ok(concepts)
}

async fn load_probe(manifest_url: &str, file: &str, n_embd: usize) -> Result<ControlVector, String> {
    let bytes = get(&resolve(manifest_url, file)?).await?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let probe = ControlVector::from_gguf(&gguf).map_err(|e| format!("{file}: {e}"))?;
    if probe.n_embd != n_embd {
        return Err(format!("{file} does not fit the model (width {})", probe.n_embd));
    }
    Ok(probe)
}

/// Σ coefficient × strength × direction over the concepts; out-of-range or unknown coefficients
/// are refused, never clamped silently.
pub fn steering(
    concepts: &[Concept],
    coefs: &Coefs,
    n_layer: usize,
    n_embd: usize,
    device: &Device,
) -> Result<Steering, String> {
    let mut terms = Vec::new();
    for (id, &c) in coefs {
        let concept = concepts
            .iter()
            .find(|k| &k.info.id == id)
            .ok_or_else(|| format!("no steering vector named {id:?} is loaded for this model"))?;
        let (lo, hi) = (concept.info.min, concept.info.max);
        if !(c.is_finite() && (lo..=hi).contains(&c)) {
            return Err(format!("{} must be between {lo} and {hi}, got {c}", concept.info.label));
        }
        if c != 0.0 {
            terms.push((&concept.vector, c * concept.info.strength));
        }
    }
    if terms.is_empty() {
        return Ok(Steering::none());
    }
    Steering::new(&terms, None, n_layer, n_embd, device).map_err(|e| e.to_string())
}

fn resolve(base: &str, relative: &str) -> Result<String, String> {
    web_sys::Url::new_with_base(relative, base).map(|u| u.href()).map_err(|_| format!("bad vector path {relative}"))
}

pub async fn get(url: &str) -> Result<Vec<u8>, String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let fail = |why: String| format!("could not load {url}: {why}");
    let response: Response =
        JsFuture::from(scope.fetch_with_str(url)).await.map_err(|e| fail(super::fetch::js_error(&e)))?.unchecked_into();
    if !response.ok() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| fail(super::fetch::js_error(&e)))?)
        .await
        .map_err(|e| fail(super::fetch::js_error(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
