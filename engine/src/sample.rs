//! Turning a row of logits into the next token id.
//!
//! The processors run in llama.cpp's order: repetition penalty, then either argmax (temperature 0)
//! or top-k → softmax at temperature → top-p → min-p → a seeded draw. Everything after the logits is
//! made of integer math and basic IEEE float operations in a fixed order, so the same seed gives
//! the same tokens on wasm32 and native whenever the logits agree.

use std::cmp::Ordering;

use thiserror::Error;

/// How to pick the next token. The defaults are greedy decoding.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 picks the most likely token.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to `top_p`; 1 keeps all.
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one; 0 keeps all.
    pub min_p: f32,
    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 is off.
    pub repetition_penalty: f32,
    /// How many of the last history tokens the penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, repeat_last_n: 64, seed: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum SampleError {
    #[error("temperature must be a finite number >= 0 (0 = greedy), got {0}")]
    Temperature(f32),
    #[error("top_p must be in (0, 1] (1 = off), got {0}")]
    TopP(f32),
    #[error("min_p must be in [0, 1) (0 = off), got {0}")]
    MinP(f32),
    #[error("repetition_penalty must be a finite number > 0 (1 = off), got {0}")]
    RepetitionPenalty(f32),
}

impl SamplingParams {
    /// Check every field; the comparisons are written so that NaN fails them all.
    pub fn validate(&self) -> Result<(), SampleError> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(SampleError::Temperature(self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(SampleError::TopP(self.top_p));
        }
        if !(self.min_p >= 0.0 && self.min_p < 1.0) {
            return Err(SampleError::MinP(self.min_p));
        }
        if !(self.repetition_penalty > 0.0 && self.repetition_penalty.is_finite()) {
            return Err(SampleError::RepetitionPenalty(self.repetition_penalty));
        }
        Ok(())
    }
}

/// SplitMix64: tiny, seedable from any u64 (0 included), and pure integer math, so a seed
/// produces the same stream on every target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1). The top 24 bits fit an f32 mantissa exactly, so the conversion cannot
    /// round up to 1.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [0, 1) with 53 bits, for draws where tokens far below 2^-24 still deserve their
    /// exact share.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    id: u32,
    logit: f32,
    /// Unnormalized probability, exp((logit − max) / T); the most likely candidate has 1.
    weight: f64,
}

/// Most likely first; equal logits by lowest id, so every selection is a pure function of the
/// logits and not of how the partitioning happened to shuffle them.
fn most_likely_first(a: &Candidate, b: &Candidate) -> Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// Chooses tokens with a fixed set of parameters and its own RNG stream.
#[derive(Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
    // Reused across calls: sampling runs once per generated token over the whole vocabulary.
    candidates: Vec<Candidate>,
    recent: Vec<u32>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Result<Self, SampleError> {
        params.validate()?;
        let rng = Rng::new(params.seed);
        Ok(Self { params, rng, candidates: Vec::new(), recent: Vec::new() })
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// The next token id. `history` is the prompt plus everything generated so far; ids outside
    /// the vocabulary are ignored. NaN logits count as impossible. An empty `logits` gives 0, and
    /// when every logit is impossible the lowest candidate id is returned.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        if logits.is_empty() {
            return 0;
        }
        self.candidates.clear();
        self.candidates.extend(logits.iter().enumerate().map(|(i, &l)| Candidate {
            id: i as u32,
            logit: if l.is_nan() { f32::NEG_INFINITY } else { l },
            weight: 0.0,
        }));
        self.apply_repetition_penalty(history);
        for c in &mut self.candidates {
            // inf − inf would be NaN in the softmax; the largest finite value keeps such tokens
            // the most likely ones, sharing the mass equally.
            if c.logit == f32::INFINITY {
                c.logit = f32::MAX;
            }
        }

        if self.params.temperature == 0.0 {
            return self.argmax();
        }

        let top_k = self.params.top_k;
        if top_k > 0 && top_k < self.candidates.len() {
            self.candidates.select_nth_unstable_by(top_k - 1, most_likely_first);
            self.candidates.truncate(top_k);
        }

        let max = self.candidates.iter().map(|c| c.logit).fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            return self.candidates.iter().map(|c| c.id).min().unwrap_or(0);
        }
        let t = self.params.temperature as f64;
        let mut total = 0.0;
        for c in &mut self.candidates {
            c.weight = exp_nonpositive((c.logit as f64 - max as f64) / t);
            total += c.weight;
        }

        if self.params.top_p < 1.0 {
            self.keep_top_p(self.params.top_p as f64 * total);
        }
        if self.params.min_p > 0.0 {
            let w_max = self.candidates.iter().map(|c| c.weight).fold(0.0, f64::max);
            let floor = self.params.min_p as f64 * w_max;
            self.candidates.retain(|c| c.weight >= floor);
        }

        let kept: f64 = self.candidates.iter().map(|c| c.weight).sum();
        let target = self.rng.next_f64() * kept;
        let mut acc = 0.0;
        for c in &self.candidates {
            acc += c.weight;
            if target < acc {
                return c.id;
            }
        }
        // Only reachable through rounding in the running sum: the last candidate with any weight.
        self.candidates.iter().rev().find(|c| c.weight > 0.0).map_or(0, |c| c.id)
    }

    fn apply_repetition_penalty(&mut self, history: &[u32]) {
        let penalty = self.params.repetition_penalty;
        if penalty == 1.0 || self.params.repeat_last_n == 0 {
            return;
        }
        let start = history.len().saturating_sub(self.params.repeat_last_n);
        // A token seen several times is penalized once, as in llama.cpp and CTRL.
        self.recent.clear();
        self.recent.extend_from_slice(&history[start..]);
        self.recent.sort_unstable();
        self.recent.dedup();
        for &id in &self.recent {
            if let Some(c) = self.candidates.get_mut(id as usize) {
                c.logit = if c.logit > 0.0 { c.logit / penalty } else { c.logit * penalty };
            }
        }
    }

    fn argmax(&self) -> u32 {
        let mut best = self.candidates[0];
        for c in &self.candidates[1..] {
            if c.logit > best.logit {
                best = *c;
            }
        }
        best.id
    }

    /// Keep the most likely candidates until their weight reaches `target`. The order is found a
    /// growing chunk at a time, so a peaked distribution over a large vocabulary costs a few
    /// linear partitions instead of a full sort.
    fn keep_top_p(&mut self, target: f64) {
        let len = self.candidates.len();
        let mut sorted = 0;
        let mut chunk = 64;
        let mut cum = 0.0;
        while sorted < len {
            let end = (sorted + chunk).min(len);
            let rest = &mut self.candidates[sorted..];
            if end < len {
                rest.select_nth_unstable_by(end - sorted - 1, most_likely_first);
            }
            self.candidates[sorted..end].sort_unstable_by(most_likely_first);
            for i in sorted..end {
                cum += self.candidates[i].weight;
                if cum >= target {
                    self.candidates.truncate(i + 1);
                    return;
                }
            }
            sorted = end;
            chunk = chunk.saturating_mul(4);
        }
    }
}

/// Steps per octave in the exp table: |r| ≤ ln2/64 after the reduction keeps the polynomial short.
const EXP_STEPS: usize = 32;

/// 2^(j/32), summed from the Taylor series at compile time. Compile-time float arithmetic is
/// exactly rounded IEEE, so the table is the same for every target.
const EXP2_FRACTION: [f64; EXP_STEPS] = {
    let mut table = [1.0; EXP_STEPS];
    let mut j = 1;
    while j < EXP_STEPS {
        let x = j as f64 * std::f64::consts::LN_2 / EXP_STEPS as f64;
        let (mut sum, mut term, mut k) = (1.0, 1.0, 1);
        while k < 30 {
            term = term * x / k as f64;
            sum += term;
            k += 1;
        }
        table[j] = sum;
        j += 1;
    }
    table
};

/// e^x for x ≤ 0, built from additions and multiplications only. `f64::exp` comes from a
/// different math library on wasm32 than natively and may differ in the last bit, which would
/// let the same seed pick different tokens.
fn exp_nonpositive(x: f64) -> f64 {
    // e^-700 ≈ 1e-304: nothing that small can matter next to the top token's weight of 1.
    if x.is_nan() || x <= -700.0 {
        return 0.0;
    }
    if x >= 0.0 {
        return 1.0;
    }
    // x = (m/32)·ln2 + r. ln2 is split so that m·LN2_HI is exact (LN2_HI ends in 21 zero bits
    // and |m| < 2^15); dividing by 32 only changes the exponent.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const STEP_HI: f64 = LN2_HI / EXP_STEPS as f64;
    const STEP_LO: f64 = LN2_LO / EXP_STEPS as f64;
    // Truncation toward zero of a negative number rounds it up, so this is the nearest integer;
    // a cast is one instruction where `round` may be a library call.
    let m = (x * (EXP_STEPS as f64 * std::f64::consts::LOG2_E) - 0.5) as i64;
    let r = (x - m as f64 * STEP_HI) - m as f64 * STEP_LO;
    // |r| ≤ 0.011: the series to r^6 is off by less than 1e-17 relative.
    let r2 = r * r;
    const C3: f64 = 1.0 / 6.0;
    const C4: f64 = 1.0 / 24.0;
    const C5: f64 = 1.0 / 120.0;
    const C6: f64 = 1.0 / 720.0;
    let p = (1.0 + r) + r2 * ((0.5 + r * C3) + r2 * ((C4 + r * C5) + r2 * C6));
    let (k, j) = (m.div_euclid(EXP_STEPS as i64), m.rem_euclid(EXP_STEPS as i64) as usize);
    // k ∈ [−1011, 0], so 2^k is a normal float.
    let two_k = f64::from_bits(((k + 1023) as u64) << 52);
    p * EXP2_FRACTION[j] * two_k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32) -> SamplingParams {
        SamplingParams { temperature, seed: 7, ..SamplingParams::default() }
    }

    fn argmax(logits: &[f32]) -> u32 {
        let mut best = 0;
        for (i, &l) in logits.iter().enumerate() {
            if l > logits[best] {
                best = i;
            }
        }
        best as u32
    }

    /// Deterministic pseudo-random logits for tests, spread over a few units like real ones.
    fn random_logits(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| rng.next_f32() * 12.0 - 6.0).collect()
    }

    fn softmax(logits: &[f32], t: f32) -> Vec<f64> {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = logits.iter().map(|&l| (((l - max) / t) as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|x| x / s).collect()
    }

    #[test]
    fn rng_is_pinned() {
        // Pinned so that a wasm32 build can be checked against these exact values.
        let mut r = Rng::new(42);
        let u: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(u, [0xbdd7_3226_2feb_6e95, 0x28ef_e333_b266_f103, 0x4752_6757_130f_9f52, 0x581c_e1ff_0e4a_e394]);
        let mut r = Rng::new(42);
        let f: Vec<f32> = (0..4).map(|_| r.next_f32()).collect();
        assert_eq!(f, [0.741_564_87, 0.159_910_38, 0.278_601_1, 0.344_190_66]);
    }

    #[test]
    fn rng_stays_in_unit_interval() {
        let mut r = Rng::new(0);
        for _ in 0..100_000 {
            let x = r.next_f32();
            assert!((0.0..1.0).contains(&x));
            let y = r.next_f64();
            assert!((0.0..1.0).contains(&y));
        }
    }

    #[test]
    fn exp_matches_std() {
        let mut x = 0.0f64;
        while x > -750.0 {
            let (ours, std) = (exp_nonpositive(x), x.exp());
            let rel = if std > 1e-300 { ((ours - std) / std).abs() } else { ours.abs() };
            assert!(rel < 1e-14, "exp({x}) = {ours}, std {std}");
            x -= 0.0137;
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(f64::NAN), 0.0);
    }

    #[test]
    fn defaults_are_greedy_and_valid() {
        let p = SamplingParams::default();
        assert_eq!(p.temperature, 0.0);
        assert_eq!((p.top_k, p.top_p, p.min_p, p.repetition_penalty), (0, 1.0, 0.0, 1.0));
        assert_eq!((p.repeat_last_n, p.seed), (64, 0));
        assert!(p.validate().is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            (SamplingParams { temperature: -0.1, ..Default::default() }, "temperature"),
            (SamplingParams { temperature: f32::INFINITY, ..Default::default() }, "temperature"),
            (SamplingParams { temperature: f32::NAN, ..Default::default() }, "temperature"),
            (SamplingParams { top_p: 0.0, ..Default::default() }, "top_p"),
            (SamplingParams { top_p: 1.5, ..Default::default() }, "top_p"),
            (SamplingParams { top_p: f32::NAN, ..Default::default() }, "top_p"),
            (SamplingParams { min_p: 1.0, ..Default::default() }, "min_p"),
            (SamplingParams { min_p: -0.1, ..Default::default() }, "min_p"),
            (SamplingParams { repetition_penalty: 0.0, ..Default::default() }, "repetition_penalty"),
            (SamplingParams { repetition_penalty: f32::INFINITY, ..Default::default() }, "repetition_penalty"),
        ];
        for (p, field) in bad {
            let err = p.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
            assert!(!err.contains('\n'));
            assert!(Sampler::new(p).is_err());
        }
        assert!(SamplingParams { top_p: 1.0, min_p: 0.99, temperature: 2.0, ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn serde_fills_missing_fields_with_defaults() {
        let p: SamplingParams = serde_json::from_str(r#"{"temperature":0.7,"seed":3}"#).unwrap();
        assert_eq!(p, SamplingParams { temperature: 0.7, seed: 3, ..Default::default() });
    }

    #[test]
    fn greedy_is_argmax() {
        let mut s = Sampler::new(SamplingParams::default()).unwrap();
        for seed in 0..20 {
            let logits = random_logits(1000, seed);
            assert_eq!(s.sample(&logits, &[]), argmax(&logits));
        }
        // Ties go to the lowest index.
        assert_eq!(s.sample(&[1.0, 3.0, 3.0, 2.0], &[]), 1);
    }

    #[test]
    fn same_seed_same_tokens_different_seed_different_tokens() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.1).collect();
        let run = |seed| {
            let mut s = Sampler::new(SamplingParams { temperature: 1.0, seed, ..Default::default() }).unwrap();
            (0..200).map(|_| s.sample(&logits, &[])).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn top_k_one_is_greedy_at_any_temperature() {
        for &t in &[0.1, 1.0, 5.0, 100.0] {
            let mut s = Sampler::new(SamplingParams { top_k: 1, ..params(t) }).unwrap();
            for seed in 0..10 {
                let logits = random_logits(49152, seed);
                assert_eq!(s.sample(&logits, &[]), argmax(&logits));
            }
        }
    }

    #[test]
    fn tiny_top_p_is_greedy() {
        let mut s = Sampler::new(SamplingParams { top_p: 1e-6, ..params(1.5) }).unwrap();
        for seed in 0..10 {
            let logits = random_logits(49152, seed);
            assert_eq!(s.sample(&logits, &[]), argmax(&logits));
        }
    }

    #[test]
    fn top_k_keeps_only_the_k_best() {
        let logits = [0.0, 3.0, 1.0, 2.9, -1.0];
        let mut s = Sampler::new(SamplingParams { top_k: 2, ..params(10.0) }).unwrap();
        let mut seen = [0; 5];
        for _ in 0..2000 {
            seen[s.sample(&logits, &[]) as usize] += 1;
        }
        assert_eq!((seen[0], seen[2], seen[4]), (0, 0, 0));
        assert!(seen[1] > 0 && seen[3] > 0);
    }

    #[test]
    fn top_p_keeps_the_smallest_sufficient_set() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.75 needs exactly the first two.
        let logits: Vec<f32> = [0.5f32, 0.3, 0.15, 0.05].iter().map(|p| p.ln()).collect();
        let mut s = Sampler::new(SamplingParams { top_p: 0.75, ..params(1.0) }).unwrap();
        let mut seen = [0; 4];
        for _ in 0..4000 {
            seen[s.sample(&logits, &[]) as usize] += 1;
        }
        assert_eq!((seen[2], seen[3]), (0, 0));
        // Renormalized to 5/8 and 3/8.
        let share = seen[0] as f64 / 4000.0;
        assert!((share - 0.625).abs() < 0.03, "{seen:?}");
    }

    #[test]
    fn top_p_over_a_large_flat_vocabulary() {
        // Needs many chunks of the incremental sort: about half of 49152 tokens survive.
        let logits = random_logits(49152, 3);
        let mut s = Sampler::new(SamplingParams { top_p: 0.9, ..params(100.0) }).unwrap();
        for _ in 0..20 {
            let id = s.sample(&logits, &[]) as usize;
            assert!(id < logits.len());
        }
    }

    #[test]
    fn min_p_filters() {
        let logits: Vec<f32> = [0.5f32, 0.3, 0.15, 0.05].iter().map(|p| p.ln()).collect();
        // Threshold 0.5 · 0.5 = 0.25: keeps 0.5 and 0.3.
        let mut s = Sampler::new(SamplingParams { min_p: 0.5, ..params(1.0) }).unwrap();
        let mut seen = [0; 4];
        for _ in 0..4000 {
            seen[s.sample(&logits, &[]) as usize] += 1;
        }
        assert_eq!((seen[2], seen[3]), (0, 0));
        assert!(seen[0] > 0 && seen[1] > 0);
    }

    #[test]
    fn repetition_penalty_changes_the_argmax() {
        let p = SamplingParams { repetition_penalty: 1.2, ..SamplingParams::default() };
        let mut s = Sampler::new(p.clone()).unwrap();
        // Positive logit divided: 2.0 / 1.2 ≈ 1.67 < 1.9.
        assert_eq!(s.sample(&[2.0, 1.9, -1.0], &[]), 0);
        assert_eq!(s.sample(&[2.0, 1.9, -1.0], &[0]), 1);
        // Negative logit multiplied: −1.0 · 1.2 = −1.2 < −1.1.
        assert_eq!(s.sample(&[-1.0, -1.1], &[0]), 1);
        // Repeats count once, out-of-vocabulary ids are ignored.
        assert_eq!(s.sample(&[2.0, 1.5], &[0, 0, 0, 99]), 0);
        // Only the last `repeat_last_n` tokens count.
        let mut s = Sampler::new(SamplingParams { repeat_last_n: 2, ..p }).unwrap();
        assert_eq!(s.sample(&[2.0, 1.9, -1.0], &[0, 2, 2]), 0);
        assert_eq!(s.sample(&[2.0, 1.9, -1.0], &[2, 0, 2]), 1);
    }

    #[test]
    fn frequencies_follow_softmax() {
        let logits = [1.0f32, 2.0, 0.5, -1.0];
        for &t in &[1.0f32, 0.7] {
            let mut s = Sampler::new(SamplingParams { seed: 12345, ..params(t) }).unwrap();
            let n = 20_000;
            let mut counts = [0u32; 4];
            for _ in 0..n {
                counts[s.sample(&logits, &[]) as usize] += 1;
            }
            let expected = softmax(&logits, t);
            let chi2: f64 = counts
                .iter()
                .zip(&expected)
                .map(|(&c, &p)| {
                    let e = p * n as f64;
                    (c as f64 - e).powi(2) / e
                })
                .sum();
            // 3 degrees of freedom: 16.27 is the 0.1 % critical value.
            assert!(chi2 < 16.27, "t={t} counts {counts:?} expected {expected:?} chi2 {chi2}");
        }
    }

    #[test]
    fn odd_logits_do_not_panic() {
        let mut greedy = Sampler::new(SamplingParams::default()).unwrap();
        let mut hot = Sampler::new(SamplingParams { top_k: 2, top_p: 0.5, min_p: 0.1, ..params(1.0) }).unwrap();
        let mut plain = Sampler::new(params(1.0)).unwrap();
        let nan = f32::NAN;
        let cases: [&[f32]; 6] = [
            &[],
            &[nan, nan, nan],
            &[nan, 1.0, nan],
            &[f32::NEG_INFINITY; 3],
            &[f32::INFINITY, 0.0, f32::INFINITY],
            &[f32::MAX, -f32::MAX, 0.0],
        ];
        for s in [&mut greedy, &mut hot, &mut plain] {
            for logits in cases {
                let id = s.sample(logits, &[0, 1, u32::MAX]);
                assert!(logits.is_empty() || (id as usize) < logits.len());
            }
            assert_eq!(s.sample(&[nan, 1.0, nan], &[]), 1);
            assert_eq!(s.sample(&[], &[]), 0);
        }
        // Infinite logits share the mass; everything else gets none.
        for _ in 0..50 {
            assert_ne!(plain.sample(&[f32::INFINITY, 0.0, f32::INFINITY], &[]), 1);
        }
    }
}
