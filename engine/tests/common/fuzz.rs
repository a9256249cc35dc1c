//! Seeded random inputs for property tests, on the engine's own SplitMix64 (`sample::Rng`).
//!
//! [`check`] runs a property over a fixed number of cases drawn from a fixed seed, so every run
//! sees the same inputs. Each case gets its own seed, derived from the run's seed and the case's
//! index; a failure reports both, with the input, and setting `TILLER_FUZZ_CASE` to the case
//! seed re-runs that one case alone:
//!
//! ```text
//! TILLER_FUZZ_CASE=0x1234abcd cargo test --profile native-tests --workspace --features tiller-app/ui --test native tokenizer::mixed_text
//! ```

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use tiller_engine::sample::Rng;

/// Random values of the shapes the property tests need.
pub struct Gen(Rng);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self(Rng::new(seed))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn u32(&mut self) -> u32 {
        (self.0.next_u64() >> 32) as u32
    }

    pub fn usize(&mut self) -> usize {
        self.0.next_u64() as usize
    }

    pub fn u8(&mut self) -> u8 {
        (self.0.next_u64() >> 56) as u8
    }

    pub fn f64(&mut self) -> f64 {
        self.0.next_f64()
    }

    /// Uniform in `0..n`; `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        // Multiply-shift: the bias is at most n / 2^64, far below anything a test can see.
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn in_range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "in_range({lo}, {hi})");
        match (hi - lo).checked_add(1) {
            Some(n) => lo + self.below(n),
            None => self.u64(), // the whole of u64
        }
    }

    /// A uniform index into something of length `len`, which must not be 0.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A length in `0..=max`.
    pub fn length(&mut self, max: usize) -> usize {
        self.in_range(0, max as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.next_f64() < p
    }

    /// One of `items`, each as likely; there must be at least one.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// `max_len` or fewer arbitrary bytes (the length uniform in `0..=max_len`).
    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let n = self.length(max_len);
        (0..n).map(|_| self.u8()).collect()
    }

    /// `max_len` or fewer ids, each uniform in `0..bound`.
    pub fn ids(&mut self, max_len: usize, bound: u32) -> Vec<u32> {
        let n = self.length(max_len);
        (0..n).map(|_| self.below(u64::from(bound)) as u32).collect()
    }

    /// Any Unicode scalar value, with the width of its UTF-8 encoding (1 to 4 bytes) uniform,
    /// so that control characters, unassigned code points and the astral planes all turn up.
    pub fn scalar(&mut self) -> char {
        loop {
            let (lo, hi) = self.pick(&[(0, 0x7f), (0x80, 0x7ff), (0x800, 0xffff), (0x1_0000, 0x10_ffff)]);
            if let Some(c) = char::from_u32(self.in_range(lo, hi) as u32) {
                return c; // surrogates (U+D800..U+DFFF) are drawn again
            }
        }
    }

    /// Up to `max_chars` arbitrary scalar values.
    pub fn any_string(&mut self, max_chars: usize) -> String {
        let n = self.length(max_chars);
        (0..n).map(|_| self.scalar()).collect()
    }

    /// Up to `max_pieces` pieces of text of the kinds that stress a byte-level BPE tokenizer and
    /// its pre-tokenizer: ASCII words and punctuation, English contractions, digit runs, every
    /// sort of whitespace, Latin-1, CJK, emoji with skin tones and zero-width joiners, combining
    /// marks, special-token text (whole and broken) and arbitrary scalar values.
    pub fn mixed_text(&mut self, max_pieces: usize) -> String {
        let n = self.length(max_pieces);
        let mut s = String::new();
        for _ in 0..n {
            self.push_piece(&mut s);
        }
        s
    }

    fn push_piece(&mut self, s: &mut String) {
        const WHITESPACE: &[&str] = &[
            " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\u{a0}", "\u{3000}", "\u{2009}", "\u{200b}",
            "\u{85}", "\u{b}", "\u{c}",
        ];
        const CONTRACTIONS: &[&str] = &["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "’s"];
        const SPECIAL: &[&str] = &[
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
            "<|im_start|>user\n",
            "<|im_",
            "|>",
            "<|",
            "<|im_start",
            "<|IM_START|>",
            "<s>",
            "</s>",
        ];
        const EMOJI: &[&str] =
            &["🙂", "👍", "👍🏽", "👋🏿", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "\u{1f3fb}", "\u{200d}", "\u{fe0f}", "🇫🇷", "🤷‍♀️"];
        const WORDS: &[&str] = &["the", "Hello", "world", "don", "we", "ab", "x", "ALL", "camelCase"];
        match self.below(11) {
            0 => s.push(self.in_range(0x20, 0x7e) as u8 as char), // printable ASCII
            1 => s.push_str(self.pick(WORDS)),
            2 => s.push_str(self.pick(WHITESPACE)),
            3 => {
                for _ in 0..self.in_range(1, 6) {
                    s.push(char::from(b'0' + self.below(10) as u8));
                }
            }
            4 => s.push_str(self.pick(CONTRACTIONS)),
            5 => s.push(char::from_u32(self.in_range(0xa0, 0xff) as u32).unwrap()), // Latin-1
            6 => {
                // CJK ideographs, kana and Hangul, and the odd fixed word.
                let (lo, hi) = self.pick(&[(0x4e00, 0x9fff), (0x3040, 0x30ff), (0xac00, 0xd7a3)]);
                if self.chance(0.2) {
                    s.push_str(self.pick(&["東京", "你好，世界！", "タワー"]));
                } else {
                    s.push(char::from_u32(self.in_range(lo, hi) as u32).unwrap());
                }
            }
            7 => s.push_str(self.pick(EMOJI)),
            8 => {
                // A base letter with one to three combining marks (Latin and Devanagari).
                s.push(self.pick(&['e', 'a', 'n', 'न', 'स']));
                for _ in 0..self.in_range(1, 3) {
                    let (lo, hi) = self.pick(&[(0x300, 0x36f), (0x900, 0x903), (0x93c, 0x94d)]);
                    s.push(char::from_u32(self.in_range(lo, hi) as u32).unwrap());
                }
            }
            9 => s.push_str(self.pick(SPECIAL)),
            _ => s.push(self.scalar()),
        }
    }
}

/// The seed of case `index` in a run from `seed`.
pub fn case_seed(seed: u64, index: u32) -> u64 {
    Rng::new(seed ^ u64::from(index).wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

/// Runs `property` on `cases` inputs from `generate`, case `i` drawn from
/// `Gen::new(case_seed(seed, i))`. A panic in either is reported with the property's name, the
/// case, its seed and the input, then passed on. With `TILLER_FUZZ_CASE` set (decimal or 0x
/// hex) only that case seed is run.
pub fn check<T: Debug>(
    name: &str,
    seed: u64,
    cases: u32,
    mut generate: impl FnMut(&mut Gen) -> T,
    mut property: impl FnMut(&T),
) {
    let only = std::env::var("TILLER_FUZZ_CASE").ok().map(|s| {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.unwrap_or_else(|e| panic!("TILLER_FUZZ_CASE={s}: {e}"))
    });
    let runs: Vec<(Option<u32>, u64)> = match only {
        Some(cs) => vec![(None, cs)],
        None => (0..cases).map(|i| (Some(i), case_seed(seed, i))).collect(),
    };
    for (index, cs) in runs {
        let mut input = None;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let value = generate(&mut Gen::new(cs));
            property(input.insert(value));
        }));
        if let Err(payload) = outcome {
            let at = match index {
                Some(i) => format!("case {i} of {cases} (run seed {seed:#x})"),
                None => "the case from TILLER_FUZZ_CASE".to_string(),
            };
            let input = match &input {
                Some(v) => format!("{v:?}"),
                None => "(the generator panicked)".to_string(),
            };
            eprintln!(
                "property `{name}` failed at {at}, case seed {cs:#x}\n  input: {input}\n  \
                 reproduce with TILLER_FUZZ_CASE={cs:#x} and the test's name as filter"
            );
            resume_unwind(payload);
        }
    }
}
