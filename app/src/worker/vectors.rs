//! The built-in steering vectors: a manifest beside the site and one control-vector GGUF per
//! concept. They are attached only to the model they were built for. The manifest also says what
//! ±1 means for vectors built or imported in the browser (`relative_strength`).

use burn::tensor::Device;
use tiller_engine::gguf::Gguf;
use tiller_engine::manifest::{DEFAULT_RELATIVE_STRENGTH, Manifest};
use tiller_engine::steer::{ControlVector, Steering};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Response, WorkerGlobalScope};

use super::failure::not_a_vector;
use crate::protocol::{Coefs, Failure, VectorInfo};

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
    pub concepts: Result<Vec<Concept>, Failure>,
    pub relative_strength: f32,
}

pub async fn load(manifest_url: &str, general_name: Option<&str>, n_embd: usize, n_layer: usize) -> Builtins {
    let manifest: Result<Manifest, Failure> = match get(manifest_url).await {
        Ok(bytes) => Manifest::parse(&bytes).map_err(Failure::from),
        Err(e) => Err(e),
    };
    let relative_strength = manifest.as_ref().map_or(DEFAULT_RELATIVE_STRENGTH, Manifest::relative_strength);
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
) -> Result<Vec<Concept>, Failure> {
    manifest.check_fits(general_name, n_embd, n_layer)?;
    let mut concepts = Vec::new();
    for entry in manifest.vectors {
        let url = resolve(manifest_url, &entry.file)?;
        let bytes = get(&url).await?;
        let gguf = Gguf::parse(&bytes).map_err(|e| not_a_vector(&entry.file, &e))?;
        let mut vector = ControlVector::from_gguf(&gguf)
            .map_err(|e| Failure::NotControlVector { file: entry.file.clone(), detail: e.to_string() })?;
        let (start, end) = entry.layers;
        if vector.n_embd != n_embd {
            return Err(Failure::OtherWidth { vector: vector.n_embd as u32, model: n_embd as u32 });
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
            layers: (start as u32, end as u32),
            note: entry.note,
        };
        concepts.push(Concept { info, vector, gguf: bytes, probe });
    }
    Ok(concepts)
}

async fn load_probe(manifest_url: &str, file: &str, n_embd: usize) -> Result<ControlVector, Failure> {
    let bytes = get(&resolve(manifest_url, file)?).await?;
    let gguf = Gguf::parse(&bytes).map_err(|e| not_a_vector(file, &e))?;
    let probe = ControlVector::from_gguf(&gguf)
        .map_err(|e| Failure::NotControlVector { file: file.to_string(), detail: e.to_string() })?;
    if probe.n_embd != n_embd {
        return Err(Failure::OtherWidth { vector: probe.n_embd as u32, model: n_embd as u32 });
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
) -> Result<Steering, Failure> {
    let mut terms = Vec::new();
    for (id, &c) in coefs {
        let concept =
            concepts.iter().find(|k| &k.info.id == id).ok_or_else(|| Failure::UnknownVector { id: id.clone() })?;
        let (min, max) = (concept.info.min, concept.info.max);
        if !(c.is_finite() && (min..=max).contains(&c)) {
            return Err(Failure::CoefOutOfRange { id: id.clone(), min, max, value: c });
        }
        if c != 0.0 {
            terms.push((&concept.vector, c * concept.info.strength));
        }
    }
    if terms.is_empty() {
        return Ok(Steering::none());
    }
    Ok(Steering::new(&terms, None, n_layer, n_embd, device)?)
}

fn resolve(base: &str, relative: &str) -> Result<String, Failure> {
    web_sys::Url::new_with_base(relative, base)
        .map(|u| u.href())
        .map_err(|_| Failure::Download { url: relative.to_string(), detail: "not a usable address".into() })
}

pub async fn get(url: &str) -> Result<Vec<u8>, Failure> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let fail = |detail: String| Failure::Download { url: url.to_string(), detail };
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
