//! `cargo xtask test`'s first check after fmt and clippy: imports run one way.
//!
//! Every source file is a module; a path in it that starts with `crate::`, `super::` or `self::`
//! is an edge to the module it names (the longest prefix that is a file). A cycle among files
//! of one crate, or an engine that depends on a web or UI crate, fails the check with the
//! files named. A module's use of its ancestors (`super::Error` in a child of `mod.rs`) is not
//! an edge: that is the module tree. Inline `mod tests` blocks are left out: they sit inside
//! their own module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose modules are checked, by directory.
const CRATES: [&str; 6] = ["engine", "app", "cli", "judge", "fetch", "xtask"];

/// What the engine may never depend on directly: it runs natively and in a worker alike.
const NOT_IN_ENGINE: [&str; 6] = ["leptos", "web-sys", "js-sys", "wasm-bindgen", "gloo-worker", "tiller-app"];

pub fn check(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    for krate in CRATES {
        let src = root.join(krate).join("src");
        if src.is_dir() {
            problems.extend(cycles(&src)?.into_iter().map(|c| format!("{krate}: import cycle {}", c.join(" → "))));
        }
    }
    let manifest = std::fs::read_to_string(root.join("engine/Cargo.toml")).map_err(|e| e.to_string())?;
    for dep in dependencies(&manifest) {
        if NOT_IN_ENGINE.contains(&dep.as_str()) {
            problems.push(format!("engine: depends on {dep}; the engine stays free of web and UI crates"));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("imports do not run one way:\n  {}", problems.join("\n  "))),
    }
}

/// Each cycle (a strongly connected set of more than one module) as module paths, the first
/// repeated at the end.
pub fn cycles(src: &Path) -> Result<Vec<Vec<String>>, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let modules: BTreeMap<String, PathBuf> = files.into_iter().map(|f| (module_of(src, &f), f)).collect();
    let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let code = code_only(&text);
        let mut edges: BTreeSet<String> =
            references(&code).into_iter().filter_map(|path| resolve(module, &path, &modules)).collect();
        // A relative path into a child module (`chat::ChatState` in `ui/mod.rs`).
        let prefix = format!("{module}::");
        for child in modules.keys().filter_map(|m| m.strip_prefix(&prefix)).filter(|c| !c.contains("::")) {
            if mentions(&code, &format!("{child}::")) {
                edges.insert(format!("{prefix}{child}"));
            }
        }
        // A module may use what its ancestors define (a crate's error type, a parent's shared
        // types): that is the tree, not a cycle. Every other edge counts.
        edges.retain(|target| target != module && !module.starts_with(&format!("{target}::")));
        graph.insert(module, edges);
    }
    let mut found = Vec::new();
    for component in strongly_connected(&graph).into_iter().filter(|c| c.len() > 1) {
        let mut cycle = close(&graph, component.clone());
        if component.len() + 1 > cycle.len() {
            let mut rest: Vec<String> = component
                .iter()
                .map(|m| m.trim_start_matches("crate::").to_string())
                .filter(|m| !cycle.contains(m))
                .collect();
            rest.sort();
            cycle.push(format!("(and {} more in the same tangle: {})", rest.len(), rest.join(", ")));
        }
        found.push(cycle);
    }
    Ok(found)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `ui/chat.rs` → `ui::chat`; `ui/mod.rs` → `ui`; `lib.rs`, `main.rs` and `bin/*` → the crate root
/// (`crate`) or the binary's own name.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    match parts.as_slice() {
        [one] if one == "lib" || one == "main" => "crate".into(),
        [bin, name] if bin == "bin" => format!("bin::{name}"),
        _ => {
            let mut parts = parts;
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            format!("crate::{}", parts.join("::"))
        }
    }
}

/// The file's text without comments, string literals and `#[cfg(test)]` modules.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") && lines.peek().is_some_and(|l| l.trim_start().starts_with("mod ")) {
            // A test module runs to the end of the file by this workspace's convention.
            break;
        }
        let mut chars = line.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            match (in_string, c) {
                (false, '/') if chars.peek() == Some(&'/') => break,
                (false, '"') => in_string = true,
                (true, '\\') => {
                    chars.next();
                }
                (true, '"') => in_string = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out.push('\n');
    }
    out
}

/// Every `crate::…`, `super::…` and `self::…` path, with `use` groups (`super::{a, b::C}`)
/// expanded into one path each.
fn references(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"].iter().find(|p| bytes[i..].starts_with(p.as_bytes()));
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        match starts {
            Some(_) if boundary => {
                let end = path_end(code, i);
                expand(&code[i..end], &mut out);
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether `code` has `needle` starting at a word boundary (not inside a longer path).
fn mentions(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// Where a path starting at `start` ends: after its last segment or its balanced `{…}` group.
fn path_end(code: &str, start: usize) -> usize {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' => depth += 1,
            b'}' if depth == 0 => return i,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ if depth > 0 => {}
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b':' => {}
            _ => return i,
        }
        i += 1;
    }
    i
}

fn expand(path: &str, out: &mut Vec<String>) {
    let Some(open) = path.find('{') else {
        out.push(path.trim_end_matches(':').to_string());
        return;
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.len().saturating_sub(1)];
    let mut depth = 0;
    let mut from = 0;
    let mut items = Vec::new();
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[from..]);
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        let item = item.split(" as ").next().unwrap_or(item).trim();
        match item {
            "self" => out.push(prefix.trim_end_matches(':').to_string()),
            _ => expand(&format!("{prefix}{}", item.split_whitespace().collect::<String>()), out),
        }
    }
}

/// The module a path in `from` names: `super` and `self` made absolute, then the longest prefix
/// that is a file of the crate.
fn resolve(from: &str, path: &str, modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = from.split("::").collect();
    if from.starts_with("bin::") {
        // A binary's `crate` is itself; it reaches the library by the crate's name instead.
        base = vec!["crate"];
    }
    match segments.first() {
        Some(&"crate") => base = vec!["crate"],
        Some(&"self") => {}
        Some(&"super") => {}
        _ => return None,
    }
    if segments[0] == "crate" || segments[0] == "self" {
        segments.remove(0);
    }
    while segments.first() == Some(&"super") {
        segments.remove(0);
        if base.len() > 1 {
            base.pop();
        }
    }
    let mut full: Vec<&str> = base;
    full.extend(segments);
    (1..=full.len()).rev().map(|n| full[..n].join("::")).find(|m| modules.contains_key(m))
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &BTreeMap<&str, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<&'a str, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        out: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        let i = s.index.len();
        s.index.insert(v.to_string(), i);
        s.low.insert(v.to_string(), i);
        s.stack.push(v.to_string());
        s.on_stack.insert(v.to_string());
        let targets: Vec<String> = s.graph.get(v).map(|t| t.iter().cloned().collect()).unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.to_string(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.to_string(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(*v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// One cycle through a component, as a readable path (`a → b → a`).
fn close(graph: &BTreeMap<&str, BTreeSet<String>>, mut component: Vec<String>) -> Vec<String> {
    component.sort();
    let members: BTreeSet<&String> = component.iter().collect();
    let start = component[0].clone();
    // Breadth-first from start back to start, inside the component.
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v.as_str()).into_iter().flatten().filter(|w| members.contains(w)) {
            if *w == start {
                let mut path = vec![start.clone(), v.clone()];
                let mut at = v.clone();
                while let Some(p) = previous.get(&at) {
                    path.push(p.clone());
                    at = p.clone();
                }
                path.reverse();
                path.insert(0, start.clone());
                path.pop();
                path.push(start.clone());
                path.dedup();
                return path.into_iter().map(|m| m.trim_start_matches("crate::").to_string()).collect();
            }
            if !previous.contains_key(w) && *w != start {
                previous.insert(w.clone(), v.clone());
                queue.push_back(w.clone());
            }
        }
    }
    component
}

/// The names under `[dependencies]` of a Cargo.toml.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]" || line.starts_with("[target.") && line.ends_with(".dependencies]");
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tiller-imports-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_cycle_through_use_groups_and_super_is_found() {
        let dir = tree(&[
            ("lib.rs", "mod ui;\n"),
            ("ui/mod.rs", "mod a;\nmod b;\nmod c;\n"),
            ("ui/a.rs", "use super::{b::Thing, c};\n// use super::nothing\n"),
            ("ui/b.rs", "pub struct Thing;\nfn f() { crate::ui::c::g(); }\n"),
            ("ui/c.rs", "pub fn g() { let _ = \"super::a\"; }\nfn h() -> super::a::X { todo!() }\n"),
        ]);
        let found = cycles(&dir).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let cycle = &found[0];
        assert_eq!(cycle.first(), cycle.iter().rfind(|m| !m.starts_with('(')));
        assert!(cycle.contains(&"ui::a".to_string()) && cycle.contains(&"ui::c".to_string()), "{cycle:?}");
        assert!(!cycle.contains(&"ui::b".to_string()) || cycle.len() == 4, "{cycle:?}");
    }

    #[test]
    fn comments_strings_and_test_modules_make_no_edges() {
        let dir = tree(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::X;\n"),
            (
                "b.rs",
                "pub struct X; // crate::a\nconst S: &str = \"crate::a\";\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
            ),
        ]);
        assert!(cycles(&dir).unwrap().is_empty());
    }

    #[test]
    fn this_workspace_has_no_cycle() {
        check(&crate::root()).unwrap();
    }
}
