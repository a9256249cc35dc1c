//! Running the jobs: batched generation with each job's own steering and seed, then the
//! perplexity of every reply under the unsteered model.

use std::time::Instant;

use tiller_engine::batch;
use tiller_engine::chat::Message;
use tiller_engine::concept::GateReading;
use tiller_engine::gate::SteerPlan;
use tiller_engine::load::LoadedModel;
use tiller_engine::sample::{Sampler, SamplingParams};
use tiller_engine::sequence::{Stop, StopRule};
use tiller_engine::steer::Steering;

use super::plan::{Concept, Condition, Job};

/// A reply and what the model thought of it.
pub struct Reply {
    pub job: Job,
    pub text: String,
    /// The generated ids (scored as generated, not re-tokenized).
    pub ids: Vec<u32>,
    /// Ended on an end-of-generation token.
    pub finished: bool,
    /// Σ −log p of the reply's tokens under the unsteered model, given the plain prompt.
    pub nll: f64,
    /// Σ −log p of the tokens after the reply's first sentence (`None` when it has one
    /// sentence): a refusal's opener is improbable to the unsteered model by design.
    pub nll_after_first: Option<(f64, usize)>,
    /// Any steering was applied (a gated part only where `gate` opened).
    pub steered: bool,
    /// What the gated part's condition read from the prompt.
    pub gate: Option<GateReading>,
}

pub struct Settings {
    pub max_tokens: usize,
    pub batch: usize,
    pub sampling: SamplingParams,
}

/// Chat-template the prompt, with the intent as system prompt for the prompting conditions
/// only: the steering ones, with another slider on or not, get the request as the app sends it.
fn render(m: &LoadedModel, c: &Concept, job: &Job) -> Result<Vec<u32>, String> {
    let mut messages = Vec::new();
    if matches!(job.condition, Condition::Prompting | Condition::PromptingAndSteering)
        && let Some(intent) = c.intent(job.coef)
    {
        messages.push(Message::system(intent));
    }
    messages.push(Message::user(c.prompts[job.prompt].text.clone()));
    m.prompt(&messages).map_err(|e| e.to_string())
}

/// What a job's coefficient steers with: coefficient × strength on the concept's layers, and
/// the gated part under its condition.
pub fn steering(m: &LoadedModel, c: &Concept, coef: f32) -> Result<SteerPlan, String> {
    together(m, &[(c, coef)])
}

/// Several sliders at once, as the app sums them: their unconditional parts added, and at most
/// one gated part.
pub fn together(m: &LoadedModel, sliders: &[(&Concept, f32)]) -> Result<SteerPlan, String> {
    let cfg = &m.model.config;
    let device = m.model.device();
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let sum = |v, scale, layers| Steering::new(&[(v, scale)], Some(layers), cfg.n_layer, cfg.n_embd, device);
    let mut always = Steering::none();
    for (c, coef) in sliders {
        always = always.plus(&sum(&c.vector, coef * c.strength, c.layers).map_err(|e| err(&e))?, device);
    }
    let mut gated = sliders.iter().filter_map(|(c, coef)| c.gated.as_ref().map(|g| (c, g, coef)));
    let plan = match gated.next() {
        None => always.into(),
        Some((c, g, coef)) => {
            let mut part = sum(&g.vector, coef * g.strength, g.layers).map_err(|e| err(&e))?;
            if g.parent_change != 0.0 {
                part = part.plus(&sum(&c.vector, coef * g.parent_change, c.layers).map_err(|e| err(&e))?, device);
            }
            SteerPlan::gated(always, &part, g.condition.clone(), cfg.n_layer, cfg.n_embd, device)
                .map_err(|e| err(&e))?
        }
    };
    match gated.next() {
        None => Ok(plan),
        Some(_) => Err("two sliders with a gated part cannot be evaluated together".into()),
    }
}

/// Which steering a job runs with: one plan per (steered or with-also, coefficient); the
/// prompting baseline runs without.
fn plan_key(job: &Job) -> Option<(Condition, f32)> {
    match job.condition {
        Condition::Prompting => None,
        Condition::SteeringWithAlso => Some((Condition::SteeringWithAlso, job.coef)),
        Condition::Steering | Condition::PromptingAndSteering => Some((Condition::Steering, job.coef)),
    }
}

/// `also`: another slider at a fixed value, on for the [`Condition::SteeringWithAlso`] jobs.
pub fn run(
    m: &LoadedModel,
    c: &Concept,
    jobs: &[Job],
    s: &Settings,
    also: Option<(&Concept, f32)>,
) -> Result<Vec<Reply>, String> {
    let none = SteerPlan::default();
    let mut plans: Vec<((Condition, f32), SteerPlan)> = Vec::new();
    for job in jobs {
        let Some(key) = plan_key(job) else { continue };
        if plans.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let plan = match (key.0, also) {
            (Condition::SteeringWithAlso, Some(other)) => together(m, &[(c, job.coef), other])?,
            (Condition::SteeringWithAlso, None) => return Err("a job with --also on, but no --also slider".into()),
            _ => steering(m, c, job.coef)?,
        };
        plans.push((key, plan));
    }
    let plan_of = |job: &Job| match plan_key(job) {
        None => &none,
        Some(key) => plans.iter().find(|(k, _)| *k == key).map(|(_, st)| st).unwrap_or(&none),
    };

    let started = Instant::now();
    let mut replies = Vec::with_capacity(jobs.len());
    for (b, chunk) in jobs.chunks(s.batch.max(1)).enumerate() {
        let prompts = chunk.iter().map(|j| render(m, c, j)).collect::<Result<Vec<_>, _>>()?;
        // The same prompt gets the same seed in every condition: differences come from steering.
        let samplers = chunk
            .iter()
            .map(|j| Sampler::new(SamplingParams { seed: s.sampling.seed + j.prompt as u64, ..s.sampling.clone() }))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let plans: Vec<&SteerPlan> = chunk.iter().map(plan_of).collect();
        let generated = pollster::block_on(batch::generate(
            &m.model,
            &prompts,
            samplers,
            &plans,
            &StopRule::new(&m.stop_ids, Some(s.max_tokens)),
        ))
        .map_err(|e| e.to_string())?;
        for ((job, g), plan) in chunk.iter().zip(generated).zip(&plans) {
            let text = m.tokenizer.decode(&g.tokens);
            replies.push(Reply {
                job: *job,
                text,
                ids: g.tokens,
                finished: g.stop == Stop::EndOfGeneration,
                nll: 0.0,
                nll_after_first: None,
                steered: !plan.is_empty(),
                gate: g.gate,
            });
        }
        let done = (b + 1) * s.batch.max(1);
        let secs = started.elapsed().as_secs_f64();
        eprint!("\r  {}: {}/{} replies, {:.0} s", c.id, done.min(jobs.len()), jobs.len(), secs);
    }
    eprintln!();
    score_fluency(m, c, &mut replies)?;
    Ok(replies)
}

/// Perplexity under the unsteered model, conditioned on the plain prompt (no intent system
/// prompt) so every condition is judged by the same yardstick.
fn score_fluency(m: &LoadedModel, c: &Concept, replies: &mut [Reply]) -> Result<(), String> {
    let mut plain = Steering::none();
    for chunk in replies.chunks_mut(8) {
        let mut texts = Vec::new();
        let mut which = Vec::new();
        for (i, r) in chunk.iter().enumerate() {
            if r.ids.is_empty() {
                continue;
            }
            let job = Job { condition: Condition::Steering, ..r.job };
            let prompt = render(m, c, &job)?;
            let from = prompt.len();
            texts.push(([prompt.as_slice(), &r.ids].concat(), from));
            which.push(i);
        }
        if texts.is_empty() {
            continue;
        }
        let lps = pollster::block_on(batch::token_logprobs(&m.model, &texts, &mut plain)).map_err(|e| e.to_string())?;
        for (i, lp) in which.into_iter().zip(lps) {
            chunk[i].nll = -lp.iter().sum::<f64>();
            let first = first_sentence_tokens(m, &chunk[i].ids);
            chunk[i].nll_after_first = (first < lp.len()).then(|| (-lp[first..].iter().sum::<f64>(), lp.len() - first));
        }
    }
    Ok(())
}

/// How many of a reply's tokens its first sentence takes: up to the first `.`, `!`, `?` or line
/// break that more text follows.
fn first_sentence_tokens(m: &LoadedModel, ids: &[u32]) -> usize {
    let text = m.tokenizer.decode(ids);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end = chars.windows(2).find(|w| matches!(w[0].1, '.' | '!' | '?' | '\n') && w[1].1.is_whitespace());
    let Some(end) = end.map(|w| w[1].0) else { return ids.len() };
    (1..=ids.len()).find(|&k| m.tokenizer.decode(&ids[..k]).len() >= end).unwrap_or(ids.len())
}
