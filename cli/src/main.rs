//! `tiller`: the engine on the command line. Every error ends as one line on stderr and exit 1.

mod backend;
mod commands;
mod model_arg;
mod npy;
mod random_model;
mod steering_arg;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tiller", version, about = "Run and steer a llama-architecture model from a GGUF file")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the token ids of TEXT as JSON
    Tokenize(commands::tokenize::Args),
    /// Write the last position's logits as a float32 .npy
    Logits(commands::logits::Args),
    /// Generate text from a raw prompt or a chat message
    Generate(commands::generate::Args),
    /// Chat with the model in the terminal
    Chat(commands::chat::Args),
    /// Measure prefill and decode speed and peak memory
    Bench(commands::bench::Args),
    /// Build steering vectors from contrastive pairs
    Vectors(commands::vectors::Args),
    /// Measure what steering does to generated text, with independent judges
    Eval(commands::eval::Args),
    /// Fetch the default model (SmolLM2-135M-Instruct) if it is not there yet
    FetchModel,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tokenize(a) => commands::tokenize::run(a),
        Command::Logits(a) => commands::logits::run(a),
        Command::Generate(a) => commands::generate::run(a),
        Command::Chat(a) => commands::chat::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Vectors(a) => commands::vectors::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::FetchModel => {
            tiller_fetch::fetch(false).map(|p| println!("{}", p.display())).map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("tiller: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The gate's reading, as the CLI prints it (the app words it in its own languages).
pub(crate) fn describe_gate(g: &tiller_engine::concept::GateReading) -> String {
    if g.engaged() {
        format!("[gate engaged: this request scored {:.2} against a threshold of {:.2}]", g.score, g.threshold)
    } else {
        format!("[gate closed: this request scored {:.2}, below the threshold of {:.2}]", g.score, g.threshold)
    }
}
