use std::path::PathBuf;

use burn::tensor::Device;
use tiller_engine::load::LoadedModel;

/// `--model M`, defaulting to the fetched model (fetched now if missing).
pub fn model_path(arg: Option<PathBuf>) -> Result<PathBuf, String> {
    match arg {
        Some(p) => Ok(p),
        None => tiller_fetch::ensure_model().map_err(|e| e.to_string()),
    }
}

pub fn read_model_bytes(arg: Option<PathBuf>) -> Result<(PathBuf, Vec<u8>), String> {
    let path = model_path(arg)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((path, bytes))
}

pub fn load(arg: Option<PathBuf>, device: &Device) -> Result<LoadedModel, String> {
    let (path, bytes) = read_model_bytes(arg)?;
    LoadedModel::from_bytes(&bytes, device).map_err(|e| format!("{}: {e}", path.display()))
}
