use std::path::PathBuf;

use tiller_engine::gguf::Gguf;
use tiller_engine::tokenizer::Tokenizer;

use crate::model_arg::read_model_bytes;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: Option<PathBuf>,
    /// Treat special-token text such as <|im_start|> as plain text
    #[arg(long)]
    no_special: bool,
    text: String,
}

pub fn run(a: Args) -> Result<(), String> {
    let (path, bytes) = read_model_bytes(a.model)?;
    let g = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let tok = Tokenizer::from_gguf(&g).map_err(|e| format!("{}: {e}", path.display()))?;
    let ids = tok.encode(&a.text, !a.no_special);
    println!("{}", serde_json::json!({ "ids": ids }));
    Ok(())
}
