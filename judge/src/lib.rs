//! Judges that score text produced by a steered model, independent of the model itself: lexicons and rules
//! that nobody tuned on Tiller's outputs, so a slider cannot "teach to the test".
//!
//! - [`vader_compound`]: sentiment, VADER (Hutto & Gilbert 2014).
//! - [`formality()`]: Heylighen & Dewaele's F-score over Brill part-of-speech tags, plus contraction and slang rates.
//! - [`is_refusal`]: refusal phrases at the start of a reply, as in the refusal-steering literature.
//! - [`is_toxic`] and [`toxicity()`]: a profanity/insult lexicon (`rustrict`).
//! - [`stance()`]: refuse, deflect or comply, from refusal phrases and compliance markers.
//! - [`is_demeaning`]: put-downs of groups and of the person addressed, in ordinary words.
//! - [`distinct_n`]: lexical diversity, distinct-n (Li et al. 2016).
//!
//! Only the tagger needs data on disk (see [`lexicon_dir`]); `cargo xtask fetch-model` puts it there.

use std::path::PathBuf;

use thiserror::Error;

pub mod demeaning;
pub mod diversity;
pub mod formality;
pub mod refusal;
pub mod sentiment;
mod slang;
pub mod stance;
pub mod tagger;
mod text;
pub mod tokenize;
pub mod toxicity;

pub use demeaning::is_demeaning;
pub use diversity::distinct_n;
pub use formality::{Formality, formality};
pub use refusal::is_refusal;
pub use sentiment::vader_compound;
pub use stance::{Stance, stance};
pub use tagger::Tagger;
pub use toxicity::{is_toxic, toxicity};

#[derive(Debug, Error)]
pub enum JudgeError {
    #[error("{0} is missing: run `cargo xtask fetch-model` first")]
    Missing(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{path}:{line}: {why}")]
    Parse { path: PathBuf, line: usize, why: String },
}

/// The Brill tagger's data: `$TILLER_MODELS_DIR/judges/brill`, else `<repo>/models/judges/brill`.
pub fn lexicon_dir() -> PathBuf {
    tiller_fetch::brill_dir()
}
