//! The engine's typed errors as the protocol's [`Failure`]: what the user can act on by its own
//! case, the rest with the engine's line. The UI words them (`ui::i18n::failure`).

use tiller_engine::concept::ConceptError;
use tiller_engine::gguf::GgufError;
use tiller_engine::load::LoadError;
use tiller_engine::manifest::ManifestError;
use tiller_engine::model::ModelError;
use tiller_engine::sample::SampleError;
use tiller_engine::steer::SteerError;

use crate::protocol::Failure;

fn engine(e: &dyn std::fmt::Display) -> Failure {
    Failure::Engine { detail: e.to_string() }
}

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::ContextFull { needed, limit } => {
                Failure::ContextFull { needed: needed as u32, limit: limit as u32 }
            }
            ModelError::NonFiniteLogits => Failure::NonFinite,
            ModelError::Gguf(e) => Failure::ModelFile { detail: e.to_string() },
            e => engine(&e),
        }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Model(ModelError::Readback(detail)) => Failure::Engine { detail },
            e => Failure::ModelFile { detail: e.to_string() },
        }
    }
}

impl From<SampleError> for Failure {
    fn from(e: SampleError) -> Self {
        Failure::Settings { detail: e.to_string() }
    }
}

impl From<SteerError> for Failure {
    fn from(e: SteerError) -> Self {
        match e {
            SteerError::PastTheModel { block, n_layer } => {
                Failure::BlocksPastModel { last: block as u32, n_layer: n_layer as u32 }
            }
            SteerError::WidthMismatch { got, want } => Failure::OtherWidth { vector: got as u32, model: want as u32 },
            SteerError::Overflow { .. } | SteerError::BadScale(_) => Failure::NonFinite,
            e => engine(&e),
        }
    }
}

impl From<ConceptError> for Failure {
    fn from(e: ConceptError) -> Self {
        match e {
            ConceptError::Stopped => Failure::Cancelled,
            ConceptError::Model(e) => e.into(),
            ConceptError::Steer(e) => e.into(),
            ConceptError::BadRange { start, end, max } => {
                Failure::BadBlocks { start: start as u32, end: end as u32, last: max as u32 }
            }
            e => engine(&e),
        }
    }
}

impl From<ManifestError> for Failure {
    fn from(e: ManifestError) -> Self {
        match e {
            ManifestError::OtherModel => Failure::VectorsForOtherModel,
            e => engine(&e),
        }
    }
}

/// A file given as a control vector that does not parse as one.
pub fn not_a_vector(file: &str, e: &GgufError) -> Failure {
    Failure::NotControlVector { file: file.to_string(), detail: e.to_string() }
}
