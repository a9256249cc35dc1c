//! `tiller eval steering` and `tiller eval sweep` end to end on the real model, kept small: a
//! couple of prompts and a few tokens, to prove the pipeline and its outputs, not the numbers
//! (those are in docs/eval/, made by the full commands there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiller(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiller")).current_dir(root()).args(args).output().expect("run tiller")
}

fn model() -> String {
    let path = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.exists(), "{} is missing: run `cargo xtask fetch-model` first", path.display());
    path.to_string_lossy().into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tiller-eval-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn steering_report_has_every_group_target_and_file() {
    let out = temp("steering");
    let o = tiller(&[
        "eval",
        "steering",
        "--model",
        &model(),
        "--concept",
        "safety",
        "--limit",
        "2",
        "--max-tokens",
        "6",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("steering.json")).unwrap()).unwrap();
    let safety = &json["concepts"][0];
    assert_eq!(safety["concept"], "safety");
    // Coefficients 0, 0.5, 1 steered plus prompting and prompting+steering at 1, each for
    // harmful, borderline, everyday, toxic, benign (borderline + everyday) and all together.
    assert_eq!(safety["groups"].as_array().unwrap().len(), 5 * 6);
    let targets: Vec<&str> =
        safety["targets"].as_array().unwrap().iter().map(|t| t["goal"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        ["monotonic", "≥ 0.92", "≥ 80%", "≥ 90%", "≤ 10%", "≤ 15%", "≤ 2%", "≤ ⅓ of unsteered", "≤ 1.5×", "≤ 2×"]
    );
    let samples = std::fs::read_to_string(out.join("steering_samples.jsonl")).unwrap();
    assert_eq!(samples.lines().count(), 5 * 8, "5 conditions × 2 prompts of each of 4 kinds");
    let first: serde_json::Value = serde_json::from_str(samples.lines().next().unwrap()).unwrap();
    assert!(first["tokens"].as_u64().unwrap() <= 6 && first["reply"].is_string());
    // The gated part reads every steered prompt once; a score is a probability.
    let steered_at_one = samples
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["condition"] == "steering" && r["coef"] == 1.0)
        .unwrap();
    let score = steered_at_one["gate"]["score"].as_f64().expect("a gate reading");
    assert!((0.0..=1.0).contains(&score), "{score}");
    assert!(["refuse", "deflect", "comply"].contains(&steered_at_one["stance"].as_str().unwrap()));
    let roc = std::fs::read_to_string(out.join("safety_gate_roc.svg")).unwrap();
    assert!(roc.contains("AUROC") && roc.contains("polyline"));
    let md = std::fs::read_to_string(out.join("steering.md")).unwrap();
    assert!(md.contains("| steering | +1.0 | harmful | 2 |"), "{md}");
    let svg = std::fs::read_to_string(out.join("dose_response.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline") && svg.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn sweep_recommends_a_fluent_setting_or_says_none_is() {
    let dir = temp("sweep");
    let pairs = dir.join("pairs.jsonl");
    let mut text = String::new();
    for (p, a, b) in [
        ("How was your day?", "It was lovely, thank you!", "It was awful, sadly."),
        ("Describe the weather.", "Bright sunshine and a warm breeze.", "Cold rain and a bitter wind."),
    ] {
        text += &serde_json::json!({ "prompt": p, "positive": a, "negative": b }).to_string();
        text.push('\n');
    }
    std::fs::write(&pairs, text).unwrap();
    let prompts = dir.join("dev.jsonl");
    std::fs::write(&prompts, "{\"prompt\": \"Tell me about trains.\"}\n").unwrap();
    let out = dir.join("sweep.md");
    let o = tiller(&[
        "eval",
        "sweep",
        "--model",
        &model(),
        "--concept",
        "sentiment",
        "--pairs",
        pairs.to_str().unwrap(),
        "--prompts",
        prompts.to_str().unwrap(),
        "--methods",
        "mean,pca",
        "--ranges",
        "6-8",
        "--scales",
        "1,50",
        "--max-tokens",
        "6",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(&out).unwrap();
    // 2 methods × 1 range × 2 scales; scale 50 wrecks the text, so it is never the pick.
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| mean_difference |") || l.starts_with("| pca |")).count(),
        4,
        "{md}"
    );
    assert!(md.contains("| 50 |") && !md.contains("at strength 50"), "{md}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_concept_is_one_clear_line() {
    let o = tiller(&["eval", "steering", "--model", &model(), "--concept", "humour", "--limit", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("humour"), "{err}");
}

#[test]
fn also_runs_each_coefficient_again_with_another_slider_on() {
    let out = temp("also");
    let model = model();
    let args = |also: &'static str| {
        let m = model.as_str();
        vec![
            "eval",
            "steering",
            "--model",
            m,
            "--concept",
            "sentiment",
            "--also",
            also,
            "--limit",
            "1",
            "--max-tokens",
            "6",
        ]
    };
    let mut ok = args("safety=1");
    ok.extend(["--no-baselines", "--out", out.to_str().unwrap()]);
    let o = tiller(&ok);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("steering.json")).unwrap()).unwrap();
    let sentiment = &json["concepts"][0];
    // Five coefficients, alone and with safety on, one prompt each.
    let groups = sentiment["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2 * 5);
    assert_eq!(groups.iter().filter(|g| g["condition"] == "steering, --also on").count(), 5);
    let goals: Vec<&str> =
        sentiment["targets"].as_array().unwrap().iter().map(|t| t["goal"].as_str().unwrap()).collect();
    assert_eq!(goals[..3], ["≤ 0.15", "≤ 3", "≤ 2%"], "{goals:?}");
    // With safety on, the request goes to the model as the app sends it (no intent in a system
    // prompt) and the gate reads it before any slider: one score at every coefficient.
    let samples = std::fs::read_to_string(out.join("steering_samples.jsonl")).unwrap();
    let scores: Vec<f64> = samples
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["condition"] == "steering, --also on")
        .map(|r| r["gate"]["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 5);
    assert!(scores.iter().all(|&s| s == scores[0]), "the gate read {scores:?}");
    let _ = std::fs::remove_dir_all(out);
    // A bad value is one line naming the fix.
    for (bad, says) in
        [("safety", "ID=VALUE"), ("safety=2", "goes from 0 to 1"), ("sentiment=1", "also being evaluated")]
    {
        let o = tiller(&args(bad));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{bad}: {err}");
    }
}
