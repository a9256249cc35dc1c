//! `cargo xtask dist`: the static site in dist/. Trunk builds the app (offline), then the model
//! goes in beside it and the service worker learns what to precache.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, tools};

/// Where the app looks for its default model, relative to the page (see the UI contract).
pub const MODEL_DIR: &str = "models";

/// The engine's two worker builds (index.html): CPU only, and with WebGPU.
pub const WORKERS: [&str; 2] = ["tiller-worker", "tiller-worker-webgpu"];

/// Build dist/ and return its path.
pub fn dist() -> Result<PathBuf, String> {
    build(std::env::var_os("TILLER_WASM_NAMES").is_some())
}

/// As [`dist`], the workers keeping their function names, for a profile.
pub fn dist_with_names() -> Result<PathBuf, String> {
    build(true)
}

fn build(keep_names: bool) -> Result<PathBuf, String> {
    // Every tool and crate first: the build below runs offline.
    tools::wasm_target()?;
    tools::wasm_bindgen_cli()?;
    tools::trunk()?;
    let wasm_opt = tools::wasm_opt()?;
    let model = tiller_fetch::ensure_model().map_err(|e| e.to_string())?;
    tools::cargo(&["fetch"], &[])?;
    // Trunk takes the wasm-opt it finds on PATH when its version is Trunk.toml's.
    let path = std::env::join_paths(
        std::iter::once(wasm_opt).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .map_err(|e| format!("PATH: {e}"))?;
    tools::status(Command::new("trunk").current_dir(root()).env("PATH", path).args([
        "build",
        "--release",
        "--offline",
    ]))?;

    let dist = root().join("dist");
    for worker in WORKERS {
        let worker = dist.join(format!("{worker}_bg.wasm"));
        // Function names make a browser profile of the worker readable (DevTools, V8's
        // sampling profiler); everyone else downloads a fifth less without them.
        if keep_names {
            println!("xtask: {}: name section kept, for profiling", worker.display());
            continue;
        }
        let (before, after) = strip_names(&worker)?;
        println!("xtask: {}: {before} → {after} bytes without its name section", worker.display());
    }
    link_or_copy(&model, &dist.join(MODEL_DIR).join(tiller_fetch::FILE_NAME))?;
    let inline = crate::csp::add_to(&dist.join("index.html"))?;
    println!("xtask: dist/index.html has a Content-Security-Policy ({inline} inline script allowed by its hash)");
    let shell = finalize_service_worker(&dist)?;
    println!(
        "xtask: dist/ is ready: {} files precached by sw.js (cache tiller-shell-{}), the model in {MODEL_DIR}/",
        shell.urls.len(),
        shell.version
    );
    Ok(dist)
}

/// Drop a wasm module's `name` and `producers` custom sections (function names for stack
/// traces, about a fifth of the worker's bytes), keeping every other section as it is. The
/// worker's script carries no integrity hash, so rewriting it after Trunk is safe; wasm-opt
/// would do this too, but takes minutes on the worker. Returns the sizes before and after.
pub fn strip_names(path: &Path) -> Result<(usize, usize), String> {
    let err = |e: String| format!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let stripped = without_name_sections(&bytes).map_err(err)?;
    std::fs::write(path, &stripped).map_err(|e| err(e.to_string()))?;
    Ok((bytes.len(), stripped.len()))
}

fn without_name_sections(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a wasm module".into());
    }
    // LEB128 u32 at `i`: (value, next index).
    let leb = |mut i: usize| -> Result<(usize, usize), String> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let b = *bytes.get(i).ok_or("truncated section header")?;
            value |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return Ok((value, i));
            }
            shift += 7;
            if shift > 28 {
                return Err("bad section length".into());
            }
        }
    };
    let mut out = bytes[..8].to_vec();
    let mut i = 8;
    while i < bytes.len() {
        let (size, body) = leb(i + 1)?;
        let end = body.checked_add(size).filter(|&e| e <= bytes.len()).ok_or("a section runs past the end")?;
        let custom_name =
            (bytes[i] == 0).then(|| leb(body)).transpose()?.and_then(|(len, at)| bytes.get(at..at.saturating_add(len)));
        if !matches!(custom_name, Some(b"name" | b"producers")) {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    Ok(out)
}

/// A hard link costs nothing; a copy when dist/ is on another file system.
fn link_or_copy(from: &Path, to: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", to.display());
    std::fs::create_dir_all(to.parent().unwrap_or(Path::new("."))).map_err(err)?;
    let _ = std::fs::remove_file(to);
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(err)?;
    }
    Ok(())
}

/// What the service worker precaches: the app shell and a version that changes with it.
#[derive(Debug)]
pub struct Shell {
    pub urls: Vec<String>,
    pub version: String,
}

/// Write the precache list and cache version into dist/sw.js, in place of the placeholder lines
/// `const VERSION = …` and `const SHELL = …` of public/sw.js.
///
/// The shell is every file in dist/ but sw.js itself and models/ (the worker keeps models in its
/// own cache), as URLs relative to sw.js. The version hashes those files, so a build that changes
/// any of them gets a new cache and the old one is deleted on activation.
pub fn finalize_service_worker(dist: &Path) -> Result<Shell, String> {
    let sw_path = dist.join("sw.js");
    let sw = std::fs::read_to_string(&sw_path)
        .map_err(|e| format!("{}: {e} (index.html must copy public/sw.js into dist/)", sw_path.display()))?;
    let mut files = Vec::new();
    walk(dist, "", &mut files)?;
    files.retain(|f| f != "sw.js" && !f.starts_with(&format!("{MODEL_DIR}/")));
    files.sort();

    let mut hash = Fnv::new();
    let mut urls = Vec::new();
    for file in &files {
        let bytes = std::fs::read(dist.join(file)).map_err(|e| format!("dist/{file}: {e}"))?;
        hash.write(file.as_bytes());
        hash.write(&[0]);
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
        // A directory's URL is its index.html too: navigations ask for "./", not "./index.html".
        if let Some(dir) = file.strip_suffix("index.html").filter(|d| d.is_empty() || d.ends_with('/')) {
            urls.push(if dir.is_empty() { "./".to_string() } else { url_encode(dir) });
        }
        urls.push(url_encode(file));
    }
    let version = format!("{:016x}", hash.finish());

    let list: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    let (mut saw_version, mut saw_shell) = (false, false);
    let mut out = String::with_capacity(sw.len() + list.len() * 40);
    for line in sw.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        if line.trim_start().starts_with("const VERSION =") {
            out.push_str(&format!("{indent}const VERSION = \"{version}\"; // written by cargo xtask dist\n"));
            saw_version = true;
        } else if line.trim_start().starts_with("const SHELL =") {
            out.push_str(&format!("{indent}const SHELL = [{}]; // written by cargo xtask dist\n", list.join(", ")));
            saw_shell = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !(saw_version && saw_shell) {
        return Err(format!("{}: no `const VERSION =` or `const SHELL =` line to fill in", sw_path.display()));
    }
    std::fs::write(&sw_path, out).map_err(|e| format!("{}: {e}", sw_path.display()))?;
    Ok(Shell { urls, version })
}

/// Every file under `dir`, as "/"-separated paths relative to it.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().into_string().map_err(|n| format!("{n:?}: not a UTF-8 file name"))?;
        let path = format!("{prefix}{name}");
        if entry.path().is_dir() {
            walk(&entry.path(), &format!("{path}/"), out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Percent-encode all but unreserved characters and "/", so a name is a safe relative URL.
fn url_encode(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// FNV-1a, 64 bits: not cryptographic, only a cache name that changes when the files do.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SW: &str = "// sw\n  const VERSION = 'dev'; // placeholder\nconst SHELL = []; // placeholder\nself.x = 1;\n";

    /// A dist/ with an app shell, a model and an unfinished sw.js.
    fn dist() -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dist = std::env::temp_dir().join(format!("tiller-dist-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        for dir in ["vectors", "models"] {
            std::fs::create_dir_all(dist.join(dir)).unwrap();
        }
        for (name, text) in [
            ("index.html", "<html>"),
            ("tiller-app.js", "js"),
            ("tiller-app_bg.wasm", "wasm"),
            ("vectors/manifest.json", "{}"),
            ("vectors/my vector.gguf", "v"),
            ("models/SmolLM2-135M-Instruct.Q4_1.gguf", "model"),
            ("sw.js", SW),
        ] {
            std::fs::write(dist.join(name), text).unwrap();
        }
        dist
    }

    #[test]
    fn lists_the_shell_but_not_the_model_or_itself() {
        let dist = dist();
        let shell = finalize_service_worker(&dist).unwrap();
        assert_eq!(
            shell.urls,
            [
                "./",
                "index.html",
                "tiller-app.js",
                "tiller-app_bg.wasm",
                "vectors/manifest.json",
                "vectors/my%20vector.gguf"
            ]
        );
        let sw = std::fs::read_to_string(dist.join("sw.js")).unwrap();
        assert!(sw.contains(&format!("  const VERSION = \"{}\";", shell.version)), "{sw}");
        assert!(sw.contains("const SHELL = [\"./\", \"index.html\", "), "{sw}");
        assert!(sw.starts_with("// sw\n") && sw.ends_with("self.x = 1;\n"), "{sw}");
        let _ = std::fs::remove_dir_all(dist);
    }

    #[test]
    fn the_version_follows_the_content() {
        let (a, b) = (dist(), dist());
        let version = |d: &Path| finalize_service_worker(d).unwrap().version;
        assert_eq!(version(&a), version(&b), "same files, same version");
        let before = version(&a);
        std::fs::write(a.join("sw.js"), SW).unwrap();
        std::fs::write(a.join("tiller-app.js"), "js2").unwrap();
        assert_ne!(version(&a), before, "a changed file needs a new cache");
        std::fs::write(b.join("sw.js"), SW).unwrap();
        std::fs::write(b.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"), "other").unwrap();
        assert_eq!(version(&b), before, "the model is not part of the shell");
        let _ = (std::fs::remove_dir_all(a), std::fs::remove_dir_all(b));
    }

    #[test]
    fn name_sections_are_dropped_and_nothing_else() {
        // Header, a type section (id 1, 1 byte), a custom "name" section, a custom "other" one.
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([1, 1, 0]);
        wasm.extend([0, 6, 4, b'n', b'a', b'm', b'e', 9]);
        wasm.extend([0, 6, 5, b'o', b't', b'h', b'e', b'r']);
        let out = without_name_sections(&wasm).unwrap();
        assert_eq!(out, [&wasm[..11], &wasm[19..]].concat());
        assert!(without_name_sections(&wasm[..13]).is_err(), "a truncated section is an error");
        assert!(without_name_sections(b"not wasm").is_err());
    }

    #[test]
    fn a_sw_without_placeholders_is_an_error() {
        let dist = dist();
        std::fs::write(dist.join("sw.js"), "self.x = 1;\n").unwrap();
        let err = finalize_service_worker(&dist).unwrap_err();
        assert!(err.contains("no `const VERSION =`"), "{err}");
        let _ = std::fs::remove_dir_all(dist);
    }
}
