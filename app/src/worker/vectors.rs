//! The built-in steering vectors: a manifest beside the site and one control-vector GGUF per
//! concept. They are attached only to the model they were built for. The manifest also says what
//! ±1 means for vectors built or imported in the browser (`relative_strength`).

use burn::tensor::Device;
use tiller_engine::concept::ConditionVector;
use tiller_engine::gate::SteerPlan;
use tiller_engine::gguf::Gguf;
use tiller_engine::manifest::{DEFAULT_RELATIVE_STRENGTH, Manifest};
use tiller_engine::steer::{ControlVector, Steering};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Response, WorkerGlobalScope};

use super::failure::not_a_vector;
use crate::protocol::{Coefs, Failure, GatedInfo, VectorInfo, VectorOrigin};

pub struct Concept {
    pub info: VectorInfo,
    /// Directions restricted to the concept's layer range.
    pub vector: ControlVector,
    /// The vector as a control-vector GGUF, for downloads: a built-in's file as served, an
    /// imported file as given, a built vector as written by the engine.
    pub gguf: Vec<u8>,
    /// Directions at more blocks than the vector steers, for reading the stream (built-ins).
    pub probe: Option<ControlVector>,
    /// The slider's conditional part (built-in safety's refusal direction and its gate).
    pub gated: Option<Gated>,
}

pub struct Gated {
    pub vector: ControlVector,
    pub condition: ConditionVector,
    pub strength: f32,
    /// Added to the slider's own strength while the gate is open (`GatedPart::parent_change`).
    pub parent_change: f32,
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
        let (vector, bytes, _) = load_vector(manifest_url, &entry.file, entry.layers, n_embd).await?;
        let (start, end) = entry.layers;
        let (gated, gated_info) = match &entry.gated {
            None => (None, None),
            Some(part) => {
                let (vector, _, condition) = load_vector(manifest_url, &part.file, part.layers, n_embd).await?;
                let condition = condition.ok_or_else(|| Failure::NotControlVector {
                    file: part.file.clone(),
                    detail: "the gated vector has no condition (tiller.condition.*)".into(),
                })?;
                let info = GatedInfo {
                    layers: (part.layers.0 as u32, part.layers.1 as u32),
                    strength: part.strength,
                    parent_share: part.parent_strength.map(|p| p / entry.strength),
                    condition_block: condition.layer as u32,
                    threshold: condition.threshold,
                    note: part.note.clone(),
                };
                let parent_change = part.parent_change(entry.strength);
                (Some(Gated { vector, condition, strength: part.strength, parent_change }), Some(info))
            }
        };
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
            origin: VectorOrigin::Shipped { note: entry.note },
            gated: gated_info,
        };
        concepts.push(Concept { info, vector, gguf: bytes, probe, gated });
    }
    Ok(concepts)
}

/// A control vector from the site, cut to `layers`, with the condition its file carries.
async fn load_vector(
    manifest_url: &str,
    file: &str,
    (start, end): (usize, usize),
    n_embd: usize,
) -> Result<(ControlVector, Vec<u8>, Option<ConditionVector>), Failure> {
    let bytes = get(&resolve(manifest_url, file)?).await?;
    let gguf = Gguf::parse(&bytes).map_err(|e| not_a_vector(file, &e))?;
    let mut vector = ControlVector::from_gguf(&gguf)
        .map_err(|e| Failure::NotControlVector { file: file.to_string(), detail: e.to_string() })?;
    if vector.n_embd != n_embd {
        return Err(Failure::OtherWidth { vector: vector.n_embd as u32, model: n_embd as u32 });
    }
    vector.directions.retain(|&layer, _| (start..=end).contains(&layer));
    let condition = ConditionVector::from_gguf(&gguf)
        .map_err(|e| Failure::NotControlVector { file: file.to_string(), detail: e.to_string() })?;
    drop(gguf);
    Ok((vector, bytes, condition))
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

/// Σ coefficient × strength × direction over the concepts, the gated parts under their
/// condition; out-of-range or unknown coefficients are refused, never clamped silently.
pub fn steering(
    concepts: &[Concept],
    coefs: &Coefs,
    n_layer: usize,
    n_embd: usize,
    device: &Device,
) -> Result<SteerPlan, Failure> {
    let (mut always, mut gated) = (Vec::new(), Vec::new());
    let mut condition = None;
    for (id, &c) in coefs {
        let concept =
            concepts.iter().find(|k| &k.info.id == id).ok_or_else(|| Failure::UnknownVector { id: id.clone() })?;
        let (min, max) = (concept.info.min, concept.info.max);
        if !(c.is_finite() && (min..=max).contains(&c)) {
            return Err(Failure::CoefOutOfRange { id: id.clone(), min, max, value: c });
        }
        if c != 0.0 {
            always.push((&concept.vector, c * concept.info.strength));
            if let Some(g) = &concept.gated {
                gated.push((&g.vector, c * g.strength));
                if g.parent_change != 0.0 {
                    gated.push((&concept.vector, c * g.parent_change));
                }
                // One gate per plan: the built-in manifest has one gated slider.
                condition.get_or_insert_with(|| g.condition.clone());
            }
        }
    }
    if always.is_empty() {
        return Ok(SteerPlan::default());
    }
    let always = Steering::new(&always, None, n_layer, n_embd, device)?;
    match condition {
        None => Ok(always.into()),
        Some(condition) => {
            let gated = Steering::new(&gated, None, n_layer, n_embd, device)?;
            Ok(SteerPlan::gated(always, &gated, condition, n_layer, n_embd, device)?)
        }
    }
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
