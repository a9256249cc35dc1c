use std::path::PathBuf;

use tiller_engine::model::{Logits, read_f32};
use tiller_engine::sample::Sampler;
use tiller_engine::session::Session;

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
    let plan = a.steering.build(&m.model.config, &device)?;
    let ids = m.tokenizer.encode(&a.prompt, true);
    let values = if plan.condition().is_some() {
        // A gated vector steers the reply: the logits after the gate read the prompt.
        let mut session = Session::new(&m.model);
        session.set_steering(plan);
        let sampler = Sampler::new(Default::default()).map_err(|e| e.to_string())?;
        let logits =
            pollster::block_on(session.prefill(&ids, sampler, Default::default())).map_err(|e| e.to_string())?;
        let logits = logits.to_vec();
        if let Some(g) = session.gate() {
            eprintln!("{}", crate::describe_gate(&g));
        }
        logits
    } else {
        let mut cache = m.model.new_cache();
        let mut steering = plan.always().clone();
        let logits = m.model.forward(&ids, &mut cache, &mut steering, Logits::Last).map_err(|e| e.to_string())?;
        pollster::block_on(read_f32(logits)).map_err(|e| e.to_string())?
    };
    crate::npy::write_f32(&a.out, &values)
}
