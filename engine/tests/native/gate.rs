//! Conditional steering (CAST): a closed gate leaves the reply to the unconditional part; an
//! open one steers the prompt's tail and the reply; the reading is the probe's score of the
//! block output that `tail_readings` sees; every generator gates alike.

use crate::common::tiny;
use burn::tensor::Device;
use tiller_engine::batch;
use tiller_engine::compare::Compare;
use tiller_engine::concept::{ConditionVector, Logistic, tail_readings};
use tiller_engine::gate::SteerPlan;
use tiller_engine::load::LoadedModel;
use tiller_engine::model::{Capture, Logits, read_f32};
use tiller_engine::probe::Probes;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::StopRule;
use tiller_engine::session::Session;
use tiller_engine::steer::{ControlVector, Steering};

const TAIL: usize = 3;

fn strong(m: &LoadedModel, device: &Device, scale: f32) -> Steering {
    let c = &m.model.config;
    let dir: Vec<f32> = (0..c.n_embd).map(|i| if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
    let cv = ControlVector { n_embd: c.n_embd, directions: [(1, dir)].into() };
    Steering::new(&[(&cv, scale)], None, c.n_layer, c.n_embd, device).unwrap()
}

/// A condition at block 1 whose probe is a fixed direction; `threshold` decides what opens it.
fn condition(m: &LoadedModel, threshold: f32, reply_tokens: Option<usize>) -> ConditionVector {
    let n = m.model.config.n_embd;
    let weights = (0..n).map(|i| if i % 2 == 0 { 0.3 } else { -0.2 }).collect();
    ConditionVector {
        layer: 1,
        probe: Logistic { weights, bias: 0.1 },
        threshold,
        tail: TAIL,
        prompt_tokens: Some(TAIL),
        reply_tokens,
    }
}

fn plan(m: &LoadedModel, device: &Device, threshold: f32, reply_tokens: Option<usize>) -> SteerPlan {
    let c = &m.model.config;
    let gated = strong(m, device, 6.0);
    SteerPlan::gated(Steering::none(), &gated, condition(m, threshold, reply_tokens), c.n_layer, c.n_embd, device)
        .unwrap()
}

fn greedy() -> Sampler {
    Sampler::new(SamplingParams::default()).unwrap()
}

fn reply(m: &LoadedModel, plan: impl Into<SteerPlan>, prompt: &[u32]) -> (Vec<u32>, Option<f32>) {
    let mut session = Session::new(&m.model);
    session.set_steering(plan);
    pollster::block_on(session.prefill(prompt, greedy(), StopRule::new(&[], Some(12)))).unwrap();
    let score = session.gate().map(|g| g.score);
    let mut out = Vec::new();
    while let Ok(t) = pollster::block_on(session.step()).unwrap() {
        out.push(t);
    }
    (out, score)
}

#[test]
fn a_closed_gate_leaves_the_reply_unsteered_and_an_open_one_steers_it() {
    let device = Device::flex();
    let m = tiny::load(&device);
    // The whole prompt is the tail: an open gate then steers every position, as plain steering.
    let prompt = m.tokenizer.encode("<|im_start|>hi", true);
    assert_eq!(prompt.len(), TAIL);
    let (plain, _) = reply(&m, Steering::none(), &prompt);
    let (steered, _) = reply(&m, strong(&m, &device, 6.0), &prompt);
    assert_ne!(plain, steered, "the gated vector must change the reply for the test to mean anything");

    let (closed, score) = reply(&m, plan(&m, &device, 1.0, None), &prompt);
    let score = score.expect("a plan with a condition reads it");
    assert!((0.0..=1.0).contains(&score), "a probability: {score}");
    assert_eq!(closed, plain, "a closed gate adds nothing");
    let (open, open_score) = reply(&m, plan(&m, &device, -1.0, None), &prompt);
    assert_eq!(open_score, Some(score), "the reading does not depend on the threshold");
    assert_eq!(open, steered, "an open gate steers the tail and the whole reply");

    // Gated for the first two reply tokens only: those agree with the steered reply, the rest
    // is the model's own continuation.
    let (first_two, _) = reply(&m, plan(&m, &device, -1.0, Some(2)), &prompt);
    assert_eq!(first_two[..2], steered[..2]);
}

/// With `prompt_tokens: None` an open gate runs the whole prompt again: on a prompt longer than
/// the tail the reply is plain steering's, which running the tail again alone is not.
#[test]
fn an_open_gate_over_the_whole_prompt_is_plain_steering() {
    let device = Device::flex();
    let m = tiny::load(&device);
    let prompt = m.tokenizer.encode("<|im_start|>hi there, how are you doing on this fine day", true);
    assert!(prompt.len() > TAIL);
    let gated = strong(&m, &device, 4.0);
    let (steered, _) = reply(&m, gated.clone(), &prompt);
    let c = &m.model.config;
    let open = |prompt_tokens| {
        let condition = ConditionVector { prompt_tokens, ..condition(&m, -1.0, None) };
        SteerPlan::gated(Steering::none(), &gated, condition, c.n_layer, c.n_embd, &device).unwrap()
    };
    assert_eq!(reply(&m, open(None), &prompt).0, steered);
    let (tail_only, _) = reply(&m, open(Some(TAIL)), &prompt);
    assert_ne!(tail_only, steered, "running the tail again alone must differ for this to test anything");
}

#[test]
fn the_reading_is_the_probe_on_the_tail_and_every_generator_gates_alike() {
    let device = Device::flex();
    let m = tiny::load(&device);
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello there<|im_end|>", true);
    assert!(prompt.len() > TAIL);
    let c = condition(&m, 0.5, None);
    let readings = pollster::block_on(tail_readings(&m.model, std::slice::from_ref(&prompt), &[1], TAIL)).unwrap();
    let want = c.score(&readings[0][0]);

    // A threshold just under the score opens the gate; just over it keeps it closed.
    for (threshold, engaged) in [(want - 1e-3, true), (want + 1e-3, false)] {
        let p = plan(&m, &device, threshold, None);
        let (session, score) = reply(&m, p.clone(), &prompt);
        let score = score.unwrap();
        assert!((score - want).abs() < 1e-5, "session read {score}, tail_readings {want}");

        let rule = StopRule::new(&[], Some(12));
        let batched =
            pollster::block_on(batch::generate(&m.model, std::slice::from_ref(&prompt), vec![greedy()], &[&p], &rule))
                .unwrap()
                .remove(0);
        assert_eq!(batched.tokens, session, "batch and session agree (gate engaged: {engaged})");
        let gate = batched.gate.unwrap();
        assert_eq!(gate.engaged(), engaged);

        let probes = Probes::new(&[], m.model.config.n_layer, m.model.config.n_embd, &device);
        let mut compare = Compare::new(&m.model, p, probes, SamplingParams::default(), rule).unwrap();
        pollster::block_on(compare.prefill(&prompt)).unwrap();
        assert_eq!(compare.gate().map(|g| g.engaged()), Some(engaged));
        let mut steered = Vec::new();
        while let Some(step) = pollster::block_on(compare.step()).unwrap() {
            if let Some(Ok(s)) = step.steered {
                steered.push(s.token);
            }
        }
        assert_eq!(steered, session, "Compare's steered side gates as the chat does");
    }
}

/// In a longer chat the gate reads the latest request on its own (as the probe was fitted), so
/// earlier turns do not move its score: the session's reading equals a fresh session's on the
/// request alone, and differs from reading the end of the whole conversation.
#[test]
fn in_a_longer_chat_the_gate_reads_the_latest_request_alone() {
    use tiller_engine::chat::{Message, latest_request};
    let device = Device::flex();
    let m = tiny::load(&device);
    // Short: the tiny model's context is 64 positions.
    let chat = vec![Message::user("yo"), Message::assistant("ok"), Message::user("hi")];
    let request = latest_request(&chat).expect("an earlier turn makes the request a part");
    assert_eq!(request, [Message::user("hi")]);
    let with_system = [Message::system("s"), Message::user("a"), Message::assistant("b"), Message::user("c")];
    assert_eq!(latest_request(&with_system).unwrap(), [Message::system("s"), Message::user("c")]);
    assert_eq!(latest_request(&request), None, "a single request is its own");
    let encode = |msgs: &[Message]| m.tokenizer.encode(&m.template.render(msgs, true).unwrap(), true);
    let (whole, alone) = (encode(&chat), encode(&request));

    let read = |tokens: &[u32], request: Option<&[u32]>| {
        let mut session = Session::new(&m.model);
        session.set_steering(plan(&m, &device, 1.0, None));
        pollster::block_on(session.prefill_turn(tokens, request, greedy(), StopRule::new(&[], Some(2)))).unwrap();
        session.gate().expect("a plan with a condition reads it").score
    };
    let in_chat = read(&whole, Some(&alone));
    assert_eq!(in_chat, read(&alone, None), "the reading is the request's alone");
    assert_ne!(in_chat, read(&whole, None), "the earlier turns must move the tail's reading for this to test anything");
}

/// A reply asked for again (the same prompt, most of it cached) reads the gate as the first
/// reply did, over the prompt's whole tail, and gates alike; after an open gate the cache is
/// not reused, since it holds positions run with the gated part.
#[test]
fn a_reply_asked_for_again_reads_and_gates_as_the_first() {
    let device = Device::flex();
    let m = tiny::load(&device);
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello there<|im_end|>", true);
    assert!(prompt.len() > TAIL);
    let c = &m.model.config;
    for threshold in [1.0, -1.0] {
        // An `always` part too, which the reading must see both times.
        let always = strong(&m, &device, 0.5);
        let p = SteerPlan::gated(
            always,
            &strong(&m, &device, 6.0),
            condition(&m, threshold, None),
            c.n_layer,
            c.n_embd,
            &device,
        )
        .unwrap();
        let mut session = Session::new(&m.model);
        session.set_steering(p);
        let mut turn = || {
            let rule = StopRule::new(&[], Some(4));
            let logits = pollster::block_on(session.prefill(&prompt, greedy(), rule)).unwrap().to_vec();
            let gate = session.gate().unwrap();
            let reused = session.reused();
            let mut out = Vec::new();
            while let Ok(t) = pollster::block_on(session.step()).unwrap() {
                out.push(t);
            }
            (logits, gate, reused, out)
        };
        let (logits, gate, _, first) = turn();
        let (again_logits, again_gate, reused, again) = turn();
        assert_eq!(again_gate, gate, "the same reading (gate engaged: {})", gate.engaged());
        assert_eq!(again, first);
        // A cached prefix and one new position round differently from a whole prefill.
        let max = again_logits.iter().zip(&logits).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(max < 1e-3, "max |Δ logit| {max}");
        if gate.engaged() {
            assert_eq!(reused, 0, "after an open gate the prompt runs afresh");
        } else {
            assert_eq!(reused, prompt.len() - 1, "a closed gate leaves the cache to be reused");
        }
    }
}

/// In a longer chat an open gate runs this turn's new positions again, not the earlier turns:
/// those keep the keys and values they were made with (here the first reply's later tokens,
/// which the gated part did not steer), so the turn differs from the same conversation run
/// afresh with the gate open over all of it.
#[test]
fn in_a_longer_chat_an_open_gate_runs_only_the_new_turn_again() {
    use tiller_engine::chat::Message;
    let device = Device::flex();
    let m = tiny::load(&device);
    let c = &m.model.config;
    let open = || {
        let condition = ConditionVector { prompt_tokens: None, ..condition(&m, -1.0, Some(1)) };
        SteerPlan::gated(Steering::none(), &strong(&m, &device, 6.0), condition, c.n_layer, c.n_embd, &device).unwrap()
    };
    let encode = |msgs: &[Message]| m.tokenizer.encode(&m.template.render(msgs, true).unwrap(), true);
    let mut session = Session::new(&m.model);
    session.set_steering(open());
    let first = encode(&[Message::user("yo")]);
    pollster::block_on(session.prefill(&first, greedy(), StopRule::new(&[], Some(4)))).unwrap();
    let mut reply = Vec::new();
    while let Ok(t) = pollster::block_on(session.step()).unwrap() {
        reply.push(t);
    }
    // The next turn in tokens (the tiny model's replies need not survive decoding and encoding).
    let request = encode(&[Message::user("hi")]);
    let whole = [&first[..], &reply, &request].concat();
    let rule = || StopRule::new(&[], Some(2));
    let logits = pollster::block_on(session.prefill_turn(&whole, Some(&request), greedy(), rule())).unwrap().to_vec();
    assert!(session.gate().unwrap().engaged());
    assert_eq!(session.reused(), first.len() + reply.len() - 1, "the first turn and its reply come from the cache");

    let mut fresh = Session::new(&m.model);
    fresh.set_steering(open());
    let afresh = pollster::block_on(fresh.prefill_turn(&whole, Some(&request), greedy(), rule())).unwrap().to_vec();
    assert!(fresh.gate().unwrap().engaged());
    assert_ne!(logits, afresh, "the first reply's later tokens were not run again with the gated part");
}

/// The probe was fitted on unsteered block outputs, so the gate reads a request as no slider has
/// moved it: steering added before the condition's block leaves the score alone (the request
/// then runs on its own, unsteered, through that block), in a chat, a batch and Compare alike.
#[test]
fn steering_before_the_conditions_block_does_not_move_the_reading() {
    let device = Device::flex();
    let m = tiny::load(&device);
    let c = &m.model.config;
    let prompt = m.tokenizer.encode("<|im_start|>user\nhello there<|im_end|>", true);
    assert!(c.n_layer > 2 && prompt.len() > TAIL);
    let condition = ConditionVector { layer: 2, ..condition(&m, 0.5, None) };
    let unsteered = pollster::block_on(tail_readings(&m.model, std::slice::from_ref(&prompt), &[2], TAIL)).unwrap();
    let want = condition.score(&unsteered[0][0]);

    // `strong` adds at block 1, before the reading; what the steered stream would score there:
    let always = strong(&m, &device, 6.0);
    let mut hooks = (always.clone(), Capture::default());
    m.model.forward(&prompt, &mut m.model.new_cache(), &mut hooks, Logits::Last).unwrap();
    let block_2 = hooks.1.outputs.into_iter().find(|(l, _)| *l == 2).unwrap().1;
    let rows = pollster::block_on(read_f32(block_2)).unwrap();
    let n = c.n_embd;
    let tail: Vec<f32> = (0..n)
        .map(|e| (prompt.len() - TAIL..prompt.len()).map(|p| rows[p * n + e]).sum::<f32>() / TAIL as f32)
        .collect();
    let steered = condition.score(&tail);
    assert!((steered - want).abs() > 1e-3, "steering must move the stream's score for this to test anything");

    let p = SteerPlan::gated(always, &strong(&m, &device, 2.0), condition, c.n_layer, c.n_embd, &device).unwrap();
    let close = |score: f32, who: &str| assert!((score - want).abs() < 1e-5, "{who} read {score}, unsteered {want}");
    close(reply(&m, p.clone(), &prompt).1.unwrap(), "a chat");
    let rule = StopRule::new(&[], Some(4));
    let batched =
        pollster::block_on(batch::generate(&m.model, std::slice::from_ref(&prompt), vec![greedy()], &[&p], &rule))
            .unwrap()
            .remove(0);
    close(batched.gate.unwrap().score, "a batch");
    let probes = Probes::new(&[], c.n_layer, c.n_embd, &device);
    let mut compare = Compare::new(&m.model, p, probes, SamplingParams::default(), rule).unwrap();
    pollster::block_on(compare.prefill(&prompt)).unwrap();
    close(compare.gate().unwrap().score, "Compare");
}
