//! Concept vectors built from contrastive pairs: texts that differ in one concept (positive vs
//! negative sentiment, formal vs casual, …) are run through the model, and the difference of their
//! mean residual streams, block by block, becomes a steering direction.
//!
//! The result is a llama.cpp control vector of unit directions plus what a caller needs to pick a
//! strength: the typical residual norm of every block and how far apart the two sides were.

mod build;
mod condition;
mod contrasts;
mod direction;
mod gguf;
mod logistic;
mod pair;

pub use build::{calibrated_strength, chunk_for, collect, residual_norms};
pub(crate) use condition::tail_mean;
pub use condition::{ConditionVector, GateReading, tail_len, tail_readings};
pub use contrasts::Contrasts;
pub use direction::Method;
pub use logistic::{Logistic, auroc, threshold_for_false_positives};
pub use pair::{ContrastText, Pair, PairsError, Positions, check_pairs, parse_pairs};

use thiserror::Error;

use crate::chat::ChatError;
use crate::model::ModelError;
use crate::steer::{ControlVector, SteerError};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConceptError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error(transparent)]
    Steer(#[from] SteerError),
    #[error("a text has no tokens to average over (it needs at least one position after the first and after `from`)")]
    NothingToAverage,
    #[error("no pairs were added")]
    NoPairs,
    #[error("the two sides do not differ at block {0}: the mean difference is zero")]
    ZeroDirection(usize),
    #[error("layer range {start}..={end} is empty or outside the blocks that can be steered (1..={max})")]
    BadRange { start: usize, end: usize, max: usize },
    #[error(transparent)]
    Pairs(#[from] PairsError),
    /// An error while running some of the pairs (numbered from 1).
    #[error("{}: {error}", pair_span(*first, *last))]
    InPairs { first: usize, last: usize, error: Box<ConceptError> },
    #[error("the build was stopped")]
    Stopped,
    #[error("the residual norms do not cover block {0} of the vector")]
    NoNorm(usize),
    #[error("the vector's directions are zero or not finite numbers")]
    UnusableDirections,
    #[error("cannot scale this vector: the model's residual norms are not usable")]
    UnusableNorms,
    #[error(
        "the vector's condition (block {layer}, {width} weights) does not fit this model, or holds values that are not finite numbers"
    )]
    BadCondition { layer: usize, width: usize },
    #[error(
        "the vector's condition (tiller.condition.*) is incomplete or in an old format; rebuild it with `tiller vectors condition`"
    )]
    IncompleteCondition,
}

fn pair_span(first: usize, last: usize) -> String {
    if first == last { format!("pair {first}") } else { format!("pairs {first}–{last}") }
}

/// Unit directions for a range of blocks, with per-block statistics of the pairs they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ConceptVector {
    /// Unit-norm `direction.N` for every block N in the chosen range.
    pub vector: ControlVector,
    pub method: Method,
    /// Mean L2 norm of every block's output (index = block), over positions ≥ 1 of all texts:
    /// the yardstick a strength is measured against.
    pub residual_norms: Vec<f32>,
    /// L2 norm of the mean positive − negative difference at every block, before normalizing.
    pub separation: Vec<f32>,
    /// How many pairs were averaged.
    pub pairs: usize,
    /// When set, the vector is meant to apply only to prompts that match (CAST).
    pub condition: Option<ConditionVector>,
}
