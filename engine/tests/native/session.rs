//! Session behaviour on the real model: prefix reuse, steering changes, the context limit.

use crate::common::*;
use burn::tensor::Device;
use tiller_engine::chat::Message;
use tiller_engine::gguf::Gguf;
use tiller_engine::load::LoadedModel;
use tiller_engine::model::{Logits, ModelError};
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::session::Session;
use tiller_engine::steer::{ControlVector, Steering};

fn load() -> (LoadedModel, Device) {
    let device = Device::flex();
    (LoadedModel::from_bytes(model_bytes(), &device).unwrap(), device)
}

fn fresh_logits(m: &LoadedModel, tokens: &[u32], mut steering: Steering) -> Vec<f32> {
    let mut cache = m.model.new_cache();
    let t = m.model.forward(tokens, &mut cache, &mut steering, Logits::Last).unwrap();
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn dragon(m: &LoadedModel, device: &Device, scale: f32) -> Steering {
    let bytes = std::fs::read(fixture("llama_cpp/cvec_dragon.gguf")).unwrap();
    let cv = ControlVector::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap();
    let c = &m.model.config;
    Steering::new(&[(&cv, scale)], None, c.n_layer, c.n_embd, device).unwrap()
}

#[test]
fn turns_reuse_the_cache_and_steering_changes_rebuild_it() {
    let (m, device) = load();
    let render = |msgs: &[Message]| m.tokenizer.encode(&m.template.render(msgs, true).unwrap(), true);
    let mut session = Session::new(&m.model);
    let greedy = || Sampler::new(SamplingParams::default()).unwrap();
    let rule = || StopRule::new(&m.stop_ids, Some(20));

    // Turn 1, then a second turn that extends the same conversation.
    let mut msgs = vec![Message::user("Name a colour.")];
    pollster::block_on(session.prefill(&render(&msgs), greedy(), rule())).unwrap();
    let mut reply = Vec::new();
    while let Ok(t) = pollster::block_on(session.step()).unwrap() {
        reply.push(t);
    }
    assert!(!reply.is_empty() && reply.len() <= 20);
    msgs.push(Message::assistant(m.tokenizer.decode(&reply)));
    msgs.push(Message::user("And another one?"));
    let turn2 = render(&msgs);
    let reused = pollster::block_on(session.prefill(&turn2, greedy(), rule())).unwrap().to_vec();
    let (max, _) = diff(&reused, &fresh_logits(&m, &turn2, Steering::none()));
    // Not bit-equal: attention sums in another order stepwise than in one batch, and the packed
    // kernels' i16 rounding of activations can turn such an f32 difference into one step of 1/32767
    // of a block's range. Measured 0.008 here; the numpy parity limit is 0.05.
    assert!(max < 2e-2, "a reused prefix must give the logits of a fresh run (max |Δ| {max})");

    // Steering set between turns: the cache is rebuilt under the new steering.
    session.set_steering(dragon(&m, &device, 1.0));
    let steered = pollster::block_on(session.prefill(&turn2, greedy(), rule())).unwrap().to_vec();
    let (max, _) = diff(&steered, &fresh_logits(&m, &turn2, dragon(&m, &device, 1.0)));
    assert!(max < 1e-3, "after a steering change the whole prompt must run steered (max |Δ| {max})");
    let (moved, _) = diff(&steered, &reused);
    assert!(moved > 1.0, "steering should move the logits (max |Δ| {moved})");
}

#[test]
fn prompts_past_the_context_are_refused_before_any_work() {
    let (m, _) = load();
    let limit = m.model.config.n_ctx_train;
    let mut session = Session::new(&m.model);
    let too_long = vec![198u32; limit + 1];
    let greedy = || Sampler::new(SamplingParams::default()).unwrap();
    let err = pollster::block_on(session.prefill(&too_long, greedy(), StopRule::default())).unwrap_err();
    assert_eq!(err, ModelError::ContextFull { needed: limit + 1, limit });
    assert!(err.to_string().contains("shorten it or start a new chat"), "{err}");
    assert_eq!(
        pollster::block_on(session.prefill(&[], greedy(), StopRule::default())).unwrap_err(),
        ModelError::EmptyInput
    );
}

#[test]
fn ignore_eos_masks_the_end_tokens() {
    let (m, _) = load();
    // llama.cpp's end-of-generation set for this model: <|endoftext|>, <|im_end|>, <reponame>.
    assert_eq!(m.stop_ids, [0, 2, 4]);
    let prompt = m.tokenizer.encode("<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n", true);
    let mut session = Session::new(&m.model);
    let rule = StopRule { ignore_eos: true, ..StopRule::new(&m.stop_ids, Some(40)) };
    pollster::block_on(session.prefill(&prompt, Sampler::new(SamplingParams::default()).unwrap(), rule)).unwrap();
    for _ in 0..40 {
        let t = pollster::block_on(session.step()).unwrap();
        assert!(!matches!(t, Err(Stop::EndOfGeneration)));
        assert!(!m.stop_ids.contains(&t.unwrap()));
    }
    assert_eq!(pollster::block_on(session.step()).unwrap(), Err(Stop::MaxTokens));
}
