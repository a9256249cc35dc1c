use std::time::Instant;

use tiller_engine::load::LoadedModel;
use tiller_engine::sample::Sampler;
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::session::Session;
use tiller_engine::tokenizer::StreamDecoder;

pub struct TurnStats {
    pub prompt_tokens: usize,
    pub generated: Vec<u32>,
    pub stop: Stop,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
}

/// Prefill `tokens`, then sample up to `max_tokens`, handing each complete piece of text to
/// `on_piece` as it is decoded. A gate reads its condition from `request` when given (the latest
/// request of a longer chat, on its own).
#[allow(clippy::too_many_arguments)]
pub fn run(
    session: &mut Session<'_>,
    m: &LoadedModel,
    tokens: &[u32],
    request: Option<&[u32]>,
    sampler: Sampler,
    ignore_eos: bool,
    max_tokens: usize,
    mut on_piece: impl FnMut(&str),
) -> Result<TurnStats, String> {
    let t0 = Instant::now();
    let rule = StopRule { ignore_eos, ..StopRule::new(&m.stop_ids, Some(max_tokens)) };
    pollster::block_on(session.prefill_turn(tokens, request, sampler, rule)).map_err(|e| e.to_string())?;
    let prefill_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let mut decoder = StreamDecoder::new();
    let mut generated = Vec::new();
    let stop = loop {
        match pollster::block_on(session.step()).map_err(|e| e.to_string())? {
            Ok(tok) => {
                generated.push(tok);
                on_piece(&decoder.push(&m.tokenizer, tok));
            }
            Err(stop) => break stop,
        }
    };
    on_piece(&decoder.flush());
    let decode_s = t1.elapsed().as_secs_f64();
    // The first token comes from the prefill's logits; each later one costs one forward.
    let forwards = generated.len().saturating_sub(1);
    Ok(TurnStats {
        prompt_tokens: tokens.len(),
        generated,
        stop,
        prefill_tok_s: tokens.len() as f64 / prefill_s,
        decode_tok_s: if forwards > 0 { forwards as f64 / decode_s } else { 0.0 },
    })
}
