//! Batched generation and scoring on the tiny model agree with one-at-a-time sessions.

use crate::common::tiny;
use burn::tensor::Device;
use tiller_engine::batch;
use tiller_engine::gate::SteerPlan;
use tiller_engine::model::{Logits, read_f32};
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::StopRule;
use tiller_engine::session::Session;
use tiller_engine::steer::Steering;

fn cpu() -> Device {
    Device::flex()
}

fn params(seed: u64) -> SamplingParams {
    SamplingParams { temperature: 0.8, top_p: 0.95, seed, ..SamplingParams::default() }
}

#[test]
fn batched_generation_matches_separate_sessions() {
    let m = tiny::load(&cpu());
    let prompts: Vec<Vec<u32>> = ["<|im_start|>user\nhello", "<|im_start|>hi there", "<|im_start|>a"]
        .iter()
        .map(|t| m.tokenizer.encode(t, true))
        .collect();
    let samplers: Vec<Sampler> = (0..3).map(|i| Sampler::new(params(i)).unwrap()).collect();
    let none = SteerPlan::default();
    let rule = StopRule::new(&[2], Some(12));
    let got = pollster::block_on(batch::generate(&m.model, &prompts, samplers, &[&none; 3], &rule)).unwrap();
    for (i, p) in prompts.iter().enumerate() {
        let mut session = Session::new(&m.model);
        pollster::block_on(session.prefill(p, Sampler::new(params(i as u64)).unwrap(), rule.clone())).unwrap();
        let mut want = Vec::new();
        let stop = loop {
            match pollster::block_on(session.step()).unwrap() {
                Ok(t) => want.push(t),
                Err(stop) => break stop,
            }
        };
        assert_eq!(got[i].tokens, want, "prompt {i}");
        assert_eq!(got[i].stop, stop, "prompt {i}");
    }
}

#[test]
fn token_logprobs_are_the_log_softmax_of_a_plain_forward() {
    let m = tiny::load(&cpu());
    let texts: Vec<(Vec<u32>, usize)> = vec![
        (m.tokenizer.encode("<|im_start|>user\nhello there", true), 3),
        (m.tokenizer.encode("<|im_start|>ok", true), 1),
    ];
    let got = pollster::block_on(batch::token_logprobs(&m.model, &texts, &mut Steering::none())).unwrap();
    let n_vocab = m.model.config.n_vocab;
    for ((tokens, from), lp) in texts.iter().zip(&got) {
        assert_eq!(lp.len(), tokens.len() - from);
        let t = m.model.forward(tokens, &mut m.model.new_cache(), &mut Steering::none(), Logits::All).unwrap();
        let logits = pollster::block_on(read_f32(t)).unwrap();
        for (k, p) in (*from..tokens.len()).enumerate() {
            let row = &logits[(p - 1) * n_vocab..p * n_vocab];
            let z: f64 = row.iter().map(|&x| (x as f64).exp()).sum();
            let want = (row[tokens[p] as usize] as f64).exp() / z;
            assert!((lp[k].exp() - want).abs() < 1e-5, "{} vs {want}", lp[k].exp());
        }
    }
    assert!(pollster::block_on(batch::token_logprobs(&m.model, &[(vec![1, 2], 0)], &mut Steering::none())).is_err());
}

/// Each prompt's own steering applies to it alone: a batch mixing steered and unsteered copies
/// of one prompt gives each copy the tokens it gets when run by itself.
#[test]
fn each_sequence_gets_its_own_steering() {
    let device = cpu();
    let m = tiny::load(&device);
    let c = &m.model.config;
    let dir: Vec<f32> = (0..c.n_embd).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let cv = tiller_engine::steer::ControlVector { n_embd: c.n_embd, directions: [(1, dir)].into() };
    let steer = |s: f32| SteerPlan::from(Steering::new(&[(&cv, s)], None, c.n_layer, c.n_embd, &device).unwrap());
    let (none, up, down) = (SteerPlan::default(), steer(4.0), steer(-4.0));
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello", true);
    let greedy = || Sampler::new(SamplingParams::default()).unwrap();
    let run = |steerings: &[&SteerPlan]| {
        let prompts = vec![prompt.clone(); steerings.len()];
        let samplers: Vec<Sampler> = steerings.iter().map(|_| greedy()).collect();
        pollster::block_on(batch::generate(&m.model, &prompts, samplers, steerings, &StopRule::new(&[], Some(10))))
            .unwrap()
    };
    let mixed = run(&[&none, &up, &down]);
    for (i, s) in [&none, &up, &down].into_iter().enumerate() {
        assert_eq!(mixed[i], run(&[s])[0], "sequence {i}");
    }
    assert_ne!(mixed[1].tokens, mixed[0].tokens, "steering by 4 on the tiny model changes its tokens");
}
