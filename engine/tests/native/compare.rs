//! The classroom comparison on the tiny model: without steering both sides are one reply (the
//! same as a plain session's); with steering the readings move by exactly the added vector.

use std::collections::BTreeMap;

use crate::common::tiny;
use burn::tensor::Device;
use tiller_engine::compare::{Compare, Step};
use tiller_engine::probe::{Probes, Reading};
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::session::Session;
use tiller_engine::steer::{ControlVector, Steering};

fn cpu() -> Device {
    Device::flex()
}

fn params() -> SamplingParams {
    SamplingParams { temperature: 0.9, top_p: 0.95, seed: 11, ..SamplingParams::default() }
}

/// A unit direction per block 1..N_LAYER, deterministic.
fn directions(seed: u64) -> BTreeMap<usize, Vec<f32>> {
    let mut rng = tiller_engine::sample::Rng::new(seed);
    (1..tiny::N_LAYER)
        .map(|layer| {
            let v: Vec<f32> = (0..tiny::N_EMBD).map(|_| rng.next_f32() - 0.5).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            (layer, v.into_iter().map(|x| x / n).collect())
        })
        .collect()
}

/// Equal, NaN included (a block without a direction reads NaN on both).
fn same(a: &Reading, b: &Reading) -> bool {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&a.projections) == bits(&b.projections) && a.norms == b.norms
}

fn run(compare: &mut Compare<'_>, prompt: &[u32], steps: usize) -> Vec<Step> {
    pollster::block_on(compare.prefill(prompt)).unwrap();
    let mut out = Vec::new();
    while out.len() < steps {
        match pollster::block_on(compare.step()).unwrap() {
            Some(step) => out.push(step),
            None => break,
        }
    }
    out
}

#[test]
fn without_steering_both_sides_are_the_sessions_reply() {
    let m = tiny::load(&cpu());
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello there", true);
    let dirs = directions(3);
    let probes = Probes::new(&[&dirs], tiny::N_LAYER, tiny::N_EMBD, &cpu());
    let mut compare = Compare::new(&m.model, Steering::none(), probes, params(), StopRule::default()).unwrap();
    let steps = run(&mut compare, &prompt, 10);
    assert_eq!(steps.len(), 10);

    let mut session = Session::new(&m.model);
    pollster::block_on(session.prefill(&prompt, Sampler::new(params()).unwrap(), StopRule::default())).unwrap();
    for step in &steps {
        let plain = step.plain.as_ref().unwrap().as_ref().unwrap();
        let steered = step.steered.as_ref().unwrap().as_ref().unwrap();
        let want = pollster::block_on(session.step()).unwrap();
        assert_eq!(Ok(plain.token), want);
        assert_eq!(steered.token, plain.token);
        assert!(same(&steered.reading, steered.unsteered.as_ref().unwrap()));
        assert_eq!(steered.reading.norms, plain.reading.norms);
        for s in plain.top.iter().chain(&steered.top) {
            assert_eq!(s.before, s.after, "nothing shifts without steering");
        }
        // Block 0 has no direction: NaN, never a made-up number.
        assert!(plain.reading.projections[0].is_nan());
        assert!(plain.reading.projections[1..].iter().all(|p| p.is_finite()));
    }
}

#[test]
fn steering_moves_the_reading_by_exactly_its_scale() {
    steering_moves_the_reading_on(&cpu());
}

/// The probes' matmul with NaN columns (blocks without a direction) and the packed steering on
/// the GPU backend the browser uses.
#[test]
fn readings_are_the_same_on_wgpu() {
    #[cfg(feature = "wgpu")]
    match crate::wgpu() {
        Ok(gpu) => steering_moves_the_reading_on(&gpu),
        Err(e) => println!("wgpu comparison test did not run: no wgpu adapter ({e})"),
    }
    #[cfg(not(feature = "wgpu"))]
    println!("wgpu comparison test did not run: built without the `wgpu` feature");
}

fn steering_moves_the_reading_on(device: &Device) {
    let m = tiny::load(device);
    let prompt = m.tokenizer.encode("<|im_start|>user\nhi", true);
    let dirs = directions(5);
    let cv = ControlVector { n_embd: tiny::N_EMBD, directions: dirs.clone() };
    let scale = 2.5;
    let steering = Steering::new(&[(&cv, scale)], Some((1, 1)), tiny::N_LAYER, tiny::N_EMBD, device).unwrap();
    let probes = Probes::new(&[&dirs], tiny::N_LAYER, tiny::N_EMBD, device);
    let mut compare = Compare::new(&m.model, steering, probes, params(), StopRule::default()).unwrap();
    let steps = run(&mut compare, &prompt, 4);

    let first = steps[0].steered.clone().unwrap().unwrap();
    let unsteered = first.unsteered.as_ref().unwrap();
    // Block 1 is steered: its output gains exactly scale along the (unit) direction.
    let gained = first.reading.projections[1] - unsteered.projections[1];
    assert!((gained - scale).abs() < 1e-3, "gained {gained}");
    // At the first token the shadow is the plain side: same context, no steering.
    let plain = steps[0].plain.clone().unwrap().unwrap();
    assert!(same(unsteered, &plain.reading));
    let before: Vec<(u32, f32)> = first.top.iter().map(|s| (s.token, s.before)).collect();
    for s in &plain.top {
        if let Some((_, b)) = before.iter().find(|(t, _)| *t == s.token) {
            assert!((b - s.after).abs() < 1e-6, "steered 'before' is the plain distribution");
        }
    }
    assert!(first.top.iter().any(|s| (s.before - s.after).abs() > 1e-4), "steering shifted nothing");
    // Later steps: the shadow follows the steered tokens, never steered itself.
    for step in &steps[1..] {
        let s = step.steered.clone().unwrap().unwrap();
        let gained = s.reading.projections[1] - s.unsteered.as_ref().unwrap().projections[1];
        assert!(gained > scale - 1.0, "block 1 gain at a later token: {gained}");
    }
}

#[test]
fn a_side_that_ends_is_reported_once_then_absent() {
    let m = tiny::load(&cpu());
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello", true);
    let dirs = directions(9);
    let probes = || Probes::new(&[&dirs], tiny::N_LAYER, tiny::N_EMBD, &cpu());
    let mut first = Compare::new(&m.model, Steering::none(), probes(), params(), StopRule::default()).unwrap();
    let t0 = run(&mut first, &prompt, 1)[0].plain.clone().unwrap().unwrap().token;

    // The first token is an end token now: both (unsteered) sides end at once.
    let mut compare = Compare::new(&m.model, Steering::none(), probes(), params(), StopRule::new(&[t0], None)).unwrap();
    let steps = run(&mut compare, &prompt, 5);
    assert_eq!(steps.len(), 1, "both ended at the first step");
    assert_eq!(steps[0].plain, Some(Err(Stop::EndOfGeneration)));
    assert_eq!(pollster::block_on(compare.step()).unwrap(), None);
}
