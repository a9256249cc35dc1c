//! The tokenizer against llama.cpp's own ids for the SmolLM2 vocabulary, plus the properties
//! decoding and streaming must keep for any input.
//!
//! Fixtures: `tokenizer_cases.json` (from shared/reference/tok_ref.py) and
//! `tokenizer_cases_extra.json` (from tools/reference/tokenizer_cases.py); both hold the ids
//! llama.cpp produced, with and without special-token parsing.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tiller_engine::gguf::{Gguf, Value, write_f32_gguf};
use tiller_engine::tokenizer::{StreamDecoder, Tokenizer, TokenizerError};

use crate::common::fuzz::check;

const VOCAB_SIZE: usize = 49152;

fn model_path() -> PathBuf {
    match std::env::var_os("TILLER_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    }
}

fn tok() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let path = model_path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the model at {} ({e}); run `cargo xtask fetch-model` first (or point TILLER_MODEL at the GGUF)",
                path.display()
            )
        });
        let gguf = Gguf::parse(&bytes).expect("the model parses as GGUF");
        Tokenizer::from_gguf(&gguf).expect("the model's tokenizer loads")
    })
}

#[derive(Deserialize)]
struct Case {
    #[serde(default)]
    name: Option<String>,
    text: String,
    ids: Vec<u32>,
    ids_parse_special_false: Vec<u32>,
}

fn cases(file: &str) -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_cases() -> Vec<Case> {
    let mut all = cases("tokenizer_cases.json");
    all.extend(cases("tokenizer_cases_extra.json"));
    all
}

/// Every case in both modes; all mismatches are reported together.
fn check_against_llama_cpp(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let label = case.name.clone().unwrap_or_else(|| format!("{:?}", case.text));
        for (parse_special, want) in [(true, &case.ids), (false, &case.ids_parse_special_false)] {
            let got = tok().encode(&case.text, parse_special);
            if &got != want {
                failures.push(format!(
                    "{label} (parse_special={parse_special})\n  llama.cpp {want:?}\n  ours      {got:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn reference_cases_match_llama_cpp() {
    let cases = cases("tokenizer_cases.json");
    assert_eq!(cases.len(), 20);
    check_against_llama_cpp(&cases);
}

#[test]
fn extra_cases_match_llama_cpp() {
    let cases = cases("tokenizer_cases_extra.json");
    assert!(cases.len() >= 35, "only {} extra cases", cases.len());
    check_against_llama_cpp(&cases);
}

/// What decoding the encoded `text` gives back: the text without the bytes that have no token,
/// which llama.cpp drops too (SmolLM2 lacks tokens for six ASCII controls and for bytes that
/// begin only invalid or unassigned UTF-8). For everyday text that is the text itself.
fn round_trip_of(text: &str) -> String {
    let kept: Vec<u8> = text.bytes().filter(|&b| tok().token_id(&byte_char(b)).is_some()).collect();
    String::from_utf8_lossy(&kept).into_owned()
}

#[test]
fn decode_inverts_encode_for_every_case() {
    let mut exact = 0;
    for case in all_cases() {
        let want = round_trip_of(&case.text);
        exact += usize::from(want == case.text);
        assert_eq!(tok().decode(&tok().encode(&case.text, false)), want);
        // Control tokens decode to their text, so the special-parsed ids give the text back too.
        assert_eq!(tok().decode(&case.ids), want);
    }
    // Only the two cases written to hit tokenless bytes lose anything.
    assert!(exact >= all_cases().len() - 2, "only {exact} cases round-trip exactly");
}

#[test]
fn bytes_without_a_token_are_dropped() {
    // The dropped byte still separates "a" from "b", which would otherwise merge (llama.cpp ids).
    assert_eq!(tok().encode("a\u{4}b", false), [81, 82]);
    assert_eq!(tok().encode("ab", false), [369]);
    assert_eq!(round_trip_of("a\u{4}\u{6}\u{13}\u{14}\u{16}\u{1d}b"), "ab");
    // U+50000 (unassigned plane 5) is F1 90 80 80: the lead byte has no token, the other three do.
    assert_eq!(tok().decode(&tok().encode("\u{50000}", false)), "\u{FFFD}\u{FFFD}\u{FFFD}");
}

#[test]
fn vocabulary_lookups() {
    let t = tok();
    assert_eq!(t.vocab_size(), VOCAB_SIZE);
    assert_eq!(t.token_id("<|im_start|>"), Some(1));
    assert_eq!(t.token_id("Ġworld"), Some(905));
    assert_eq!(t.token_id(" world"), None);
    assert_eq!(t.token_text(905), Some("Ġworld"));
    assert_eq!(t.token_bytes(905).as_deref(), Some(&b" world"[..]));
    assert_eq!(t.token_bytes(2).as_deref(), Some(&b"<|im_end|>"[..]));
    assert!((0..=16).all(|id| t.is_control(id)));
    assert!(!t.is_control(17) && !t.is_control(905));
    let past_end = VOCAB_SIZE as u32;
    assert_eq!(t.token_text(past_end), None);
    assert_eq!(t.token_bytes(u32::MAX), None);
    assert!(!t.is_control(u32::MAX));
    assert_eq!(t.decode(&[19556, past_end, 905, u32::MAX]), "Hello world");
}

#[test]
fn decode_replaces_broken_utf8() {
    // "🙂" is split over several byte tokens; half of it alone is not text.
    let ids = tok().encode("🙂", false);
    assert!(ids.len() > 1);
    assert_eq!(tok().decode(&ids[..1]), "\u{FFFD}");
}

/// Streams `ids` one at a time and checks every chunk against the full decode.
fn stream(ids: &[u32]) -> Vec<String> {
    let mut decoder = StreamDecoder::new();
    let mut chunks: Vec<String> = ids.iter().map(|&id| decoder.push(tok(), id)).collect();
    chunks.push(decoder.flush());
    assert_eq!(chunks.concat(), tok().decode(ids));
    chunks
}

#[test]
fn streaming_holds_back_split_characters() {
    for text in ["東京タワー", "emoji 🙂👍🏽 and 👨‍👩‍👧‍👦", "नमस्ते दुनिया", "你好，世界！"]
    {
        let ids = tok().encode(text, true);
        let chunks = stream(&ids);
        assert!(chunks.iter().all(|c| !c.contains('\u{FFFD}')), "{text:?} streamed as {chunks:?}");
        assert!(chunks.iter().any(String::is_empty), "{text:?}: no token ended mid-character");
        assert_eq!(chunks.last().map(String::as_str), Some(""));
    }
}

#[test]
fn streaming_every_case() {
    for case in all_cases() {
        let chunks = stream(&case.ids);
        assert_eq!(chunks.concat(), round_trip_of(&case.text));
    }
}

#[test]
fn flush_gives_up_on_an_unfinished_character() {
    let ids = tok().encode("🙂", false);
    let mut decoder = StreamDecoder::new();
    assert_eq!(decoder.push(tok(), ids[0]), "");
    assert_eq!(decoder.flush(), "\u{FFFD}");
    assert_eq!(decoder.flush(), "");
    // A fresh start after the flush.
    let full: String = ids.iter().map(|&id| decoder.push(tok(), id)).collect();
    assert_eq!(full, "🙂");
}

/// Runs `f` once and returns its result with how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// 2000 words of varied prose: words drawn by a fixed pseudo-random sequence, with numbers,
/// punctuation, line breaks and some non-English words.
fn two_thousand_words() -> String {
    const WORDS: &str = "the of and a to in is you that it he was for on are as with his they I at \
        be this have from or one had by word but not what all were we when your can said there \
        use an each which she do how their if weather beautiful unpredictable rollercoaster \
        Paris, France. don't we'll 1,000 2024 3.14 (maybe) \"quoted\" café naïve 東京 Übermensch \
        🙂 — end.";
    let words: Vec<&str> = WORDS
        .split_whitespace()
        .map(|w| if w == "end." { "end.\n" } else { w }) // a line break now and then
        .collect();
    let mut state = 0x2545_f491_u32;
    (0..2000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            words[(state >> 16) as usize % words.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prose and the reference prompts encode to in-vocabulary ids that decode back to the text.
/// Speed is not asserted here (that belongs in a benchmark); the times are printed for a look
/// with `--nocapture`.
#[test]
fn encoding_prose_and_prompts() {
    let prose = two_thousand_words();
    let (ids, prose_time) = timed(|| tok().encode(&prose, true));
    assert!(ids.iter().all(|&id| (id as usize) < VOCAB_SIZE));
    assert_eq!(tok().decode(&ids), round_trip_of(&prose));
    let prompts: Vec<String> = cases("tokenizer_cases.json").into_iter().take(4).map(|c| c.text).collect();
    let (prompt_ids, prompts_time) = timed(|| prompts.iter().map(|p| tok().encode(p, true)).collect::<Vec<_>>());
    for (p, ids) in prompts.iter().zip(&prompt_ids) {
        assert_eq!(tok().decode(ids), round_trip_of(p));
    }
    println!(
        "encode: 2000 words ({} bytes, {} ids) {prose_time:?}; the 4 reference prompts {prompts_time:?}",
        prose.len(),
        ids.len()
    );
}

/// Single 100 000-byte words must encode (a quadratic merge loop would take minutes) and round
/// trip; the time each took is printed, not asserted.
#[test]
fn long_words_round_trip() {
    for long in ["x".repeat(100_000), " ".repeat(100_000), "ab".repeat(50_000), "!?".repeat(50_000)] {
        let (ids, took) = timed(|| tok().encode(&long, false));
        println!("encode: {} bytes of {:?}… took {took:?} ({} ids)", long.len(), &long[..2], ids.len());
        assert_eq!(tok().decode(&ids), long);
    }
}

// Random text and ids: each property runs a fixed number of cases from a fixed seed; a failure
// names the case seed that reproduces it (see common/fuzz.rs).

const CASES: u32 = 512;

/// Encoding in both modes gives in-vocabulary ids that decode to `round_trip_of(text)`.
fn round_trips(text: &str) {
    let want = round_trip_of(text);
    for parse_special in [false, true] {
        let ids = tok().encode(text, parse_special);
        assert!(ids.iter().all(|&id| (id as usize) < VOCAB_SIZE), "parse_special={parse_special}: {ids:?}");
        assert_eq!(tok().decode(&ids), want, "parse_special={parse_special}: {ids:?}");
    }
}

#[test]
fn any_text_round_trips() {
    check("any_text_round_trips", 0x746f_6b00_0001, CASES, |g| g.any_string(32), |t| round_trips(t));
}

#[test]
fn mixed_text_round_trips() {
    check("mixed_text_round_trips", 0x746f_6b00_0002, CASES, |g| g.mixed_text(40), |t| round_trips(t));
}

#[test]
fn streaming_any_ids_matches_decode() {
    check(
        "streaming_any_ids_matches_decode",
        0x746f_6b00_0003,
        CASES,
        |g| g.ids(47, VOCAB_SIZE as u32 + 64),
        |ids| {
            stream(ids);
        },
    );
}

#[test]
fn streaming_byte_tokens_matches_decode() {
    check(
        "streaming_byte_tokens_matches_decode",
        0x746f_6b00_0004,
        CASES,
        |g| g.bytes(63),
        |bytes| {
            // Single-byte tokens give arbitrary byte sequences, valid UTF-8 or not.
            let ids: Vec<u32> = bytes.iter().filter_map(|&b| tok().token_id(&byte_char(b))).collect();
            let chunks = stream(&ids);
            let kept: Vec<u8> = bytes.iter().copied().filter(|&b| tok().token_id(&byte_char(b)).is_some()).collect();
            assert_eq!(chunks.concat(), String::from_utf8_lossy(&kept));
        },
    );
}

/// GPT-2's character for a byte, derived here independently of the crate: printable Latin-1
/// bytes stand for themselves, the rest take U+0100 onwards in byte order.
fn byte_char(b: u8) -> String {
    let printable = |x: u8| matches!(x, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let c = if printable(b) {
        char::from(b)
    } else {
        char::from_u32(0x100 + (0..b).filter(|&x| !printable(x)).count() as u32).expect("below U+0200")
    };
    c.to_string()
}

// --- from_gguf on small synthetic vocabularies ---

fn strs(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect())
}

/// A GGUF whose vocabulary is the 256 byte tokens, "ab" (from the merge "a b"), a control
/// token and a user-defined one; `edit` changes the metadata before it is written.
fn synthetic(edit: impl FnOnce(&mut Vec<(&'static str, Value)>)) -> Result<Tokenizer, TokenizerError> {
    let mut tokens: Vec<String> = (0..=255u8).map(byte_char).collect();
    tokens.extend(["ab", "<ctl>", "<usr>"].map(String::from));
    let mut types = vec![Value::I32(1); 257];
    types.extend([Value::I32(3), Value::I32(4)]);
    let mut meta: Vec<(&str, Value)> = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens.into_iter().map(Value::String).collect())),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.merges", strs(&["a b"])),
    ];
    edit(&mut meta);
    let bytes = write_f32_gguf(&meta, &[]);
    Tokenizer::from_gguf(&Gguf::parse(&bytes).expect("synthetic GGUF parses"))
}

fn set(meta: &mut [(&'static str, Value)], key: &str, value: Value) {
    meta.iter_mut().find(|(k, _)| *k == key).expect("key present").1 = value;
}

#[test]
fn synthetic_vocabulary_encodes() {
    let t = synthetic(|_| {}).expect("loads");
    let (ab, ctl, usr) = (256, 257, 258);
    assert_eq!(t.encode("ab", false), [ab]);
    assert_eq!(t.encode("ab<ctl>", true), [ab, ctl]);
    assert!(!t.encode("ab<ctl>", false).contains(&ctl));
    // User-defined tokens are matched even without special parsing, as in llama.cpp.
    assert_eq!(t.encode("<usr>ab", false), [usr, ab]);
    assert_eq!(t.decode(&[ab, ctl, usr]), "ab<ctl><usr>");
    assert!(t.is_control(ctl) && !t.is_control(usr));

    // Token ids here are the bytes themselves, except that "z" has no token.
    let without_z = synthetic(|m| {
        let tokens = (0..=255u8).map(|b| Value::String(if b == b'z' { "zz".into() } else { byte_char(b) }));
        set(m, "tokenizer.ggml.tokens", Value::Array(tokens.collect()));
        set(m, "tokenizer.ggml.token_type", Value::Array(vec![Value::I32(1); 256]));
        set(m, "tokenizer.ggml.merges", strs(&[]));
    })
    .expect("a missing byte token is no error");
    assert_eq!(without_z.encode("azb", false), [u32::from(b'a'), u32::from(b'b')]);
}

#[test]
fn synthetic_vocabulary_errors() {
    let err = |edit: fn(&mut Vec<(&'static str, Value)>)| synthetic(edit).expect_err("refused");
    assert_eq!(
        err(|m| set(m, "tokenizer.ggml.model", Value::String("llama".into()))),
        TokenizerError::UnsupportedModel("llama".into())
    );
    assert_eq!(
        err(|m| set(m, "tokenizer.ggml.pre", Value::String("default".into()))),
        TokenizerError::UnsupportedPreTokenizer("default".into())
    );
    assert_eq!(
        err(|m| m.retain(|(k, _)| *k != "tokenizer.ggml.merges")),
        TokenizerError::MissingKey("tokenizer.ggml.merges".into())
    );
    assert!(matches!(
        err(|m| set(m, "tokenizer.ggml.tokens", Value::String("x".into()))),
        TokenizerError::BadKey { .. }
    ));
    assert!(matches!(
        err(|m| set(m, "tokenizer.ggml.token_type", Value::Array(vec![Value::I32(1)]))),
        TokenizerError::BadKey { .. }
    ));
    assert!(matches!(
        err(|m| set(m, "tokenizer.ggml.merges", strs(&["ab"]))),
        TokenizerError::BadMerge { rank: 0, .. }
    ));
    assert!(matches!(
        err(|m| set(m, "tokenizer.ggml.merges", strs(&["a b", "b c"]))),
        TokenizerError::BadMerge { rank: 1, .. }
    ));
    assert!(matches!(
        err(|m| set(m, "tokenizer.ggml.tokens", strs(&["a", "a"]))),
        TokenizerError::DuplicateToken { id: 1, .. }
    ));
}
