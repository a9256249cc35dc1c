//! One context rule for every generator: a chat session, a batch and Compare refuse the same
//! prompts and end at the same token when the context fills.

use std::collections::BTreeMap;

use crate::common::tiny;
use burn::tensor::Device;
use tiller_engine::batch;
use tiller_engine::compare::Compare;
use tiller_engine::gate::SteerPlan;
use tiller_engine::load::LoadedModel;
use tiller_engine::model::ModelError;
use tiller_engine::probe::Probes;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::session::Session;
use tiller_engine::steer::Steering;

/// The tiny model's `llama.context_length`.
const N_CTX: usize = 64;

fn greedy() -> Sampler {
    Sampler::new(SamplingParams::default()).unwrap()
}

/// Session: tokens until its reply ends, and why.
fn session_reply(session: &mut Session<'_>, prompt: &[u32]) -> Result<(Vec<u32>, Stop), ModelError> {
    pollster::block_on(session.prefill(prompt, greedy(), StopRule::default()))?;
    let mut tokens = Vec::new();
    loop {
        match pollster::block_on(session.step())? {
            Ok(t) => tokens.push(t),
            Err(stop) => return Ok((tokens, stop)),
        }
    }
}

fn compare_reply(m: &LoadedModel, prompt: &[u32]) -> Result<(Vec<u32>, Stop), ModelError> {
    let none: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    let probes = Probes::new(&[&none], tiny::N_LAYER, tiny::N_EMBD, &Device::flex());
    let mut compare = Compare::new(&m.model, Steering::none(), probes, SamplingParams::default(), StopRule::default())
        .expect("valid sampling");
    pollster::block_on(compare.prefill(prompt))?;
    let mut tokens = Vec::new();
    while let Some(step) = pollster::block_on(compare.step())? {
        assert_eq!(
            step.plain.as_ref().map(|s| s.as_ref().map(|s| s.token)),
            step.steered.as_ref().map(|s| s.as_ref().map(|s| s.token))
        );
        match step.plain.expect("both sides end together") {
            Ok(s) => tokens.push(s.token),
            Err(stop) => return Ok((tokens, stop)),
        }
    }
    panic!("Compare ended without a stop reason");
}

#[test]
fn every_generator_ends_where_the_context_does() {
    let m = tiny::load(&Device::flex());
    for prompt_len in [N_CTX - 4, N_CTX] {
        let prompt: Vec<u32> = (0..prompt_len).map(|i| 10 + (i % 50) as u32).collect();
        // The cache holds N_CTX positions; the token chosen from a full cache's logits still
        // counts, so a reply has N_CTX − prompt + 1 tokens.
        let want = N_CTX - prompt_len + 1;
        let (chat, stop) = session_reply(&mut Session::new(&m.model), &prompt).unwrap();
        assert_eq!((chat.len(), stop), (want, Stop::ContextFull), "session, prompt of {prompt_len}");
        let batched = pollster::block_on(batch::generate(
            &m.model,
            std::slice::from_ref(&prompt),
            vec![greedy()],
            &[&SteerPlan::default()],
            &StopRule::default(),
        ))
        .unwrap();
        assert_eq!((&batched[0].tokens, batched[0].stop), (&chat, Stop::ContextFull), "batch, prompt of {prompt_len}");
        let (compared, stop) = compare_reply(&m, &prompt).unwrap();
        assert_eq!((&compared, stop), (&chat, Stop::ContextFull), "Compare, prompt of {prompt_len}");
    }
}

#[test]
fn every_generator_refuses_a_prompt_past_the_context() {
    let m = tiny::load(&Device::flex());
    let prompt = vec![10u32; N_CTX + 1];
    let full = ModelError::ContextFull { needed: N_CTX + 1, limit: N_CTX };
    assert_eq!(session_reply(&mut Session::new(&m.model), &prompt).unwrap_err(), full);
    let batched = pollster::block_on(batch::generate(
        &m.model,
        std::slice::from_ref(&prompt),
        vec![greedy()],
        &[&SteerPlan::default()],
        &StopRule::default(),
    ));
    assert_eq!(batched.unwrap_err(), full);
    assert_eq!(compare_reply(&m, &prompt).unwrap_err(), full);
}

#[test]
fn the_token_limit_ends_a_reply_without_running_its_last_token() {
    let m = tiny::load(&Device::flex());
    let prompt: Vec<u32> = (0..8).map(|i| 10 + i).collect();
    let mut session = Session::new(&m.model);
    pollster::block_on(session.prefill(&prompt, greedy(), StopRule::new(&[], Some(3)))).unwrap();
    for _ in 0..3 {
        assert!(pollster::block_on(session.step()).unwrap().is_ok());
    }
    assert_eq!(pollster::block_on(session.step()).unwrap(), Err(Stop::MaxTokens));
    // Ended stays ended.
    assert_eq!(pollster::block_on(session.step()).unwrap(), Err(Stop::MaxTokens));
    // The next turn reuses the 8 + 2 tokens that ran; the third was never run.
    pollster::block_on(session.prefill(
        &[prompt.clone(), vec![11, 12, 13, 14]].concat(),
        greedy(),
        StopRule::default(),
    ))
    .unwrap();
    assert!(session.reused() <= 10, "reused {}", session.reused());
}
