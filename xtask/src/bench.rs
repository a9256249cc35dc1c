//! Benchmarks: the native `tiller bench` on each backend, and the web app in headless Chromium.

use std::process::Command;

use crate::{e2e, fetch_model, root, site, tools};

/// `tiller bench` on each native backend with llama.cpp's llama-bench beside it (built once
/// unless `--llama-bench PATH` names one), on the same file and thread count, and the ratios.
pub fn native(extra: &[String]) -> Result<(), String> {
    fetch_model()?;
    let model = tiller_fetch::default_model_path();
    // The whole workspace, so that features resolve as in `cargo test --workspace` and the
    // test build's burn is reused (`-p tiller-cli` alone resolves fewer and rebuilds it).
    tools::cargo(&["build", "--release", "--quiet", "--workspace", "--bins"], &[])?;
    let tiller = root().join("target/release/tiller");
    let llama = match extra.iter().position(|a| a == "--llama-bench") {
        Some(i) => std::path::PathBuf::from(extra.get(i + 1).ok_or("--llama-bench needs a path")?),
        None => tools::llama_bench()?,
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    println!("== llama.cpp (llama-bench, {threads} threads, flash attention off)");
    let out = Command::new(&llama)
        .arg("-m")
        .arg(&model)
        .args(["-t", &threads, "-fa", "0", "-p", "64", "-n", "64", "-r", "3", "-o", "json"])
        .output()
        .map_err(|e| format!("cannot start {}: {e}", llama.display()))?;
    let peer = llama_bench_rates(&String::from_utf8_lossy(&out.stdout));
    match &peer {
        Some((pp, tg)) => println!("prefill      {pp:.1} tok/s  (pp64)\ndecode       {tg:.1} tok/s  (tg64)"),
        None => println!("(llama-bench gave no result: {})", String::from_utf8_lossy(&out.stderr).trim()),
    }
    // Lavapipe runs wgpu's shaders on the CPU, about 1 token/s: a shorter run says as much.
    for (backend, sizes) in [("flex", ["64", "64"]), ("wgpu", ["64", "16"])] {
        println!("== tiller bench --backend {backend}");
        let args = ["bench", "--backend", backend, "--prompt-tokens", sizes[0], "--gen-tokens", sizes[1], "--json"];
        let out = Command::new(&tiller).args(args).output().map_err(|e| format!("cannot start tiller: {e}"))?;
        let Ok(r) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            println!("(did not run: {})", String::from_utf8_lossy(&out.stderr).trim());
            continue;
        };
        let (pp, tg) = (r["prefill_tok_s"].as_f64().unwrap_or(0.0), r["decode_tok_s"].as_f64().unwrap_or(0.0));
        println!("prefill      {pp:.1} tok/s  (pp{})\ndecode       {tg:.1} tok/s  (tg{})", sizes[0], sizes[1]);
        let (cmp, chat) = (r["compare_step_ms"].as_f64().unwrap_or(0.0), r["chat_step_ms"].as_f64().unwrap_or(1.0));
        println!("compare step {cmp:.1} ms  ({:.2}× a chat step of {chat:.1} ms)", cmp / chat);
        println!("peak memory  {:.0} MiB resident", r["peak_rss_mib"].as_f64().unwrap_or(0.0));
        if let Some((lpp, ltg)) = peer {
            println!("vs llama.cpp prefill {:.2}×, decode {:.2}× (same run, {threads} threads)", pp / lpp, tg / ltg);
        }
    }
    Ok(())
}

/// (prefill, decode) tokens/s from llama-bench's JSON output.
fn llama_bench_rates(json: &str) -> Option<(f64, f64)> {
    let runs: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
    let rate = |pp: u64, tg: u64| {
        runs.iter().find(|r| r["n_prompt"].as_u64() == Some(pp) && r["n_gen"].as_u64() == Some(tg))?["avg_ts"].as_f64()
    };
    Some((rate(64, 0)?, rate(0, 64)?))
}

/// The built app in headless Chromium beside wllama 2.3.5 on the same model, with ratios
/// (`extra`: which of cpu, webgpu, wllama; default all).
pub fn browser(extra: &[String]) -> Result<(), String> {
    let dist = site::dist()?;
    tools::chromium()?;
    tools::npm_ci()?;
    let url = e2e::serve_for_tests(&dist, "/")?;
    let peer = peer_site(&dist)?;
    let peer_url = e2e::serve_for_tests(&peer, "/")?;
    let env = [
        ("TILLER_PEER_URL", peer_url),
        ("TILLER_PEER_DIR", peer.display().to_string()),
        ("TILLER_DIST", dist.display().to_string()),
    ];
    e2e::node_with_env("bench.mjs", &url, extra, &env)
}

/// V8's profile of the engine worker during one reply (tests/e2e/profile.mjs), on the workers
/// built with their function names; the whole profile lands in target/profile/.
pub fn profile_browser(extra: &[String]) -> Result<(), String> {
    let dist = site::dist_with_names()?;
    tools::chromium()?;
    tools::npm_ci()?;
    let url = e2e::serve_for_tests(&dist, "/")?;
    let out = root().join("target/profile").display().to_string();
    // Node 20 has its WebSocket (the DevTools connection) behind a flag; 22 has it built in.
    e2e::node_with_flags(&["--experimental-websocket"], "profile.mjs", &url, extra, &[("TILLER_PROFILE_DIR", out)])
}

/// target/bench-peer/: wllama's ES module and wasm files (from tests/e2e/node_modules, pinned by
/// its package-lock), the page that drives them, and the same model file as dist/.
fn peer_site(dist: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let e2e = root().join("tests/e2e");
    let esm = e2e.join("node_modules/@wllama/wllama/esm");
    let peer = root().join("target/bench-peer");
    let err = |what: &std::path::Path, e: std::io::Error| format!("{}: {e}", what.display());
    let _ = std::fs::remove_dir_all(&peer);
    std::fs::create_dir_all(peer.join("wllama/single-thread")).map_err(|e| err(&peer, e))?;
    for (from, to) in [
        (esm.join("index.js"), peer.join("wllama/index.js")),
        (esm.join("single-thread/wllama.wasm"), peer.join("wllama/single-thread/wllama.wasm")),
        (e2e.join("peer/wllama.html"), peer.join("index.html")),
        (dist.join(site::MODEL_DIR).join(tiller_fetch::FILE_NAME), peer.join("model.gguf")),
    ] {
        std::fs::copy(&from, &to).map_err(|e| err(&from, e))?;
    }
    Ok(peer)
}
