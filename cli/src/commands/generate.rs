use std::io::Write;

use tiller_engine::chat::Message;
use tiller_engine::sample::Sampler;
use tiller_engine::session::Session;

use super::{SamplingArgs, turn};
use crate::model_arg::ModelArgs;
use crate::steering_arg::SteeringArgs;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "user"])))]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Raw text; special tokens are parsed and no BOS is added
    #[arg(long)]
    prompt: Option<String>,
    /// A user message, rendered with the model's chat template
    #[arg(long)]
    user: Option<String>,
    /// System prompt for --user (the template's default when omitted)
    #[arg(long, requires = "user")]
    system: Option<String>,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Mask the end-of-generation tokens and run to --max-tokens
    #[arg(long)]
    ignore_eos: bool,
    #[command(flatten)]
    steering: SteeringArgs,
    /// Print one JSON object (ids, text, token counts, speeds) instead of streaming
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), String> {
    let (m, device) = a.model.load()?;
    let tokens = match (&a.prompt, &a.user) {
        (Some(p), _) => m.tokenizer.encode(p, true),
        (None, Some(u)) => {
            let mut messages = Vec::new();
            if let Some(s) = &a.system {
                messages.push(Message::system(s.clone()));
            }
            messages.push(Message::user(u.clone()));
            m.prompt(&messages).map_err(|e| e.to_string())?
        }
        (None, None) => unreachable!("clap requires --prompt or --user"),
    };
    let sampler = Sampler::new(a.sampling.params()).map_err(|e| e.to_string())?;
    let mut session = Session::new(&m.model);
    session.set_steering(a.steering.build(&m.model.config, &device)?);

    let mut out = std::io::stdout().lock();
    let stats = turn::run(&mut session, &m, &tokens, None, sampler, a.ignore_eos, a.max_tokens, |piece| {
        if !a.json {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        }
    })?;
    let gate = session.gate();
    if let Some(g) = gate
        && !a.json
    {
        eprintln!("{}", crate::describe_gate(&g));
    }
    if a.json {
        let json = serde_json::json!({
            "gate": gate.map(|g| serde_json::json!({"score": g.score, "threshold": g.threshold, "engaged": g.engaged()})),
            "ids": stats.generated,
            "text": m.tokenizer.decode(&stats.generated),
            "prompt_tokens": stats.prompt_tokens,
            "generated_tokens": stats.generated.len(),
            "prefill_tok_s": stats.prefill_tok_s,
            "decode_tok_s": stats.decode_tok_s,
        });
        writeln!(out, "{json}").map_err(|e| e.to_string())?;
    } else {
        writeln!(out).map_err(|e| e.to_string())?;
    }
    Ok(())
}
