//! What the tests that need the tagger's data share.

use tiller_judge::{Tagger, lexicon_dir};

/// The tagger, or a failure that says how to get its data: CI fetches before testing, so missing data
/// is an error to fix, never a reason to skip.
pub fn tagger() -> Tagger {
    Tagger::load(&lexicon_dir()).unwrap_or_else(|e| panic!("{e}"))
}
