//! The `tiller` binary as a user (and our acceptance checks) call it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tiller(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiller")).args(args).output().expect("run tiller")
}

fn model() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.exists(), "{} is missing: run `cargo xtask fetch-model` first", path.display());
    path.to_string_lossy().into_owned()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/fixtures/llama_cpp")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tiller-cli-{}-{name}", std::process::id()))
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "tiller failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// One line on stderr starting with `tiller:`, exit code 1, and no panic.
fn assert_clean_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("tiller: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn npy(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap();
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

const PROMPT_A: &str = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";

#[test]
fn tokenize_prints_json_ids() {
    let out = stdout(&tiller(&["tokenize", "--model", &model(), PROMPT_A]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<u64> = v["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198]);

    let out = stdout(&tiller(&["tokenize", "--model", &model(), "--no-special", "<|im_end|>"]));
    assert!(!out.contains("[2]"), "--no-special must not parse <|im_end|>: {out}");
}

#[test]
fn logits_match_llama_cpp_and_steering_changes_them() {
    let out = temp("a.npy");
    stdout(&tiller(&["logits", "--model", &model(), "--prompt", PROMPT_A, "--out", out.to_str().unwrap()]));
    let ours = npy(&out);
    let theirs = npy(Path::new(&fixture("last_logits_a.npy")));
    assert_eq!(ours.len(), 49152);
    let max = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(max <= 1.5, "max |Δ| {max}");

    let steered = temp("c-multi.npy");
    let prompt_c = "The quick brown fox jumps over the lazy dog.";
    let cv = format!("{}:0.5", fixture("cvec_multi.gguf"));
    stdout(&tiller(&[
        "logits",
        "--model",
        &model(),
        "--prompt",
        prompt_c,
        "--out",
        steered.to_str().unwrap(),
        "--control-vector",
        &cv,
        "--layer-range",
        "10",
        "14",
    ]));
    let ours = npy(&steered);
    let theirs = npy(Path::new(&fixture("steered_multi_last_logits_c.npy")));
    let max = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(max <= 1.5, "steered max |Δ| {max}");
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(steered);
}

#[test]
fn generate_json_answers_paris() {
    let out = stdout(&tiller(&["generate", "--model", &model(), "--user", "What is the capital of France?", "--json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["text"], "The capital of France is Paris.");
    assert_eq!(v["prompt_tokens"], 37); // 16 + 21 for the template's default system prompt
    assert_eq!(v["generated_tokens"].as_u64().unwrap() as usize, v["ids"].as_array().unwrap().len());
    assert!(v["prefill_tok_s"].as_f64().unwrap() > 0.0 && v["decode_tok_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn generate_with_seed_is_reproducible_and_ignore_eos_runs_to_the_limit() {
    let args = [
        "generate",
        "--model",
        &model(),
        "--prompt",
        "Once upon a time",
        "--max-tokens",
        "12",
        "--temperature",
        "0.9",
        "--top-p",
        "0.95",
        "--seed",
        "7",
        "--ignore-eos",
        "--json",
    ];
    let run = || -> serde_json::Value { serde_json::from_str(stdout(&tiller(&args)).trim()).unwrap() };
    let (a, b) = (run(), run());
    assert_eq!(a["ids"], b["ids"]);
    assert_eq!(a["text"], b["text"]);
    assert_eq!(a["generated_tokens"], 12);
}

#[test]
fn bad_inputs_give_one_clear_line() {
    let broken = temp("broken.gguf");
    let bytes = std::fs::read(model()).unwrap();
    std::fs::write(&broken, &bytes[..4096]).unwrap();
    assert_clean_error(&tiller(&["generate", "--model", broken.to_str().unwrap(), "--prompt", "hi"]), "truncated");

    std::fs::write(&broken, b"not a gguf file at all").unwrap();
    assert_clean_error(&tiller(&["tokenize", "--model", broken.to_str().unwrap(), "hi"]), "not a GGUF file");
    assert_clean_error(&tiller(&["generate", "--model", "/nonexistent.gguf", "--prompt", "hi"]), "cannot read");

    let cv = format!("{}:1", fixture("cvec_dragon.gguf"));
    assert_clean_error(
        &tiller(&[
            "logits",
            "--model",
            &model(),
            "--prompt",
            "hi",
            "--out",
            "/tmp/x.npy",
            "--control-vector",
            &cv,
            "--layer-range",
            "0",
            "5",
        ]),
        "layer range",
    );
    assert_clean_error(
        &tiller(&["generate", "--model", &model(), "--prompt", "hi", "--control-vector", &model()]),
        "direction.N",
    );
    assert_clean_error(&tiller(&["generate", "--model", &model(), "--prompt", "hi", "--top-p", "0"]), "top");
    let _ = std::fs::remove_file(broken);
}

/// Steering that cannot be computed is refused in one line, naming why, before any reply:
/// a scale whose product overflows the model's f32 arithmetic, a vector holding NaN, and a
/// vector for blocks the model does not have.
#[test]
fn steering_that_cannot_work_is_named() {
    use tiller_engine::steer::ControlVector;
    let generate = |cv: &str| tiller(&["generate", "--model", &model(), "--prompt", "hi", "--control-vector", cv]);
    assert_clean_error(&generate(&format!("{}:1e30", fixture("cvec_dragon.gguf"))), "overflows at block");

    let write = |name: &str, block: usize, value: f32| {
        let mut v = vec![0.01f32; 576];
        v[7] = value;
        let path = temp(name);
        std::fs::write(&path, ControlVector { n_embd: 576, directions: [(block, v)].into() }.to_gguf("llama")).unwrap();
        path
    };
    let nan = write("nan.gguf", 3, f32::NAN);
    assert_clean_error(&generate(&format!("{}:1", nan.display())), "direction.3` holds a value that is not a finite");
    let past = write("past.gguf", 45, 1.0);
    assert_clean_error(&generate(&format!("{}:1", past.display())), "steers block 45, but the model has 30 blocks");
    let _ = (std::fs::remove_file(nan), std::fs::remove_file(past));
}
