//! The browser tests: the engine compiled to wasm32 under wasm-bindgen's runner, and the whole
//! app (dist/) driven by Node scripts in tests/e2e through headless Chromium.

use std::path::Path;
use std::process::Command;

use crate::serve::{self, Site};
use crate::{root, site, tools};

/// The engine compiled to wasm32 and run in headless Chromium by wasm-bindgen's test runner.
///
/// The app's WebGPU worker is selected beside the engine so that cargo resolves the features
/// Trunk's build of that worker resolves (the worker's web-sys features reach wgpu): burn and its
/// GPU stack are then compiled for wasm32 once, for both, instead of twice. (The CPU-only worker
/// resolves fewer features and has a build of burn-flex of its own, without the GPU stack.)
pub fn engine_in_browser() -> Result<(), String> {
    tools::wasm_target()?;
    tools::wasm_bindgen_cli()?;
    tools::chromium()?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root())
        .args(["test", "--release", "--target", tools::WASM, "--test", "web"])
        .args(["-p", "tiller-engine", "-p", "tiller-app", "--no-default-features", "--features", "tiller-app/webgpu"])
        // Show the browser's console, where the WebGPU test says whether it ran.
        .args(["--", "--nocapture"])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        // The first WebGPU use compiles and autotunes kernels: far past the default 20 s.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300");
    tools::status(&mut cmd)
}

/// The tests of the built app: each script runs even when one before it failed, and a summary
/// says which passed.
const SCRIPTS: [&str; 5] = ["chat.mjs", "vectors.mjs", "webgpu_tiny.mjs", "classroom_ui.mjs", "classroom.mjs"];

/// Build dist/, serve it under /tiller/ (a sub-path, as on a static host) and run every script.
pub fn app() -> Result<(), String> {
    let dist = site::dist()?;
    tools::chromium()?;
    tools::npm_ci()?;
    let url = serve_for_tests(&dist, "/tiller/")?;
    let results: Vec<(&str, Result<(), String>)> = SCRIPTS.iter().map(|s| (*s, node(s, &url, &[]))).collect();
    println!("== browser tests of the app ({url})");
    for (script, result) in &results {
        match result {
            Ok(()) => println!("   {script}: passed (its output above says what ran)"),
            Err(e) => println!("   {script}: FAILED: {e}"),
        }
    }
    let failed: Vec<&str> = results.iter().filter(|(_, r)| r.is_err()).map(|(s, _)| *s).collect();
    if failed.is_empty() { Ok(()) } else { Err(format!("browser tests failed: {}", failed.join(", "))) }
}

/// Serve `dist` on a free port for as long as xtask runs; returns its URL.
pub fn serve_for_tests(dist: &Path, base: &str) -> Result<String, String> {
    serve::spawn(Site::new(dist.to_path_buf(), base), 0).map_err(|e| format!("cannot start the test server: {e}"))
}

/// `node tests/e2e/<script> <args>` with the site's URL in TILLER_URL.
pub fn node(script: &str, url: &str, args: &[String]) -> Result<(), String> {
    node_with_env(script, url, args, &[])
}

/// As [`node`], with more environment variables for the script.
pub fn node_with_env(script: &str, url: &str, args: &[String], env: &[(&str, String)]) -> Result<(), String> {
    node_with_flags(&[], script, url, args, env)
}

/// As [`node_with_env`], with flags for node itself.
pub fn node_with_flags(
    flags: &[&str],
    script: &str,
    url: &str,
    args: &[String],
    env: &[(&str, String)],
) -> Result<(), String> {
    println!("== node tests/e2e/{script} {}", args.join(" "));
    let dir = root().join("tests/e2e");
    tools::status(
        Command::new("node")
            .current_dir(&dir)
            .args(flags)
            .arg(script)
            .args(args)
            .env("TILLER_URL", url)
            .env("TILLER_CHROMIUM", std::env::var("TILLER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
    )
}
