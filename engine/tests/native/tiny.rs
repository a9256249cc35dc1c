//! The tiny random-weight llama on every native device: the same numbers everywhere, the KV
//! cache agreeing with a batched prefill, steering adding exactly its vector.

use crate::common::tiny;
use burn::tensor::Device;

fn cpu() -> Device {
    Device::flex()
}

#[test]
fn tokenizer_and_template_of_a_synthetic_file() {
    let m = tiny::load(&cpu());
    let ids = m.tokenizer.encode("<|im_start|>hello", true);
    // <|im_start|>, "he" (the one merge), then bytes l, l, o.
    assert_eq!(ids[..2], [1, tiny::N_VOCAB as u32 - 1]);
    assert_eq!(ids.len(), 5);
    assert_eq!(m.tokenizer.decode(&ids), "<|im_start|>hello");
    // No template in the file: ChatML.
    let text = m.template.render(&[tiller_engine::chat::Message::user("hi")], true).unwrap();
    assert_eq!(text, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

/// The browser tests upload tests/e2e/fixtures/tiny.gguf; it must stay the model these tests
/// check. After a deliberate change to `tiny::gguf`, `TILLER_BLESS=1` rewrites the file.
#[test]
fn the_browser_tests_fixture_is_this_tiny_model() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/fixtures/tiny.gguf");
    let want = tiny::gguf(tiny::SEED);
    if std::env::var_os("TILLER_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).expect("write the fixture");
    }
    let got = std::fs::read(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} ({} bytes) is not tiny::gguf({}) ({} bytes): run with TILLER_BLESS=1 if the change is deliberate",
        path.display(),
        got.len(),
        tiny::SEED,
        want.len()
    );
}

#[test]
fn kv_cache_steps_match_the_batched_prefill() {
    let worst = pollster::block_on(tiny::backends_differ_by(&cpu(), &cpu()));
    assert!(worst < 1e-4, "max |Δ| {worst}");
}

#[test]
fn wgpu_agrees_with_the_cpu() {
    #[cfg(feature = "wgpu")]
    match crate::wgpu() {
        Ok(gpu) => {
            let worst = pollster::block_on(tiny::backends_differ_by(&cpu(), &gpu));
            assert!(worst < 1e-3, "max |Δ| {worst}");
        }
        Err(e) => println!("wgpu tiny-model test did not run: no wgpu adapter ({e})"),
    }
    #[cfg(not(feature = "wgpu"))]
    println!("wgpu tiny-model test did not run: built without the `wgpu` feature");
}

#[test]
fn steering_adds_exactly_its_vector_after_its_block() {
    let err = pollster::block_on(tiny::steering_error(&cpu()));
    assert!(err < 1e-5, "max error {err}");
}

/// Sequences packed into one forward (different lengths, different cache fills) give each
/// sequence's logits as if it ran alone: no sequence sees another's keys.
#[test]
fn packed_sequences_match_separate_runs() {
    use tiller_engine::model::Logits;
    use tiller_engine::steer::Steering;
    let m = tiny::load(&cpu());
    let model = &m.model;
    let texts = ["<|im_start|>user\nhello there", "<|im_start|>hi", "<|im_start|>assistant\nthe end of it"];
    let seqs: Vec<Vec<u32>> = texts.iter().map(|t| m.tokenizer.encode(t, true)).collect();
    let read = |t| pollster::block_on(tiller_engine::model::read_f32(t)).unwrap();

    // Prefill every sequence but its last token together, then the last tokens as one decode step.
    let mut caches: Vec<_> = seqs.iter().map(|_| model.new_cache()).collect();
    let heads: Vec<&[u32]> = seqs.iter().map(|s| &s[..s.len() - 1]).collect();
    let all = read(model.forward_batch(&heads, &mut caches, &mut Steering::none(), Logits::All).unwrap());
    let lasts: Vec<&[u32]> = seqs.iter().map(|s| &s[s.len() - 1..]).collect();
    let step = read(model.forward_batch(&lasts, &mut caches, &mut Steering::none(), Logits::Last).unwrap());

    let n_vocab = model.config.n_vocab;
    let mut row = 0;
    for (b, s) in seqs.iter().enumerate() {
        let alone = read(model.forward(s, &mut model.new_cache(), &mut Steering::none(), Logits::All).unwrap());
        let packed_prefill = &all[row * n_vocab..(row + s.len() - 1) * n_vocab];
        let packed_step = &step[b * n_vocab..(b + 1) * n_vocab];
        let got: Vec<f32> = packed_prefill.iter().chain(packed_step).copied().collect();
        let worst = got.iter().zip(&alone).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "sequence {b}: max |Δ| {worst}");
        assert_eq!(caches[b].len(), s.len());
        row += s.len() - 1;
    }
}
