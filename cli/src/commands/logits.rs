use std::path::PathBuf;

use tiller_engine::model::{Logits, read_f32};

use crate::model_arg::ModelArgs;
use crate::steering_arg::SteeringArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Raw text; special tokens are parsed and no BOS is added
    #[arg(long)]
    prompt: String,
    /// Where to write the last position's logits (float32 .npy)
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    steering: SteeringArgs,
}

pub fn run(a: Args) -> Result<(), String> {
    let (m, device) = a.model.load()?;
    let mut steering = a.steering.build(&m.model.config, &device)?;
    let ids = m.tokenizer.encode(&a.prompt, true);
    let mut cache = m.model.new_cache();
    let logits = m.model.forward(&ids, &mut cache, &mut steering, Logits::Last).map_err(|e| e.to_string())?;
    let values = pollster::block_on(read_f32(logits)).map_err(|e| e.to_string())?;
    crate::npy::write_f32(&a.out, &values)
}
