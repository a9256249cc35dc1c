//! Benchmarks: the native `tiller bench` on each backend, and the web app in headless Chromium.

use std::process::Command;

use crate::{e2e, fetch_model, root, site, tools};

/// `tiller bench` on each native backend, and llama-bench beside it when given.
pub fn native(extra: &[String]) -> Result<(), String> {
    fetch_model()?;
    let model = tiller_fetch::default_model_path();
    tools::cargo(&["build", "--release", "--quiet", "-p", "tiller-cli"], &[])?;
    let tiller = root().join("target/release/tiller");
    if let Some(i) = extra.iter().position(|a| a == "--llama-bench") {
        let llama = extra.get(i + 1).ok_or("--llama-bench needs a path")?;
        println!("== llama.cpp (llama-bench, 2 threads, flash attention off)");
        tools::status(
            Command::new(llama).arg("-m").arg(&model).args(["-t", "2", "-fa", "0", "-p", "64", "-n", "64", "-r", "3"]),
        )?;
    }
    // Lavapipe runs wgpu's shaders on the CPU, about 1 token/s: a shorter run says as much.
    for (backend, sizes) in [("flex", ["64", "64"]), ("ndarray", ["64", "64"]), ("wgpu", ["64", "16"])] {
        println!("== tiller bench --backend {backend}");
        let args = ["bench", "--backend", backend, "--prompt-tokens", sizes[0], "--gen-tokens", sizes[1]];
        if let Err(e) = tools::status(Command::new(&tiller).args(args)) {
            println!("(did not run: {e})");
        }
    }
    Ok(())
}

/// The built app in headless Chromium: load time, prefill and decode tokens/s and peak memory per
/// backend (`extra`: which backends, default cpu flex webgpu).
pub fn browser(extra: &[String]) -> Result<(), String> {
    let dist = site::dist()?;
    tools::chromium()?;
    tools::npm_ci()?;
    let url = e2e::serve_for_tests(&dist, "/")?;
    e2e::node("bench.mjs", &url, extra)
}
