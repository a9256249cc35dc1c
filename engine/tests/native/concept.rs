//! Building concept vectors (mean difference and PCA), on the tiny random-weight model.

use crate::common::tiny::{self, N_EMBD, N_LAYER};
use burn::tensor::Device;
use tiller_engine::concept::{ConceptError, ConceptVector, ContrastText, Contrasts, Method, Pair, Positions};
use tiller_engine::gguf::Gguf;
use tiller_engine::load::LoadedModel;
use tiller_engine::model::{Capture, Logits, read_f32};
use tiller_engine::steer::ControlVector;

fn cpu() -> Device {
    Device::flex()
}

fn pairs() -> Vec<Pair> {
    let pair = |prompt: &str, positive: &str, negative: &str| Pair {
        system: None,
        prompt: prompt.into(),
        positive: positive.into(),
        negative: negative.into(),
    };
    vec![pair("how was it?", "great, thanks", "awful, sadly"), pair("and today?", "so good", "so bad")]
}

fn build(m: &LoadedModel, pairs: &[Pair], positions: Positions) -> Result<ConceptVector, ConceptError> {
    collect(m, pairs, positions, 1)?.finish(Method::MeanDifference, 1, N_LAYER - 1)
}

/// The pairs' contrasts, `batch` pairs per forward.
fn collect(m: &LoadedModel, pairs: &[Pair], positions: Positions, batch: usize) -> Result<Contrasts, ConceptError> {
    let mut acc = Contrasts::new(N_LAYER, N_EMBD);
    let rendered =
        pairs.iter().map(|p| p.render(&m.template, &m.tokenizer, positions)).collect::<Result<Vec<_>, _>>()?;
    for chunk in rendered.chunks(batch) {
        pollster::block_on(acc.add_pairs(&m.model, chunk))?;
    }
    Ok(acc)
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn directions_are_unit_and_the_build_is_deterministic() {
    let m = tiny::load(&cpu());
    let a = build(&m, &pairs(), Positions::Reply).unwrap();
    assert_eq!(a.vector.directions.keys().copied().collect::<Vec<_>>(), [1, 2]);
    for (layer, d) in &a.vector.directions {
        assert!((norm(d) - 1.0).abs() < 1e-5, "block {layer}: |d| = {}", norm(d));
        assert!(a.separation[*layer] > 0.0);
    }
    assert_eq!(a.residual_norms.len(), N_LAYER);
    assert!(a.residual_norms.iter().all(|&n| n > 0.0 && n.is_finite()));
    assert_eq!(a.pairs, 2);
    assert_eq!(build(&m, &pairs(), Positions::Reply).unwrap(), a, "same pairs, same bits");
    // Averaging over the prompt too gives another (still unit) direction.
    assert_ne!(build(&m, &pairs(), Positions::All).unwrap().vector, a.vector);
}

#[test]
fn swapping_the_sides_negates_the_direction() {
    let m = tiny::load(&cpu());
    let a = build(&m, &pairs(), Positions::Reply).unwrap();
    let swapped: Vec<Pair> =
        pairs().into_iter().map(|p| Pair { positive: p.negative, negative: p.positive, ..p }).collect();
    let b = build(&m, &swapped, Positions::Reply).unwrap();
    for (layer, d) in &a.vector.directions {
        let worst = d.iter().zip(&b.vector.directions[layer]).map(|(x, y)| (x + y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-6, "block {layer}: {worst}");
    }
}

/// One pair, checked against its definition computed here from `Capture` directly: the mean over
/// the averaged positions (never position 0) of positive minus negative, normalized; and the mean
/// row norm over positions ≥ 1 of both texts.
#[test]
fn one_pair_matches_the_definition() {
    let m = tiny::load(&cpu());
    let pair = &pairs()[0];
    let prompt = m.template.render(&[tiller_engine::chat::Message::user(pair.prompt.clone())], true).unwrap();
    let rows = |t: &ContrastText, layer: usize| -> Vec<f32> {
        let mut capture = Capture::default();
        let mut cache = m.model.new_cache();
        m.model.forward(&t.tokens, &mut cache, &mut capture, Logits::Last).unwrap();
        pollster::block_on(read_f32(capture.outputs[layer].1.clone())).unwrap()
    };
    let mean = |t: &ContrastText, layer: usize| -> Vec<f32> {
        let rows = rows(t, layer);
        let picked: Vec<&[f32]> = rows.chunks(N_EMBD).skip(t.from.max(1)).collect();
        (0..N_EMBD).map(|i| picked.iter().map(|r| r[i]).sum::<f32>() / picked.len() as f32).collect()
    };
    for positions in [Positions::Reply, Positions::All] {
        let [pos, neg] = pair.render(&m.template, &m.tokenizer, positions).unwrap();
        match positions {
            Positions::Reply => assert_eq!(pos.from, m.tokenizer.encode(&prompt, true).len(), "reply after prompt"),
            Positions::All => assert_eq!(pos.from, 1),
            Positions::Opening(_) => unreachable!("not in this loop"),
        }
        let built = build(&m, std::slice::from_ref(pair), positions).unwrap();
        for layer in 1..N_LAYER {
            let diff: Vec<f32> = mean(&pos, layer).iter().zip(mean(&neg, layer)).map(|(a, b)| a - b).collect();
            let n = norm(&diff);
            assert!((built.separation[layer] - n).abs() < 1e-4 * n.max(1.0));
            let dir = &built.vector.directions[&layer];
            let worst = diff.iter().zip(dir).map(|(x, y)| (x / n - y).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-4, "{positions:?} block {layer}: {worst}");

            let norms: Vec<f32> = [&pos, &neg]
                .iter()
                .flat_map(|t| rows(t, layer).chunks(N_EMBD).skip(1).map(norm).collect::<Vec<_>>())
                .collect();
            let want = norms.iter().sum::<f32>() / norms.len() as f32;
            assert!((built.residual_norms[layer] - want).abs() < 1e-4 * want, "block {layer}: {want}");
        }
    }
}

/// Position 0 (the first-token activation sink) stays out even when a text asks to start there.
#[test]
fn position_zero_is_never_averaged() {
    let m = tiny::load(&cpu());
    let pair = &pairs()[0];
    let [pos, neg] = pair.render(&m.template, &m.tokenizer, Positions::All).unwrap();
    let from_zero = |t: &ContrastText| ContrastText { tokens: t.tokens.clone(), from: 0 };
    let mut acc = Contrasts::new(N_LAYER, N_EMBD);
    pollster::block_on(acc.add_pairs(&m.model, &[[from_zero(&pos), from_zero(&neg)]])).unwrap();
    assert_eq!(
        acc.finish(Method::MeanDifference, 1, N_LAYER - 1).unwrap(),
        build(&m, std::slice::from_ref(pair), Positions::All).unwrap()
    );
}

#[test]
fn identical_sides_and_bad_ranges_are_errors() {
    let m = tiny::load(&cpu());
    let same = Pair { system: None, prompt: "hi".into(), positive: "yes".into(), negative: "yes".into() };
    assert_eq!(build(&m, &[same], Positions::Reply).unwrap_err(), ConceptError::ZeroDirection(1));

    let mut acc = Contrasts::new(N_LAYER, N_EMBD);
    let mean = Method::MeanDifference;
    assert_eq!(acc.finish(mean, 1, 2).unwrap_err(), ConceptError::NoPairs);
    assert!(matches!(acc.finish(mean, 0, 2), Err(ConceptError::BadRange { .. })));
    assert!(matches!(acc.finish(mean, 1, N_LAYER), Err(ConceptError::BadRange { .. })));
    // A text with nothing after position 0 has no mean.
    let t = ContrastText { tokens: vec![1], from: 0 };
    let err = pollster::block_on(acc.add_pairs(&m.model, &[[t.clone(), t]])).unwrap_err();
    assert_eq!(err, ConceptError::NothingToAverage);
}

#[test]
fn the_gguf_round_trips_and_loads_as_a_plain_control_vector() {
    let m = tiny::load(&cpu());
    let built = build(&m, &pairs(), Positions::Reply).unwrap();
    let bytes = built.to_gguf("llama");
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(ConceptVector::from_gguf(&g).unwrap(), built);
    let cv = ControlVector::from_gguf(&g).unwrap();
    assert_eq!(cv, built.vector);
}

/// Pairs packed into one forward give the contrasts of pairs run one at a time.
#[test]
fn batched_pairs_match_one_at_a_time() {
    let m = tiny::load(&cpu());
    let mut many = pairs();
    many.push(Pair {
        system: Some("Be".into()),
        prompt: "a question?".into(),
        positive: "nice".into(),
        negative: "grim".into(),
    });
    for method in [Method::MeanDifference, Method::Pca] {
        let one = collect(&m, &many, Positions::Reply, 1).unwrap().finish(method, 1, N_LAYER - 1).unwrap();
        let all = collect(&m, &many, Positions::Reply, 3).unwrap().finish(method, 1, N_LAYER - 1).unwrap();
        for (layer, d) in &one.vector.directions {
            let worst = d.iter().zip(&all.vector.directions[layer]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-5, "{method:?} block {layer}: {worst}");
        }
        for (a, b) in one.residual_norms.iter().zip(&all.residual_norms) {
            assert!((a - b).abs() < 1e-4 * a, "{a} vs {b}");
        }
    }
}

/// PCA gives unit directions on the mean difference's side, deterministically, and differs
/// from the mean difference once the pairs disagree.
#[test]
fn pca_directions_are_unit_signed_and_deterministic() {
    let m = tiny::load(&cpu());
    let mut many = pairs();
    many.push(Pair {
        system: None,
        prompt: "the weather?".into(),
        positive: "sunny and warm".into(),
        negative: "cold rain".into(),
    });
    let acc = collect(&m, &many, Positions::Reply, 2).unwrap();
    let pca = acc.finish(Method::Pca, 1, N_LAYER - 1).unwrap();
    let mean = acc.finish(Method::MeanDifference, 1, N_LAYER - 1).unwrap();
    assert_eq!(pca.method, Method::Pca);
    assert_eq!(acc.finish(Method::Pca, 1, N_LAYER - 1).unwrap(), pca, "same contrasts, same bits");
    for (layer, d) in &pca.vector.directions {
        assert!((norm(d) - 1.0).abs() < 1e-5);
        let cos: f32 = d.iter().zip(&mean.vector.directions[layer]).map(|(a, b)| a * b).sum();
        assert!(cos > 0.0 && cos < 0.9999, "block {layer}: cos(pca, mean) = {cos}");
    }
    let bytes = pca.to_gguf("llama");
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(ConceptVector::from_gguf(&g).unwrap().method, Method::Pca);
}
