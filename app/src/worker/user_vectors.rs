//! Steering vectors made in the browser: built from contrastive pairs with the engine's own
//! code (`tiller_engine::concept`), imported from llama.cpp control-vector files, and exported
//! as such files. They join the built-in ones in `Engine::concepts`, so generation steers with
//! them exactly as with those.
//!
//! The model's rules (the pair format, the build loop, what ±1 means) are the engine's
//! (`tiller_engine::concept`); this module adds what only a browser has: fetching, yielding to a
//! reply being written, cancelling, and the messages to the page.

use std::cell::Cell;
use std::ops::ControlFlow;
use std::rc::Rc;

use tiller_engine::concept::{
    self, ConceptError, ConceptVector, Contrasts, Method, Pair, Positions, calibrated_strength, check_pairs, chunk_for,
    parse_pairs, residual_norms,
};
use tiller_engine::gguf::Gguf;
use tiller_engine::steer::SteerError;

use super::engine::{Control, Engine};
use super::vectors::{self, Concept};
use super::yield_now::{sleep, yield_now};
use crate::protocol::{BuildMethod, Failure, PairSource, Response, VectorInfo, VectorOrigin};

/// What a build was asked for (the fields of `Request::BuildVector`).
pub struct BuildSpec {
    pub id: String,
    pub label: String,
    pub low: String,
    pub high: String,
    pub pairs: PairSource,
    pub method: BuildMethod,
    pub layers: (u32, u32),
}

/// Set when a build or import should stop (the user cancelled, or another model loaded).
pub type Cancel = Rc<Cell<bool>>;

/// Run the pairs through the model a chunk at a time, reporting progress and yielding between
/// chunks (so chat, Stop and other messages get in; a reply being generated goes first), then
/// attach the vector.
pub async fn build(
    engine: &Engine,
    spec: BuildSpec,
    cancel: &Cancel,
    control: &Control,
    reply: &dyn Fn(Response),
) -> Result<VectorInfo, Failure> {
    let BuildSpec { id, label, low, high, pairs, method, layers } = spec;
    check_id(engine, &id)?;
    let label = clean_label(&label, &id);
    let config = &engine.loaded.model.config;
    let (start, end) = (layers.0 as usize, layers.1 as usize);
    Contrasts::new(config.n_layer, config.n_embd).check_range(start, end).map_err(|_| Failure::BadBlocks {
        start: start as u32,
        end: end as u32,
        last: config.n_layer as u32 - 1,
    })?;

    let (pairs, source) = match pairs {
        PairSource::Builtin { url } => {
            let name = url.rsplit('/').next().unwrap_or(&url).to_string();
            let bytes = vectors::get(&url).await?;
            let pairs_error = |detail: String| Failure::Pairs { source: name.clone(), detail };
            let text = std::str::from_utf8(&bytes).map_err(|_| pairs_error("not UTF-8 text".into()))?;
            (parse_pairs(text).map_err(|e| pairs_error(e.to_string()))?, Some(name))
        }
        PairSource::Typed { pairs } => {
            let pairs: Vec<Pair> = pairs
                .into_iter()
                .map(|p| Pair { system: None, prompt: p.prompt, positive: p.positive, negative: p.negative })
                .collect();
            (pairs, None)
        }
    };
    let source_name = source.clone().unwrap_or_else(|| "typed pairs".into());
    check_pairs(&pairs).map_err(|e| Failure::Pairs { source: source_name, detail: e.to_string() })?;

    let total = pairs.len();
    let progress =
        |done: usize| reply(Response::BuildProgress { id: id.clone(), done: done as u32, total: total as u32 });
    progress(0);
    yield_now().await;
    let between = async |done: usize| {
        progress(done);
        yield_now().await;
        // Chat first: a reply would otherwise get one token per chunk.
        while control.generating.get() && !cancel.get() {
            sleep(50).await;
        }
        if cancel.get() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let contrasts = concept::collect(&engine.loaded, &pairs, Positions::Reply, chunk_for(total), between).await?;
    if cancel.get() {
        return Err(Failure::Cancelled);
    }

    let built = contrasts.finish(
        match method {
            BuildMethod::Mean => Method::MeanDifference,
            BuildMethod::Pca => Method::Pca,
        },
        start,
        end,
    )?;
    let strength = strength_for(engine, &built, &built.residual_norms)?;
    let origin = VectorOrigin::Built { pairs: total as u32, file: source, method };
    let info = VectorInfo { id, label, low, high, min: -1.0, max: 1.0, strength, layers, origin, gated: None };
    let gguf = built.to_gguf("llama");
    engine.concepts.borrow_mut().push(Concept {
        info: info.clone(),
        vector: built.vector,
        gguf,
        probe: None,
        gated: None,
    });
    Ok(info)
}

/// A llama.cpp control-vector GGUF as a new concept; the file's blocks are its layer range.
pub async fn import(engine: &Engine, id: String, name: String, bytes: Vec<u8>) -> Result<VectorInfo, Failure> {
    check_id(engine, &id)?;
    let config = &engine.loaded.model.config;
    let file = one_line_name(&name);
    let not_a_vector = |detail: String| Failure::NotControlVector { file: file.clone(), detail };
    let gguf = Gguf::parse(&bytes).map_err(|e| not_a_vector(e.to_string()))?;
    if let Some(arch) = gguf.get("general.architecture").and_then(|v| v.as_str())
        && arch != "controlvector"
    {
        return Err(not_a_vector(format!("it is a {arch} file")));
    }
    let mut built = ConceptVector::from_gguf(&gguf).map_err(|e| match e {
        ConceptError::Steer(SteerError::Empty) => not_a_vector("it has no direction.N tensors".into()),
        e => not_a_vector(e.to_string()),
    })?;
    drop(gguf);
    let width = built.vector.n_embd;
    if width != config.n_embd {
        return Err(Failure::OtherWidth { vector: width as u32, model: config.n_embd as u32 });
    }
    let (Some(&start), Some(&end)) =
        (built.vector.directions.keys().next(), built.vector.directions.keys().next_back())
    else {
        return Err(not_a_vector("it has no direction.N tensors".into()));
    };
    if end >= config.n_layer {
        return Err(Failure::BlocksPastModel { last: end as u32, n_layer: config.n_layer as u32 });
    }
    let norms = if built.residual_norms.len() == config.n_layer {
        std::mem::take(&mut built.residual_norms)
    } else {
        model_norms(engine).await?
    };
    let strength = strength_for(engine, &built, &norms)?;
    let stem = file.strip_suffix(".gguf").or_else(|| file.strip_suffix(".GGUF")).unwrap_or(&file);
    let label = clean_label(stem, &id);
    let info = VectorInfo {
        id,
        label,
        low: "−".into(),
        high: "+".into(),
        min: -1.0,
        max: 1.0,
        strength,
        layers: (start as u32, end as u32),
        origin: VectorOrigin::Imported { file },
        gated: None,
    };
    engine.concepts.borrow_mut().push(Concept {
        info: info.clone(),
        vector: built.vector,
        gguf: bytes,
        probe: None,
        gated: None,
    });
    Ok(info)
}

/// The GGUF of concept `id`.
pub fn export(engine: &Engine, id: &str) -> Result<Vec<u8>, Failure> {
    engine
        .concepts
        .borrow()
        .iter()
        .find(|c| c.info.id == id)
        .map(|c| c.gguf.clone())
        .ok_or_else(|| Failure::UnknownVector { id: id.to_string() })
}

/// An id the UI can use in the coefficient map and a file name: new, short, plain.
fn check_id(engine: &Engine, id: &str) -> Result<(), Failure> {
    let plain = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if !plain {
        return Err(Failure::BadVectorName { id: id.to_string() });
    }
    if engine.concepts.borrow().iter().any(|c| c.info.id == id) {
        return Err(Failure::VectorNameTaken { id: id.to_string() });
    }
    Ok(())
}

fn clean_label(label: &str, id: &str) -> String {
    let label = one_line_name(label);
    if label.is_empty() { id.to_string() } else { label }
}

/// A user-given name on one line, at most 60 characters.
fn one_line_name(name: &str) -> String {
    let line = name.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(60).collect()
}

/// ±1 for a vector, given the model's residual norm after each block.
fn strength_for(engine: &Engine, built: &ConceptVector, norms: &[f32]) -> Result<f32, Failure> {
    Ok(calibrated_strength(engine.relative_strength, &built.vector, norms)?)
}

/// The model's residual norms, measured once per loaded model.
async fn model_norms(engine: &Engine) -> Result<Vec<f32>, Failure> {
    if let Some(norms) = engine.residual_norms.borrow().as_ref() {
        return Ok(norms.clone());
    }
    let norms = residual_norms(&engine.loaded).await?;
    *engine.residual_norms.borrow_mut() = Some(norms.clone());
    Ok(norms)
}
