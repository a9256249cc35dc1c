use std::io::{BufRead, Write};

use tiller_engine::chat::Message;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::Stop;
use tiller_engine::session::Session;

use super::{SamplingArgs, turn};
use crate::model_arg::ModelArgs;
use crate::steering_arg::SteeringArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// System prompt (the template's default when omitted)
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    steering: SteeringArgs,
}

pub fn run(a: Args) -> Result<(), String> {
    eprintln!("loading the model…");
    let (m, device) = a.model.load()?;
    let params = a.sampling.params();
    Sampler::new(params.clone()).map_err(|e| e.to_string())?;
    // Each turn samples with its own seed, so two equal questions need not get equal answers.
    let mut turns = 0u64;
    let mut session = Session::new(&m.model);
    session.set_steering(a.steering.build(&m.model.config, &device)?);
    let mut history: Vec<Message> = a.system.iter().map(|s| Message::system(s.clone())).collect();

    eprintln!("Chat with the model. /reset starts over, /quit (or Ctrl-D) leaves.");
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    loop {
        write!(out, "\n> ").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Ok(());
        }
        match line.trim() {
            "" => continue,
            "/quit" | "/exit" => return Ok(()),
            "/reset" => {
                history.retain(|m| m.role == tiller_engine::chat::Role::System);
                eprintln!("(new conversation)");
                continue;
            }
            text => history.push(Message::user(text)),
        }
        let tokens = m.prompt(&history).map_err(|e| e.to_string())?;
        let request = tiller_engine::chat::latest_request(&history)
            .map(|r| m.prompt(&r))
            .transpose()
            .map_err(|e| e.to_string())?;
        let seed = params.seed.wrapping_add(turns);
        turns += 1;
        let sampler = Sampler::new(SamplingParams { seed, ..params.clone() }).map_err(|e| e.to_string())?;
        let stats = turn::run(&mut session, &m, &tokens, request.as_deref(), sampler, false, a.max_tokens, |p| {
            let _ = out.write_all(p.as_bytes());
            let _ = out.flush();
        });
        let stats = match stats {
            Ok(s) => s,
            Err(e) => {
                eprintln!("\ntiller: {e}");
                history.pop();
                continue;
            }
        };
        writeln!(out).map_err(|e| e.to_string())?;
        if stats.stop == Stop::ContextFull {
            eprintln!("(the context is full: /reset to start over)");
        }
        if let Some(g) = session.gate() {
            eprintln!("{}", crate::describe_gate(&g));
        }
        eprintln!("[{} tokens, {:.1} tok/s]", stats.generated.len(), stats.decode_tok_s);
        history.push(Message::assistant(m.tokenizer.decode(&stats.generated)));
    }
}
