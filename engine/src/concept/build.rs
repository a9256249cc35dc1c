//! Building from many pairs, and what ±1 means for the result. The CLI's `tiller vectors build`
//! and the browser's worker both build through [`collect`] and scale through
//! [`calibrated_strength`].

use std::ops::ControlFlow;

use crate::chat::Message;
use crate::load::LoadedModel;
use crate::steer::ControlVector;

use super::{ConceptError, ContrastText, Contrasts, Pair, Positions};

/// Pairs per batched forward when the caller has no preference: about 4 amortizes the weight
/// reads; a small build uses fewer so that its progress moves.
pub fn chunk_for(total: usize) -> usize {
    (total / 16).clamp(1, 4)
}

/// Run `pairs` through the model `chunk` at a time. After each chunk `between(done)` is awaited
/// (to report progress, to yield to other work); `Break` stops the build with
/// [`ConceptError::Stopped`]. An error in a chunk names its pairs (1-based).
pub async fn collect(
    m: &LoadedModel,
    pairs: &[Pair],
    positions: Positions,
    chunk: usize,
    mut between: impl AsyncFnMut(usize) -> ControlFlow<()>,
) -> Result<Contrasts, ConceptError> {
    super::check_pairs(pairs)?;
    let config = &m.model.config;
    let mut contrasts = Contrasts::new(config.n_layer, config.n_embd);
    let chunk = chunk.max(1);
    for (c, group) in pairs.chunks(chunk).enumerate() {
        let (first, last) = (c * chunk + 1, c * chunk + group.len());
        let at = |e: ConceptError| ConceptError::InPairs { first, last, error: Box::new(e) };
        let rendered = group
            .iter()
            .map(|p| p.render(&m.template, &m.tokenizer, positions))
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        contrasts.add_pairs(&m.model, &rendered).await.map_err(at)?;
        if between(last).await.is_break() {
            return Err(ConceptError::Stopped);
        }
    }
    Ok(contrasts)
}

/// A short chat the model's residual norms are measured on, for vectors that bring none.
const NORM_PROMPT: &str = "Tell me about your weekend.";
const NORM_REPLY: &str = "I went for a long walk by the river, read a few chapters of a novel, and cooked dinner \
                          with friends on Sunday evening.";

/// The model's mean residual norm after each block on a fixed short chat, measured as a build
/// measures its pairs' (positions ≥ 1, see [`Contrasts`]).
pub async fn residual_norms(m: &LoadedModel) -> Result<Vec<f32>, ConceptError> {
    let messages = [Message::user(NORM_PROMPT), Message::assistant(NORM_REPLY)];
    let tokens = m.tokenizer.encode(&m.template.render(&messages, false)?, true);
    let text = ContrastText { tokens, from: 1 };
    let config = &m.model.config;
    let mut contrasts = Contrasts::new(config.n_layer, config.n_embd);
    contrasts.add_pairs(&m.model, &[[text.clone(), text]]).await?;
    Ok(contrasts.residual_norms())
}

/// The strength a coefficient of 1 applies to `vector`: `relative` × the mean residual norm of
/// its blocks ÷ the mean norm of its directions (1 for unit directions) — the relation the
/// built-in vectors' calibrated strengths have to their blocks' residual norms.
pub fn calibrated_strength(relative: f32, vector: &ControlVector, norms: &[f32]) -> Result<f32, ConceptError> {
    let dirs = &vector.directions;
    let mut residual = 0.0f64;
    let mut direction = 0.0f64;
    for (&layer, v) in dirs {
        residual += f64::from(*norms.get(layer).ok_or(ConceptError::NoNorm(layer))?);
        direction += v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    }
    let n = dirs.len().max(1) as f64;
    let (residual, direction) = (residual / n, direction / n);
    if !(direction.is_finite() && direction > 0.0) {
        return Err(ConceptError::UnusableDirections);
    }
    let strength = (f64::from(relative) * residual / direction) as f32;
    if !(strength.is_finite() && strength > 0.0) {
        return Err(ConceptError::UnusableNorms);
    }
    Ok(strength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_scales_with_the_blocks_norms_and_not_the_directions_length() {
        let unit = ControlVector { n_embd: 2, directions: [(1, vec![1.0, 0.0]), (2, vec![0.0, 1.0])].into() };
        let norms = [500.0, 100.0, 300.0];
        let s = calibrated_strength(0.01, &unit, &norms).unwrap();
        assert!((s - 2.0).abs() < 1e-6, "{s}");
        let long = ControlVector { n_embd: 2, directions: [(1, vec![3.0, 4.0]), (2, vec![0.0, 5.0])].into() };
        assert!((calibrated_strength(0.01, &long, &norms).unwrap() - 0.4).abs() < 1e-6);
        assert_eq!(calibrated_strength(0.01, &unit, &norms[..2]), Err(ConceptError::NoNorm(2)));
        let zero = ControlVector { n_embd: 2, directions: [(1, vec![0.0, 0.0])].into() };
        assert_eq!(calibrated_strength(0.01, &zero, &norms), Err(ConceptError::UnusableDirections));
        assert_eq!(calibrated_strength(0.01, &unit, &[0.0; 3]), Err(ConceptError::UnusableNorms));
    }
}
