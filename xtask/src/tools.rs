//! Running commands, and installing the tools the build and the tests need (once, before any
//! build step, so that the builds themselves never download anything).

use std::path::Path;
use std::process::Command;

use crate::root;

pub const WASM: &str = "wasm32-unknown-unknown";
/// Trunk builds the web app; Trunk.toml is written for this version.
pub const TRUNK_VERSION: &str = "0.21.14";

/// `cargo <args> <extra>` at the repository root.
pub fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root()).args(args).args(extra);
    status(&mut cmd)
}

/// Run `cmd`, inheriting stdio; an error names the program when it fails or cannot start.
pub fn status(cmd: &mut Command) -> Result<(), String> {
    let s = cmd.status().map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if s.success() { Ok(()) } else { Err(format!("{:?} failed ({s})", cmd.get_program())) }
}

/// The first line a tool prints for `--version`, or None when it is not installed.
fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success().then(|| text.lines().next().unwrap_or_default().trim().to_string())
}

pub fn wasm_target() -> Result<(), String> {
    status(Command::new("rustup").args(["target", "add", WASM]))
}

/// wasm-bindgen-cli (Trunk's `wasm-bindgen` and the engine tests' runner) must be exactly the
/// wasm-bindgen version in Cargo.lock.
pub fn wasm_bindgen_cli() -> Result<(), String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or("no wasm-bindgen in Cargo.lock")?;
    let matches = |tool: &str| version_of(tool).is_some_and(|v| v.split(' ').nth(1) == Some(version.as_str()));
    if matches("wasm-bindgen") && matches("wasm-bindgen-test-runner") {
        return Ok(());
    }
    println!("xtask: installing wasm-bindgen-cli {version} (a few minutes, once)");
    // Without --locked: that is how 0.2.130 was checked to install with this toolchain.
    cargo(&["install", "wasm-bindgen-cli", "--version", &version], &[])
}

/// Trunk, exactly TRUNK_VERSION.
pub fn trunk() -> Result<(), String> {
    if version_of("trunk").is_some_and(|v| v == format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    println!("xtask: installing trunk {TRUNK_VERSION} (about 11 minutes on two cores, once)");
    cargo(&["install", "--locked", "trunk", "--version", TRUNK_VERSION], &[])
}

/// npm's binaryen (tools/wasm-opt, version pinned by its package-lock) for Trunk's wasm-opt
/// step; returns the folder to put first on PATH. Debian's binaryen 108 breaks the page.
pub fn wasm_opt() -> Result<std::path::PathBuf, String> {
    let dir = root().join("tools/wasm-opt");
    let bin = dir.join("node_modules/.bin");
    if !bin.join("wasm-opt").exists() {
        node()?;
        status(Command::new("npm").current_dir(&dir).args(["ci", "--prefer-offline", "--no-audit", "--no-fund"]))?;
    }
    Ok(bin)
}

/// Node and npm for the browser tests (Debian's packages when they are missing).
pub fn node() -> Result<(), String> {
    if version_of("node").is_some() && version_of("npm").is_some() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"], "/usr/bin/npm")
}

/// `npm ci` in tests/e2e: playwright-core at the version package-lock.json pins. It drives the
/// system's Chromium, so no browser is downloaded.
pub fn npm_ci() -> Result<(), String> {
    node()?;
    let dir = root().join("tests/e2e");
    status(Command::new("npm").current_dir(&dir).args(["ci", "--prefer-offline", "--no-audit", "--no-fund"]))
}

/// Chromium (and ChromeDriver for wasm-bindgen's test runner) from Debian.
pub fn chromium() -> Result<(), String> {
    apt_install(&["chromium", "chromium-driver"], "/usr/bin/chromedriver")
}

/// Mesa's lavapipe gives wgpu a Vulkan adapter on a machine without a GPU, so the wgpu parity
/// tests can run. Best effort: without it those tests say why they did not run.
pub fn vulkan_driver() {
    if let Err(e) = apt_install(&["mesa-vulkan-drivers"], "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json") {
        println!("xtask: {e}: the wgpu tests will report that they did not run");
    }
}

/// Install Debian packages unless `marker` already exists.
pub fn apt_install(packages: &[&str], marker: &str) -> Result<(), String> {
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

/// llama.cpp's `llama-bench`, the native peer of `tiller bench`: built once into
/// target/llama.cpp/ from the llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist on
/// PyPI (the same source as the reference fixtures), with cmake and ninja from Debian.
pub fn llama_bench() -> Result<std::path::PathBuf, String> {
    const VERSION: &str = "0.3.36";
    let dir = root().join("target/llama.cpp");
    let exe = dir.join("build/bin/llama-bench");
    if exe.exists() {
        return Ok(exe);
    }
    apt_install(&["cmake", "ninja-build"], "/usr/bin/ninja")?;
    println!("xtask: building llama-bench from llama-cpp-python {VERSION}'s sources (a few minutes, once)");
    let src = dir.join(format!("llama_cpp_python-{VERSION}"));
    if !src.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        status(
            Command::new("python3")
                .current_dir(&dir)
                .args(["-m", "pip", "download", "--no-deps", "--no-binary"])
                .args(["llama-cpp-python", &format!("llama-cpp-python=={VERSION}"), "-d", "."]),
        )?;
        status(Command::new("tar").current_dir(&dir).args(["-xzf", &format!("llama_cpp_python-{VERSION}.tar.gz")]))?;
    }
    let build = dir.join("build");
    status(
        Command::new("cmake")
            .arg("-S")
            .arg(src.join("vendor/llama.cpp"))
            .arg("-B")
            .arg(&build)
            .args(["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF"])
            // Without AMX: on Xeons that report it to a VM without letting it run, its kernels
            // die of SIGILL (GCC keeps an explicit -mno-* against -march=native).
            .args(["-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"])
            .args(["-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"])
            .args([
                "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF",
                "-DLLAMA_BUILD_SERVER=OFF",
                "-DLLAVA_BUILD=OFF",
            ]),
    )?;
    status(Command::new("cmake").arg("--build").arg(&build).args(["-j2", "--target", "llama-bench"]))?;
    Ok(exe)
}
