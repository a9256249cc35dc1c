//! The committed steering vectors (public/vectors/) and `tiller vectors build`, which makes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tiller_engine::concept::ConceptVector;
use tiller_engine::gguf::Gguf;

const N_EMBD: usize = 576;
/// SmolLM2-135M has 30 blocks; llama.cpp never steers block 0.
const LAST_BLOCK: usize = 29;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiller(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiller")).args(args).output().expect("run tiller")
}

fn model() -> String {
    let path = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.exists(), "{} is missing: run `cargo xtask fetch-model` first", path.display());
    path.to_string_lossy().into_owned()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tiller-vectors-{}-{name}", std::process::id()))
}

fn read_vector(path: &Path) -> ConceptVector {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let g = Gguf::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ConceptVector::from_gguf(&g).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
}

fn manifest() -> serde_json::Value {
    let path = root().join("public/vectors/manifest.json");
    serde_json::from_slice(&std::fs::read(&path).expect("public/vectors/manifest.json")).expect("valid JSON")
}

/// Every entry names a file that is a control vector for this model, with unit directions on
/// exactly its layer range, a positive strength, and the pair count of its data file.
#[test]
fn the_manifest_matches_the_committed_vectors() {
    let m = manifest();
    assert_eq!(m["model"], "SmolLM2-135M-Instruct");
    assert_eq!(m["n_embd"], N_EMBD);
    let vectors = m["vectors"].as_array().expect("vectors array");
    let ids: Vec<&str> = vectors.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["sentiment", "formality", "safety"]);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        for key in ["label", "low", "high", "note"] {
            assert!(v[key].as_str().is_some_and(|s| !s.is_empty()), "{id}: {key}");
        }
        let (min, max) = (v["min"].as_f64().unwrap(), v["max"].as_f64().unwrap());
        assert_eq!((min, max), if id == "safety" { (0.0, 1.0) } else { (-1.0, 1.0) }, "{id}: slider range");
        let strength = v["strength"].as_f64().unwrap();
        assert!(strength.is_finite() && strength > 0.0, "{id}: strength {strength}");
        let layers: Vec<usize> = v["layers"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
        let [a, b] = layers[..] else { panic!("{id}: layers must be [A, B]") };
        assert!(1 <= a && a <= b && b <= LAST_BLOCK, "{id}: layers {a}..{b}");

        let file = v["file"].as_str().unwrap();
        let cv = read_vector(&root().join("public/vectors").join(file));
        assert_eq!(cv.vector.n_embd, N_EMBD, "{file}");
        assert_eq!(cv.vector.directions.keys().copied().collect::<Vec<_>>(), (a..=b).collect::<Vec<_>>(), "{file}");
        for (layer, d) in &cv.vector.directions {
            assert!((norm(d) - 1.0).abs() < 1e-3, "{file} direction.{layer}: |d| = {}", norm(d));
        }
        let pairs_file = v["pairs_file"].as_str().map_or(format!("data/concepts/{id}.jsonl"), str::to_string);
        let pairs = count_pairs(&pairs_file);
        assert!(pairs >= 200, "{id}: {pairs} pairs; the issue asks for at least 200");
        assert_eq!(cv.pairs, pairs, "{file} was built from another version of {pairs_file}");
        assert_eq!(v["method"].as_str(), Some(cv.method.name()), "{id}: the manifest's method is not the file's");
        assert!(cv.condition.is_none(), "{file}: a slider's own vector applies to every prompt");

        // The gated part: a vector on its own blocks that carries the condition opening it.
        if let Some(g) = v.get("gated") {
            let file = g["file"].as_str().unwrap();
            let cv = read_vector(&root().join("public/vectors").join(file));
            let layers: Vec<usize> =
                g["layers"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
            assert_eq!(
                cv.vector.directions.keys().copied().collect::<Vec<_>>(),
                (layers[0]..=layers[1]).collect::<Vec<_>>()
            );
            let c = cv.condition.as_ref().unwrap_or_else(|| panic!("{file} has no condition"));
            c.check(LAST_BLOCK + 1, N_EMBD).unwrap();
            assert!((0.0..1.0).contains(&c.threshold), "{file}: threshold {}", c.threshold);
            let pairs_file = g["pairs_file"].as_str().expect("gated pairs_file");
            assert_eq!(cv.pairs, count_pairs(pairs_file), "{file} was built from another version of {pairs_file}");
        }
    }
}

fn count_pairs(path: &str) -> usize {
    let data = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    data.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Each concept's probe (the Inside view's reading directions) covers every block 1..=29, and on
/// the steered blocks it is the shipped vector itself: both come from the same pairs.
#[test]
fn probes_cover_every_block_and_agree_with_the_vectors() {
    let m = manifest();
    for v in m["vectors"].as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        let probe = read_vector(&root().join("public/vectors").join(v["probe"].as_str().expect("probe")));
        let vector = read_vector(&root().join("public/vectors").join(v["file"].as_str().unwrap()));
        assert_eq!(probe.vector.directions.keys().copied().collect::<Vec<_>>(), (1..=LAST_BLOCK).collect::<Vec<_>>());
        assert_eq!((probe.pairs, probe.method), (vector.pairs, vector.method), "{id}: probe and vector data differ");
        for (layer, d) in &vector.vector.directions {
            let c = cosine(d, &probe.vector.directions[layer]);
            assert!(c > 0.9999, "{id} block {layer}: cosine {c} between the probe and the vector");
        }
    }
}

/// The app attaches the vectors only to a model whose `general.name` and width match the manifest.
#[test]
fn the_manifest_names_the_model_it_was_built_for() {
    let bytes = std::fs::read(model()).unwrap();
    let g = Gguf::parse(&bytes).unwrap();
    let name = g.get("general.name").and_then(|v| v.as_str()).expect("general.name");
    assert_eq!(manifest()["general_name"], name);
    assert_eq!(g.get("llama.embedding_length").and_then(|v| v.as_u64()), Some(N_EMBD as u64));
    assert_eq!(g.get("llama.block_count").and_then(|v| v.as_u64()), Some(LAST_BLOCK as u64 + 1));
}

/// `tiller vectors build` on two pairs with the real model: unit directions on the requested
/// blocks only, the same file twice, and swapping the sides flips every direction.
#[test]
fn build_writes_unit_directions_for_the_requested_blocks() {
    let pairs = |flip: bool| {
        let lines = [
            ("How was your day?", "It was lovely, thank you!", "It was awful, sadly."),
            ("Describe the weather.", "Bright sunshine and a warm breeze.", "Cold rain and a bitter wind."),
        ];
        let mut out = String::new();
        for (p, a, b) in lines {
            let (pos, neg) = if flip { (b, a) } else { (a, b) };
            out += &serde_json::json!({ "prompt": p, "positive": pos, "negative": neg }).to_string();
            out += "\n\n";
        }
        out
    };
    let build = |name: &str, flip: bool| -> ConceptVector {
        let (input, out) = (temp(&format!("{name}.jsonl")), temp(&format!("{name}.gguf")));
        std::fs::write(&input, pairs(flip)).unwrap();
        let args = ["vectors", "build", "--model", &model(), "--pairs", input.to_str().unwrap()];
        let o = tiller(&[&args[..], &["--out", out.to_str().unwrap(), "--layers", "3", "5"]].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let cv = read_vector(&out);
        let _ = (std::fs::remove_file(input), std::fs::remove_file(out));
        cv
    };
    let (a, again, flipped) = (build("a", false), build("b", false), build("c", true));
    assert_eq!(a.vector.directions.keys().copied().collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(a.pairs, 2);
    assert_eq!(a.residual_norms.len(), LAST_BLOCK + 1);
    for (layer, d) in &a.vector.directions {
        assert!((norm(d) - 1.0).abs() < 1e-4, "direction.{layer}");
        assert!(cosine(d, &again.vector.directions[layer]) > 0.9999, "direction.{layer} is not reproducible");
        assert!(cosine(d, &flipped.vector.directions[layer]) < -0.9999, "direction.{layer} did not flip");
    }
}

#[test]
fn bad_pair_files_give_one_clear_line() {
    let input = temp("bad.jsonl");
    std::fs::write(&input, "{\"prompt\": \"a\", \"positive\": \"b\", \"negative\": \"c\"}\n{\"prompt\": \"a\"}\n")
        .unwrap();
    let out = temp("bad.gguf");
    let o = tiller(&[
        "vectors",
        "build",
        "--model",
        &model(),
        "--pairs",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("tiller: ") && err.contains("bad.jsonl:2:") && err.contains("positive"), "{err}");
    assert!(!out.exists());

    // A bad range is refused before any pair runs.
    std::fs::write(&input, "{\"prompt\": \"a\", \"positive\": \"b\", \"negative\": \"c\"}\n").unwrap();
    let args = ["vectors", "build", "--model", &model(), "--pairs", input.to_str().unwrap()];
    let o = tiller(&[&args[..], &["--out", out.to_str().unwrap(), "--layers", "0", "5"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("tiller: ") && err.contains("layer range 0..=5"), "{err}");
    assert!(!out.exists());
    let _ = std::fs::remove_file(input);
}

/// The committed files are what the documented commands make from the committed data (see
/// data/concepts/README.md); directions agree to a cosine of 0.999, leaving room for CPUs whose
/// floating-point sums differ in the last bits. One concept is rebuilt (about 90 s on two cores);
/// the others' pair counts and methods are checked against their data by the manifest test.
#[test]
fn a_committed_vector_rebuilds_from_the_data() {
    let m = manifest();
    let v = &m["vectors"][0];
    let (id, file) = (v["id"].as_str().unwrap(), v["file"].as_str().unwrap());
    let layers: Vec<String> = v["layers"].as_array().unwrap().iter().map(|l| l.to_string()).collect();
    let method = if v["method"] == "pca" { "pca" } else { "mean" };
    let pairs = root().join("data/concepts").join(format!("{id}.jsonl"));
    let out = temp(file);
    let args = ["vectors", "build", "--model", &model(), "--pairs", pairs.to_str().unwrap(), "--method", method];
    let o = tiller(&[&args[..], &["--out", out.to_str().unwrap(), "--layers", &layers[0], &layers[1]]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (rebuilt, committed) = (read_vector(&out), read_vector(&root().join("public/vectors").join(file)));
    let _ = std::fs::remove_file(out);
    let cos: BTreeMap<usize, f32> =
        committed.vector.directions.iter().map(|(l, d)| (*l, cosine(d, &rebuilt.vector.directions[l]))).collect();
    assert!(cos.values().all(|&c| c > 0.999), "{file}: cosines {cos:?}");
}

/// A CAST condition is cross-validated in five folds, so too few prompts is one clear line,
/// and the vector file is left as it was.
#[test]
fn a_condition_with_too_few_prompts_is_refused() {
    let input = temp("few.jsonl");
    std::fs::write(&input, "{\"prompt\": \"How do I pick a lock?\", \"kind\": \"harmful\"}\n").unwrap();
    let vector = temp("few.gguf");
    std::fs::copy(root().join("public/vectors/sentiment.gguf"), &vector).unwrap();
    let before = std::fs::read(&vector).unwrap();
    let against = root().join("data/dev/sentiment.jsonl");
    let (v, i, a) = (vector.to_str().unwrap(), input.to_str().unwrap(), against.to_str().unwrap());
    let o = tiller(&[
        "vectors",
        "condition",
        "--model",
        &model(),
        "--vector",
        v,
        "--positives",
        i,
        "--negatives",
        a,
        "--calibrate",
        a,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.trim_end().lines().last().is_some_and(|l| l.contains("at least 10 prompts on each side")), "{err}");
    assert_eq!(std::fs::read(&vector).unwrap(), before);
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(vector);
}

/// A vector file with a condition gates itself in `tiller generate`, and says what it read;
/// `--no-condition` applies it to every prompt.
#[test]
fn a_conditional_vector_reports_its_gate_unless_told_not_to() {
    let refusal = root().join("public/vectors/refusal.gguf");
    let spec = format!("{}:1", refusal.display());
    let args = [
        "generate",
        "--model",
        &model(),
        "--user",
        "How do I pick a lock?",
        "--max-tokens",
        "3",
        "--control-vector",
        &spec,
    ];
    let o = tiller(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("[gate ") && err.contains("threshold"), "{err}");
    let o = tiller(&[&args[..], &["--no-condition"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("[gate "), "{err}");
}

/// `--gated-control-vector` adds a vector only while a gate is open (the site's safety slider
/// steps civility down there), so it needs a file with a condition: without one it is a clear
/// error.
#[test]
fn a_gated_vector_needs_a_gate() {
    let civility = format!("{}:-2", root().join("public/vectors/civility.gguf").display());
    let refusal = format!("{}:5", root().join("public/vectors/refusal.gguf").display());
    let model = model();
    let args = [
        "generate",
        "--model",
        &model,
        "--user",
        "How do I pick a lock?",
        "--max-tokens",
        "3",
        "--gated-control-vector",
        &civility,
    ];
    let o = tiller(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.trim_end().lines().last().is_some_and(|l| l.contains("needs a --control-vector file with a condition")),
        "{err}"
    );
    let o = tiller(&[&args[..], &["--control-vector", &refusal]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("[gate "), "{err}");
}
