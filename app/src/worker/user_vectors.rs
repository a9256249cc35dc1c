//! Steering vectors made in the browser: built from contrastive pairs with the engine's own
//! code (`tiller_engine::concept`), imported from llama.cpp control-vector files, and exported
//! as such files. They join the built-in ones in `Engine::concepts`, so generation steers with
//! them exactly as with those.
//!
//! What ±1 means for them: strength = `relative_strength` × the mean residual norm of the
//! vector's blocks ÷ the mean norm of its directions (1 for unit directions, as built here), the
//! relation the built-in vectors' calibrated strengths have to their blocks' residual norms.

use std::cell::Cell;
use std::rc::Rc;

use tiller_engine::chat::Message;
use tiller_engine::concept::{ConceptVector, Contrasts, Method, Pair, Positions};
use tiller_engine::gguf::{Gguf, GgufError};
use tiller_engine::model::{Capture, Logits, read_f32};
use tiller_engine::steer::SteerError;

use super::engine::{Control, Engine};
use super::vectors::{self, Concept};
use super::yield_now::{sleep, yield_now};
use crate::protocol::{BuildMethod, PairSource, Response, VectorInfo};

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

/// Set to the reason when a build should stop at its next chunk.
pub type Cancel = Rc<Cell<Option<&'static str>>>;

/// Pairs per batched forward: ~4 amortizes the weight reads; small builds use fewer, so their
/// progress moves.
fn chunk_size(total: usize) -> usize {
    (total / 16).clamp(1, 4)
}

/// Run the pairs through the model a chunk at a time, reporting progress and yielding between
/// chunks (so chat, Stop and other messages get in; a reply being generated goes first), then
/// attach the vector.
pub async fn build(
    engine: &Engine,
    spec: BuildSpec,
    cancel: &Cancel,
    control: &Control,
    reply: &dyn Fn(Response),
) -> Result<VectorInfo, String> {
    let BuildSpec { id, label, low, high, pairs, method, layers } = spec;
    check_id(engine, &id)?;
    let label = clean_label(&label, &id);
    let config = &engine.loaded.model.config;
    let (start, end) = (layers.0 as usize, layers.1 as usize);
    let mut contrasts = Contrasts::new(config.n_layer, config.n_embd);
    contrasts
        .check_range(start, end)
        .map_err(|_| format!("blocks {start}–{end} cannot be steered: pick a range within 1–{}", config.n_layer - 1))?;

    let (pairs, source) = match pairs {
        PairSource::Builtin { url } => {
            let name = url.rsplit('/').next().unwrap_or(&url).to_string();
            (parse_jsonl(&vectors::get(&url).await?, &name)?, name)
        }
        PairSource::Typed { pairs } => {
            let pairs: Vec<Pair> = pairs
                .into_iter()
                .map(|p| Pair { system: None, prompt: p.prompt, positive: p.positive, negative: p.negative })
                .collect();
            (pairs, "typed pairs".to_string())
        }
    };
    if pairs.is_empty() {
        return Err("there are no pairs to build from".into());
    }
    for (i, pair) in pairs.iter().enumerate() {
        if [&pair.prompt, &pair.positive, &pair.negative].iter().any(|s| s.trim().is_empty()) {
            return Err(format!("pair {}: the prompt and both replies must be non-empty", i + 1));
        }
    }

    let total = pairs.len();
    let progress =
        |done: usize| reply(Response::BuildProgress { id: id.clone(), done: done as u32, total: total as u32 });
    progress(0);
    yield_now().await;
    let LoadedParts { template, tokenizer, model } = parts(engine);
    let chunk = chunk_size(total);
    for (c, group) in pairs.chunks(chunk).enumerate() {
        if let Some(why) = cancel.get() {
            return Err(why.to_string());
        }
        let first = c * chunk + 1;
        let at = |e: &dyn std::fmt::Display| {
            let last = first + group.len() - 1;
            if first == last { format!("pair {first}: {e}") } else { format!("pairs {first}–{last}: {e}") }
        };
        let rendered = group
            .iter()
            .map(|p| p.render(template, tokenizer, Positions::Reply))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(&e))?;
        contrasts.add_pairs(model, &rendered).await.map_err(|e| at(&e))?;
        progress(first + group.len() - 1);
        yield_now().await;
        // Chat first: a reply would otherwise get one token per chunk.
        while control.generating.get() && cancel.get().is_none() {
            sleep(50).await;
        }
    }
    if let Some(why) = cancel.get() {
        return Err(why.to_string());
    }

    let method = match method {
        BuildMethod::Mean => Method::MeanDifference,
        BuildMethod::Pca => Method::Pca,
    };
    let built = contrasts.finish(method, start, end).map_err(|e| e.to_string())?;
    let strength = strength_for(engine, &built, &built.residual_norms)?;
    let how = match method {
        Method::MeanDifference => "mean difference",
        Method::Pca => "PCA",
    };
    let note = format!(
        "Built here from {total} pairs ({source}, {how}), blocks {start}–{end}; ±1 = strength {strength:.2}. \
         Kept until another model loads: download it to keep it."
    );
    let info = VectorInfo { id, label, low, high, min: -1.0, max: 1.0, strength, layers, note };
    let gguf = built.to_gguf("llama");
    engine.concepts.borrow_mut().push(Concept { info: info.clone(), vector: built.vector, gguf, probe: None });
    Ok(info)
}

/// A llama.cpp control-vector GGUF as a new concept; the file's blocks are its layer range.
pub async fn import(engine: &Engine, id: String, name: String, bytes: Vec<u8>) -> Result<VectorInfo, String> {
    check_id(engine, &id)?;
    let config = &engine.loaded.model.config;
    let file = one_line_name(&name);
    let gguf = Gguf::parse(&bytes).map_err(|e| match e {
        GgufError::BadMagic(_) => format!("{file} is not a GGUF file (it does not start with \"GGUF\")"),
        e => format!("{file} is not a usable GGUF file: {e}"),
    })?;
    if let Some(arch) = gguf.get("general.architecture").and_then(|v| v.as_str())
        && arch != "controlvector"
    {
        return Err(format!("{file} is a {arch} file, not a control vector"));
    }
    let mut built = ConceptVector::from_gguf(&gguf).map_err(|e| match e {
        SteerError::Empty => format!("{file} is not a control vector: it has no direction.N tensors"),
        e => format!("{file} is not a usable control vector: {e}"),
    })?;
    drop(gguf);
    let width = built.vector.n_embd;
    if width != config.n_embd {
        return Err(format!(
            "this vector is for a model with {width}-wide activations; the loaded model has {}",
            config.n_embd
        ));
    }
    let (Some(&start), Some(&end)) =
        (built.vector.directions.keys().next(), built.vector.directions.keys().next_back())
    else {
        return Err(format!("{file} is not a control vector: it has no direction.N tensors"));
    };
    if end >= config.n_layer {
        return Err(format!(
            "this vector steers blocks up to {end}; the loaded model has {} blocks (0–{})",
            config.n_layer,
            config.n_layer - 1
        ));
    }
    let norms = if built.residual_norms.len() == config.n_layer {
        std::mem::take(&mut built.residual_norms)
    } else {
        model_norms(engine).await?
    };
    let strength = strength_for(engine, &built, &norms)?;
    let stem = file.strip_suffix(".gguf").or_else(|| file.strip_suffix(".GGUF")).unwrap_or(&file);
    let label = clean_label(stem, &id);
    let note = format!(
        "Imported from {file}, blocks {start}–{end}; ±1 = strength {strength:.2}. \
         Kept until another model loads."
    );
    let info = VectorInfo {
        id,
        label,
        low: "−".into(),
        high: "+".into(),
        min: -1.0,
        max: 1.0,
        strength,
        layers: (start as u32, end as u32),
        note,
    };
    engine.concepts.borrow_mut().push(Concept { info: info.clone(), vector: built.vector, gguf: bytes, probe: None });
    Ok(info)
}

/// The GGUF of concept `id`.
pub fn export(engine: &Engine, id: &str) -> Result<Vec<u8>, String> {
    engine
        .concepts
        .borrow()
        .iter()
        .find(|c| c.info.id == id)
        .map(|c| c.gguf.clone())
        .ok_or_else(|| format!("no vector named {id:?} is loaded for this model"))
}

/// An id the UI can use in the coefficient map and a file name: new, short, plain.
fn check_id(engine: &Engine, id: &str) -> Result<(), String> {
    let plain = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if !plain {
        return Err(format!("{id:?} cannot name a vector: use letters, digits, - and _"));
    }
    if engine.concepts.borrow().iter().any(|c| c.info.id == id) {
        return Err(format!("a vector named {id:?} is already loaded"));
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

/// ±1 for a vector over its blocks, given the model's residual norm after each block.
fn strength_for(engine: &Engine, built: &ConceptVector, norms: &[f32]) -> Result<f32, String> {
    let dirs = &built.vector.directions;
    let mut residual = 0.0f64;
    let mut direction = 0.0f64;
    for (&layer, v) in dirs {
        residual += f64::from(*norms.get(layer).ok_or("the residual norms do not cover the vector's blocks")?);
        direction += v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    }
    let n = dirs.len().max(1) as f64;
    let (residual, direction) = (residual / n, direction / n);
    if !(direction.is_finite() && direction > 0.0) {
        return Err("the vector's directions are zero or not finite numbers".into());
    }
    let strength = (f64::from(engine.relative_strength) * residual / direction) as f32;
    if !(strength.is_finite() && strength > 0.0) {
        return Err("cannot scale this vector: the model's residual norms are not usable".into());
    }
    Ok(strength)
}

/// A short chat the model's residual norms are measured on, for imported vectors.
const NORM_PROMPT: &str = "Tell me about your weekend.";
const NORM_REPLY: &str = "I went for a long walk by the river, read a few chapters of a novel, and cooked dinner \
                          with friends on Sunday evening.";

/// The mean L2 norm of each block's output over positions ≥ 1 of a fixed text (position 0's
/// activation is huge and says nothing about the text), measured once per loaded model.
async fn model_norms(engine: &Engine) -> Result<Vec<f32>, String> {
    if let Some(norms) = engine.residual_norms.borrow().as_ref() {
        return Ok(norms.clone());
    }
    let LoadedParts { template, tokenizer, model } = parts(engine);
    let n_embd = model.config.n_embd;
    let fail = |e: &dyn std::fmt::Display| format!("could not measure the model's activations: {e}");
    let text =
        template.render(&[Message::user(NORM_PROMPT), Message::assistant(NORM_REPLY)], false).map_err(|e| fail(&e))?;
    let tokens = tokenizer.encode(&text, true);
    if tokens.len() < 2 {
        return Err(fail(&"the text has no tokens"));
    }
    let mut cache = model.new_cache();
    let mut capture = Capture::default();
    model.forward(&tokens, &mut cache, &mut capture, Logits::Last).map_err(|e| fail(&e))?;
    let mut norms = vec![0.0f32; model.config.n_layer];
    for (layer, output) in capture.outputs {
        let rows = read_f32(output).await.map_err(|e| fail(&e))?;
        let mut sum = 0.0f64;
        let mut count = 0usize;
        for row in rows.chunks_exact(n_embd).skip(1) {
            sum += row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            count += 1;
        }
        if let Some(slot) = norms.get_mut(layer) {
            *slot = (sum / count.max(1) as f64) as f32;
        }
    }
    *engine.residual_norms.borrow_mut() = Some(norms.clone());
    Ok(norms)
}

struct LoadedParts<'a> {
    template: &'a tiller_engine::chat::ChatTemplate,
    tokenizer: &'a tiller_engine::tokenizer::Tokenizer,
    model: &'a tiller_engine::model::Llama,
}

fn parts(engine: &Engine) -> LoadedParts<'_> {
    let l = &engine.loaded;
    LoadedParts { template: &l.template, tokenizer: &l.tokenizer, model: &l.model }
}

/// One pair per non-blank line; an error names the file and line.
fn parse_jsonl(bytes: &[u8], name: &str) -> Result<Vec<Pair>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{name} line {}: {e}", i + 1)))
        .collect()
}
