//! gloo-worker carries the protocol as bincode, which cannot encode every serde shape (tagged
//! enums, skipped fields): every message must survive the trip the worker bridge makes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tiller_app::protocol::*;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
    let bytes = bincode::serialize(&value).expect("encodes");
    let back: T = bincode::deserialize(&bytes).expect("decodes");
    assert_eq!(back, value);
}

#[test]
fn every_request_survives_bincode() {
    let coefs = BTreeMap::from([("sentiment".to_string(), 0.5), ("safety".to_string(), 1.0)]);
    round_trip(Request::Load {
        source: ModelSource::Url { url: "http://127.0.0.1:8080/models/m.gguf".into() },
        backend: BackendChoice::Auto,
        vectors: Some("http://127.0.0.1:8080/vectors/manifest.json".into()),
    });
    round_trip(Request::Load {
        source: ModelSource::Cached { key: "k".into(), name: "n.gguf".into() },
        backend: BackendChoice::WebGpu,
        vectors: None,
    });
    round_trip(Request::Generate {
        id: 7,
        messages: vec![
            ChatMessage { role: Role::System, content: "Be brief.".into() },
            ChatMessage { role: Role::User, content: "Hi 世界 <b>".into() },
            ChatMessage { role: Role::Assistant, content: "Hello.".into() },
        ],
        sampling: Sampling::default(),
        coefs: coefs.clone(),
    });
    round_trip(Request::SetSteering { coefs });
    round_trip(Request::Stop);
}

#[test]
fn every_vector_request_survives_bincode() {
    round_trip(Request::BuildVector {
        id: "kindness".into(),
        label: "Kindness «ü»".into(),
        low: "curt".into(),
        high: "kind".into(),
        pairs: PairSource::Builtin { url: "http://127.0.0.1:8080/concepts/sentiment.jsonl".into() },
        method: BuildMethod::Mean,
        layers: (14, 24),
    });
    round_trip(Request::BuildVector {
        id: "mine-2".into(),
        label: String::new(),
        low: "−".into(),
        high: "+".into(),
        pairs: PairSource::Typed {
            pairs: vec![
                TypedPair { prompt: "Hi".into(), positive: "Hello! 😊".into(), negative: "What?".into() },
                TypedPair { prompt: "<b>x</b>".into(), positive: "a | b".into(), negative: "\n".into() },
            ],
        },
        method: BuildMethod::Pca,
        layers: (3, 5),
    });
    round_trip(Request::BuildVector {
        id: "empty".into(),
        label: "e".into(),
        low: "l".into(),
        high: "h".into(),
        pairs: PairSource::Typed { pairs: Vec::new() },
        method: BuildMethod::Mean,
        layers: (0, 0),
    });
    round_trip(Request::CancelBuild { id: "kindness".into() });
    // A control-vector file: every byte value, and bigger than any small buffer.
    let bytes: Vec<u8> = b"GGUF".iter().copied().chain((0..70_000u32).map(|i| (i % 256) as u8)).collect();
    round_trip(Request::ImportVector { id: "dragon".into(), name: "cvec dragon.gguf".into(), bytes });
    round_trip(Request::ImportVector { id: "x".into(), name: String::new(), bytes: Vec::new() });
    round_trip(Request::ExportVector { id: "sentiment".into() });
}

#[test]
fn every_vector_response_survives_bincode() {
    round_trip(Response::BuildProgress { id: "kindness".into(), done: 12, total: 266 });
    round_trip(Response::VectorAdded(VectorInfo {
        id: "kindness".into(),
        label: "Kindness".into(),
        low: "curt".into(),
        high: "kind".into(),
        min: -1.0,
        max: 1.0,
        strength: 2.37,
        layers: (3, 5),
        origin: VectorOrigin::Built { pairs: 4, file: None, method: BuildMethod::Mean },
        gated: None,
    }));
    round_trip(Response::VectorBytes { id: "sentiment".into(), bytes: (0..=255).collect() });
    round_trip(Response::ImportFailed { id: "dragon".into(), error: Failure::OtherWidth { vector: 4096, model: 576 } });
    round_trip(Response::BuildFailed { id: "mine".into(), error: Failure::Cancelled });
    round_trip(Response::ExportFailed { id: "x".into(), error: Failure::UnknownVector { id: "x".into() } });
}

#[test]
fn build_methods_parse_back() {
    for method in [BuildMethod::Mean, BuildMethod::Pca] {
        assert_eq!(BuildMethod::parse(method.as_str()), Some(method));
    }
    assert_eq!(BuildMethod::parse("median"), None);
}

#[test]
fn every_response_survives_bincode() {
    round_trip(Response::Progress { phase: Phase::Download, done: 1 << 20, total: Some(98_362_432) });
    round_trip(Response::Progress { phase: Phase::Parse, done: 0, total: None });
    round_trip(Response::Ready {
        model: ModelInfo { name: "m".into(), bytes: 1, n_layer: 30, n_embd: 576, n_ctx: 8192, from_cache: true },
        backend: BackendInfo { name: "WebGPU".into(), adapter: Some("a".into()), fallback_reason: None },
        vectors: vec![VectorInfo {
            id: "sentiment".into(),
            label: "Sentiment".into(),
            low: "negative".into(),
            high: "positive".into(),
            min: -1.0,
            max: 1.0,
            strength: 4.0,
            layers: (6, 18),
            origin: VectorOrigin::Imported { file: "preview.gguf".into() },
            gated: Some(GatedInfo {
                layers: (6, 16),
                strength: 10.0,
                parent_share: Some(0.5),
                condition_block: 8,
                threshold: 0.75,
                note: "refusal".into(),
            }),
        }],
        steering_note: None,
        load_ms: 1234.5,
    });
    round_trip(Response::LoadFailed { error: Failure::ModelFile { detail: "bad magic".into() } });
    round_trip(Response::Ready {
        model: ModelInfo { name: "m".into(), bytes: 1, n_layer: 30, n_embd: 576, n_ctx: 8192, from_cache: false },
        backend: BackendInfo {
            name: "CPU (burn-flex)".into(),
            adapter: None,
            fallback_reason: Some(NoWebGpu::Failed { detail: "device lost".into() }),
        },
        vectors: Vec::new(),
        steering_note: Some(Failure::VectorsForOtherModel),
        load_ms: 1.0,
    });
    round_trip(Response::Token { id: 1, piece: " Paris".into() });
    round_trip(Response::Done { id: 1, stop: StopReason::Stopped, stats: GenStats::default() });
    round_trip(Response::GenerateFailed { id: 1, error: Failure::ContextFull { needed: 9000, limit: 8192 } });
    round_trip(Response::CompareFailed {
        id: 2,
        error: Failure::CoefOutOfRange { id: "safety".into(), min: 0.0, max: 1.0, value: -1.0 },
    });
    round_trip(Response::LoadFailed { error: Failure::NoWebGpu(NoWebGpu::NoAdapter) });
    round_trip(Response::Crashed { message: "y".into() });
}

#[test]
fn backend_names_parse_back() {
    for choice in [BackendChoice::Auto, BackendChoice::WebGpu, BackendChoice::Cpu] {
        assert_eq!(BackendChoice::parse(choice.as_str()), Some(choice));
    }
    for old in ["flex", "ndarray"] {
        assert_eq!(BackendChoice::parse(old), Some(BackendChoice::Cpu), "links made by earlier versions");
    }
    assert_eq!(BackendChoice::parse("tpu"), None);
}

#[test]
fn rates_skip_the_first_token_and_empty_runs() {
    let stats = GenStats {
        prefilled_tokens: 20,
        generated_tokens: 11,
        prefill_ms: 500.0,
        decode_ms: 1000.0,
        ..Default::default()
    };
    assert_eq!(stats.prefill_tok_s(), 40.0);
    assert_eq!(stats.decode_tok_s(), 10.0);
    assert_eq!(GenStats::default().decode_tok_s(), 0.0);
}

#[test]
fn every_comparison_message_survives_bincode() {
    let coefs = BTreeMap::from([("sentiment".to_string(), -1.0)]);
    let messages = vec![ChatMessage { role: Role::User, content: "Describe your morning.".into() }];
    round_trip(Request::Compare { id: 1 << 40, messages, sampling: Sampling::default(), coefs });
    round_trip(Response::CompareStarted {
        id: 3,
        concepts: vec!["sentiment".into(), "safety".into()],
        n_layer: 30,
        prompt_tokens: 21,
        gate: Some(GateReport { score: 0.83, threshold: 0.41 }),
    });
    round_trip(Response::Gate { id: 9, gate: GateReport { score: 0.1, threshold: 0.41 } });
    let side = SideToken {
        token: 42,
        piece: " héllo\n".into(),
        // A block without a direction (None) and one with.
        projections: vec![None, None, Some(-1.5), Some(0.25)],
        norms: vec![12.0, 250.5],
        unsteered: Some(vec![None, None, Some(2.5), Some(0.25)]),
        top: vec![
            Candidate { token: 42, piece: " héllo\n".into(), before: 0.1, after: 0.6 },
            Candidate { token: 2, piece: "<|im_end|>".into(), before: 0.3, after: 0.05 },
        ],
    };
    round_trip(Response::CompareStep {
        id: 3,
        step: 0,
        plain: Some(SideToken { unsteered: None, ..side.clone() }),
        steered: Some(side),
    });
    round_trip(Response::CompareStep { id: 3, step: 9, plain: None, steered: None });
    let stats = GenStats {
        prompt_tokens: 21,
        prefilled_tokens: 21,
        generated_tokens: 30,
        prefill_ms: 400.0,
        decode_ms: 3000.0,
        engine_memory_bytes: 120 << 20,
    };
    round_trip(Response::CompareDone {
        id: 3,
        plain: StopReason::EndOfGeneration,
        steered: StopReason::Stopped,
        stats,
    });
}
