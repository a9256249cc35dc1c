use std::path::PathBuf;

use burn::tensor::Device;
use clap::Args;
use tiller_engine::load::LoadedModel;

use crate::backend::{Backend, device};

/// `--model` and `--backend`, shared by every command that runs the model.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// A llama-architecture GGUF (default: the fetched SmolLM2-135M-Instruct, fetched if missing)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// burn device to run on
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
}

impl ModelArgs {
    pub fn load(&self) -> Result<(LoadedModel, Device), String> {
        let device = device(self.backend)?;
        let (path, bytes) = read_model_bytes(self.model.clone())?;
        let m = LoadedModel::from_bytes(bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((m, device))
    }
}

/// The model file's bytes: `--model`, else the default model (fetched now if missing).
pub fn read_model_bytes(arg: Option<PathBuf>) -> Result<(PathBuf, Vec<u8>), String> {
    let path = match arg {
        Some(p) => p,
        None => tiller_fetch::ensure_model().map_err(|e| e.to_string())?,
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((path, bytes))
}
