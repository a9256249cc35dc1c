//! No byte input may panic the GGUF reader, or make it allocate far beyond the input's size.
//!
//! The browser hands the reader whatever bytes a user dropped on the page, so every malformed
//! file must come back as a typed error. A counting allocator checks that lengths read from the
//! file are validated before anything is reserved for them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common::fuzz::{Gen, check};
use tiller_engine::gguf::{Gguf, GgufError, TensorType, Value, dequantize, write_f32_gguf};

// ---------------------------------------------------------------------------------------------
// Largest single allocation on the current thread, so a test can bound what parsing reserved.

struct CountingAlloc;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the slot may already be gone while a thread is being torn down.
    let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Run `f` and return its result with the largest allocation it made on this thread.
fn largest_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|m| m.set(0));
    let out = f();
    (out, LARGEST.with(|m| m.get()))
}

/// What parsing `len` bytes may reasonably reserve: metadata values are a few machine words
/// each and every one of them takes at least one byte of input.
fn alloc_budget(len: usize) -> usize {
    64 * len + 64 * 1024
}

// ---------------------------------------------------------------------------------------------
// Inputs.

fn model_path() -> PathBuf {
    match std::env::var_os("TILLER_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    }
}

/// The first 64 KiB of the real model: header and the start of its (much longer) metadata.
fn model_head() -> &'static [u8] {
    static HEAD: OnceLock<Vec<u8>> = OnceLock::new();
    HEAD.get_or_init(|| {
        let path = model_path();
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}; run `cargo xtask fetch-model` first", path.display()));
        let mut head = Vec::new();
        file.take(64 * 1024).read_to_end(&mut head).expect("read the model");
        assert_eq!(head.len(), 64 * 1024, "{} is too short", path.display());
        head
    })
}

const A: [f32; 12] = [0.0, 1.0, -1.0, 0.5, 1e-3, -2.5e7, 3.25, -0.0, 7.0, 8.0, 9.0, 10.0];
const B: [f32; 8] = [f32::MIN_POSITIVE, 1.5, -1.5, 2.0, f32::MAX, -4.0, 100.0, 0.125];

fn small_metadata() -> Vec<(&'static str, Value)> {
    vec![
        ("general.architecture", Value::String("llama".into())),
        ("general.name", Value::String("tiny ünïcödé".into())),
        ("llama.block_count", Value::U32(2)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        ("llama.context_length", Value::I64(-5)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
        (
            "tokenizer.ggml.tokens",
            Value::Array(vec![
                Value::String("<s>".into()),
                Value::String("</s>".into()),
                Value::String("hello".into()),
            ]),
        ),
        ("tokenizer.ggml.token_type", Value::Array(vec![Value::I32(3), Value::I32(3), Value::I32(1)])),
        (
            "test.nested",
            Value::Array(vec![Value::Array(vec![Value::U8(1), Value::U8(2)]), Value::Array(vec![Value::U8(3)])]),
        ),
    ]
}

/// A valid file whose last tensor fills its 32-byte aligned slot exactly, so that every strict
/// prefix cuts into something the reader needs.
fn small_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| write_f32_gguf(&small_metadata(), &[("a", vec![4, 3], &A), ("b", vec![8], &B)]))
}

/// Everything a caller might do with a parsed file; must not panic whatever the bytes were.
fn exercise(bytes: &[u8]) -> Result<(), GgufError> {
    let g = Gguf::parse(bytes)?;
    for (key, v) in g.metadata() {
        let _ = (g.get(key), v.as_u64(), v.as_i64(), v.as_f64(), v.as_str(), v.as_array());
    }
    let _ = (g.require_u64("llama.block_count"), g.require_str("general.architecture"));
    let names: Vec<String> = g.tensors().iter().map(|t| t.name.clone()).collect();
    for name in &names {
        let info = g.tensor_info(name).expect("listed tensor");
        let _ = g.tensor_bytes(info);
        let _ = g.dequantize(name);
    }
    Ok(())
}

/// Where tensor `name`'s type id and offset sit in a file from `write_f32_gguf`.
fn tensor_fields(file: &[u8], name: &str) -> (usize, usize) {
    let mut needle = (name.len() as u64).to_le_bytes().to_vec();
    needle.extend(name.as_bytes());
    let at = file.windows(needle.len()).position(|w| w == needle).expect("tensor entry") + needle.len();
    let n_dims = u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    let ty = at + 4 + 8 * n_dims;
    (ty, ty + 4)
}

fn header(n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(n_tensors.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

#[test]
fn the_allocation_counter_sees_allocations() {
    let (v, largest) = largest_alloc(|| vec![1u8; 1 << 20]);
    assert!(largest >= 1 << 20 && v.len() == 1 << 20);
    let ((), largest) = largest_alloc(|| ());
    assert_eq!(largest, 0);
}

// ---------------------------------------------------------------------------------------------
// The valid file and every prefix of it.

#[test]
fn small_file_round_trips() {
    let g = Gguf::parse(small_file()).expect("valid file");
    assert_eq!(g.version, 3);
    for (key, value) in small_metadata() {
        assert_eq!(g.get(key), Some(&value), "{key}");
    }
    assert_eq!(g.metadata().len(), small_metadata().len());
    let infos: Vec<(&str, &[u64], TensorType)> =
        g.tensors().iter().map(|t| (t.name.as_str(), t.dims.as_slice(), t.ty)).collect();
    assert_eq!(infos, [("a", &[4u64, 3][..], TensorType::F32), ("b", &[8u64][..], TensorType::F32)]);
    // Bit patterns, so that −0.0 and the extremes are compared exactly.
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&g.dequantize("a").unwrap()), bits(&A));
    assert_eq!(bits(&g.dequantize("b").unwrap()), bits(&B));
    assert_eq!(g.dequantize("c").unwrap_err(), GgufError::MissingTensor("c".into()));
}

#[test]
fn every_prefix_of_a_valid_file_is_an_error() {
    let file = small_file();
    for len in 0..file.len() {
        let (result, largest) = largest_alloc(|| exercise(&file[..len]));
        assert!(result.is_err(), "a {len}-byte prefix of {} parsed", file.len());
        assert!(largest <= alloc_budget(len), "{len}-byte prefix: allocated {largest} bytes");
    }
    assert!(exercise(file).is_ok());
}

#[test]
fn every_prefix_of_the_model_head_is_truncated() {
    let head = model_head();
    for len in (0..head.len()).step_by(97).chain([head.len()]) {
        match Gguf::parse(&head[..len]) {
            Err(GgufError::Truncated { .. }) => {}
            other => panic!("{len}-byte prefix of the model: {:?}", other.map(|_| ())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Random inputs.

// Each property runs a fixed number of cases from a fixed seed; a failure names the case seed
// that reproduces it (see common/fuzz.rs).

const MANY: u32 = 50_000;
const FEW: u32 = 2_000;

/// Parses and exercises `bytes`, which must not panic nor allocate beyond `alloc_budget`.
fn no_panic_and_bounded_alloc(bytes: &[u8]) {
    let (_, largest) = largest_alloc(|| exercise(bytes));
    assert!(largest <= alloc_budget(bytes.len()), "allocated {largest}");
}

/// `small_file()` with the byte at each of 1 to `max_edits` random positions replaced.
fn overwritten(g: &mut Gen, mut bytes: Vec<u8>, max_edits: u64) -> Vec<u8> {
    if !bytes.is_empty() {
        for _ in 0..g.in_range(1, max_edits) {
            let i = g.index(bytes.len());
            bytes[i] = g.u8();
        }
    }
    bytes
}

#[test]
fn random_bytes() {
    check("random_bytes", 0x6767_7566_0001, MANY, |g| g.bytes(599), |b| no_panic_and_bounded_alloc(b));
}

/// Past the magic and version checks, so that the random bytes reach the metadata and the
/// tensor index.
#[test]
fn random_bytes_after_a_valid_header() {
    check(
        "random_bytes_after_a_valid_header",
        0x6767_7566_0002,
        MANY,
        |g| {
            let mut bytes = b"GGUF".to_vec();
            bytes.extend((g.in_range(2, 3) as u32).to_le_bytes()); // version
            bytes.extend(g.below(4).to_le_bytes()); // tensor count
            bytes.extend(g.below(6).to_le_bytes()); // metadata count
            bytes.extend(g.bytes(599));
            bytes
        },
        |bytes| no_panic_and_bounded_alloc(bytes),
    );
}

#[test]
fn overwritten_bytes_of_a_valid_file() {
    check(
        "overwritten_bytes_of_a_valid_file",
        0x6767_7566_0003,
        MANY,
        |g| overwritten(g, small_file().to_vec(), 7),
        |bytes| no_panic_and_bounded_alloc(bytes),
    );
}

#[test]
fn flipped_bits_of_a_valid_file() {
    check(
        "flipped_bits_of_a_valid_file",
        0x6767_7566_0004,
        MANY,
        |g| {
            let mut bytes = small_file().to_vec();
            for _ in 0..g.in_range(1, 5) {
                let i = g.index(bytes.len());
                bytes[i] ^= 1 << g.below(8);
            }
            bytes
        },
        |bytes| no_panic_and_bounded_alloc(bytes),
    );
}

/// Counts and lengths are the fields that decide allocations: overwrite a whole aligned
/// little-endian word with something extreme.
#[test]
fn extreme_words_in_a_valid_file() {
    check(
        "extreme_words_in_a_valid_file",
        0x6767_7566_0005,
        MANY,
        |g| {
            let word = match g.below(6) {
                0 => u64::MAX,
                1 => u64::MAX / 2,
                2 => 1 << 32,
                3 => 1 << 40,
                4 => 0,
                _ => g.u64(),
            };
            let width = g.pick(&[4usize, 8]);
            let mut bytes = small_file().to_vec();
            let i = g.index(bytes.len() - width + 1);
            bytes[i..i + width].copy_from_slice(&word.to_le_bytes()[..width]);
            bytes
        },
        |bytes| no_panic_and_bounded_alloc(bytes),
    );
}

#[test]
fn the_real_model_head_truncated_anywhere() {
    check(
        "the_real_model_head_truncated_anywhere",
        0x6767_7566_0006,
        FEW,
        |g| g.length(64 * 1024),
        |&cut| {
            let head = &model_head()[..cut];
            let (result, largest) = largest_alloc(|| Gguf::parse(head).map(|_| ()));
            assert!(matches!(result, Err(GgufError::Truncated { .. })), "{cut}-byte prefix: {result:?}");
            assert!(largest <= alloc_budget(cut), "allocated {largest}");
        },
    );
}

#[test]
fn the_real_model_head_with_overwritten_bytes() {
    check(
        "the_real_model_head_with_overwritten_bytes",
        0x6767_7566_0007,
        FEW,
        |g| {
            let cut = g.length(64 * 1024);
            overwritten(g, model_head()[..cut].to_vec(), 7)
        },
        |bytes| no_panic_and_bounded_alloc(bytes),
    );
}

/// The public block decoder with lengths and counts that do not agree.
#[test]
fn dequantize_with_any_length() {
    check(
        "dequantize_with_any_length",
        0x6767_7566_0008,
        FEW,
        |g| {
            let ty = match g.below(6) {
                0 => TensorType::F32,
                1 => TensorType::F16,
                2 => TensorType::Q4_0,
                3 => TensorType::Q4_1,
                4 => TensorType::Q8_0,
                _ => TensorType::Other(g.in_range(4, 39) as u32),
            };
            let bytes = g.bytes(299);
            let n = match g.below(5) {
                0 => g.below(400) as usize,
                1 => usize::MAX,
                2 => 1 << 62,
                3 => 1 << 61,
                _ => g.usize(),
            };
            (ty, bytes, n)
        },
        |(ty, bytes, n)| {
            let (result, largest) = largest_alloc(|| dequantize(*ty, bytes, *n));
            if let Ok(values) = result {
                assert_eq!(values.len(), *n);
            }
            assert!(largest <= alloc_budget(bytes.len()), "allocated {largest}");
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Specific malformations and the error each one gets.

#[test]
fn bad_magic() {
    let mut bytes = small_file().to_vec();
    bytes[..4].copy_from_slice(b"GGML");
    assert_eq!(Gguf::parse(&bytes).err(), Some(GgufError::BadMagic(*b"GGML")));
    assert_eq!(Gguf::parse(b"\x00\x00\x00\x00").err(), Some(GgufError::BadMagic([0; 4])));
    let msg = GgufError::BadMagic(*b"GGML").to_string();
    assert!(msg.starts_with("not a GGUF file"), "{msg}");
}

#[test]
fn unsupported_versions() {
    for version in [0u32, 1, 4, u32::MAX] {
        let mut bytes = small_file().to_vec();
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        assert_eq!(Gguf::parse(&bytes).err(), Some(GgufError::UnsupportedVersion(version)));
    }
    let mut bytes = small_file().to_vec();
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    assert!(Gguf::parse(&bytes).is_ok(), "version 2 has the same layout");
}

#[test]
fn q4_k_parses_but_does_not_dequantize() {
    // 256 f32 values take 1024 bytes; as Q4_K the same 256 elements need one 144-byte block,
    // which fits where the f32 data was.
    let data = [0.5f32; 256];
    let mut bytes = write_f32_gguf(&[], &[("blk.0.ffn_down.weight", vec![256], &data)]);
    let (ty, _) = tensor_fields(&bytes, "blk.0.ffn_down.weight");
    bytes[ty..ty + 4].copy_from_slice(&12u32.to_le_bytes());
    let g = Gguf::parse(&bytes).expect("a Q4_K tensor is indexed");
    assert_eq!(g.tensors()[0].ty, TensorType::Other(12));
    assert_eq!(g.tensor_bytes(&g.tensors()[0]).len(), 144);
    let err = g.dequantize("blk.0.ffn_down.weight").unwrap_err();
    assert_eq!(err, GgufError::UnsupportedType { ty: "Q4_K".into(), tensor: "blk.0.ffn_down.weight".into() });
    assert_eq!(err.to_string(), "unsupported tensor type Q4_K in tensor blk.0.ffn_down.weight");

    // A row that is not a whole number of Q4_K blocks is malformed, not merely unsupported.
    let mut bytes = write_f32_gguf(&[], &[("t", vec![100], &data[..100])]);
    let (ty, _) = tensor_fields(&bytes, "t");
    bytes[ty..ty + 4].copy_from_slice(&12u32.to_le_bytes());
    assert!(matches!(Gguf::parse(&bytes), Err(GgufError::BadTensor { .. })));

    // A type id no one knows cannot even be sized: refused at parse, naming the tensor.
    let mut bytes = write_f32_gguf(&[], &[("t", vec![256], &data)]);
    let (ty, _) = tensor_fields(&bytes, "t");
    bytes[ty..ty + 4].copy_from_slice(&1000u32.to_le_bytes());
    let err = Gguf::parse(&bytes).err().unwrap();
    assert_eq!(err.to_string(), "unsupported tensor type #1000 in tensor t");
}

#[test]
fn tensor_offsets_beyond_the_data() {
    for offset in [65u64, 1 << 20, u64::MAX - 3, u64::MAX] {
        let mut bytes = small_file().to_vec();
        let (_, off) = tensor_fields(&bytes, "b");
        bytes[off..off + 8].copy_from_slice(&offset.to_le_bytes());
        match Gguf::parse(&bytes) {
            Err(GgufError::TensorOutOfRange { name, offset: o, size, .. }) => {
                assert_eq!((name.as_str(), o, size), ("b", offset, 32));
            }
            other => panic!("offset {offset}: {:?}", other.map(|_| ())),
        }
    }
    // Dimensions whose product overflows are refused before any size is computed from them.
    let mut bytes = small_file().to_vec();
    let (ty, _) = tensor_fields(&bytes, "a");
    bytes[ty - 16..ty - 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(Gguf::parse(&bytes), Err(GgufError::BadTensor { .. })));
}

/// Each of these declares a count or length of u64::MAX with a few bytes after it.
#[test]
fn absurd_lengths_are_truncated_without_allocating() {
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();

    cases.push(("tensor count", header(u64::MAX, 0)));

    let mut b = header(0, u64::MAX);
    put_str(&mut b, "k");
    b.extend(4u32.to_le_bytes());
    b.extend(7u32.to_le_bytes());
    cases.push(("metadata count", b));

    let mut b = header(0, 1);
    b.extend(u64::MAX.to_le_bytes());
    b.extend(b"key");
    cases.push(("key length", b));

    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(8u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes());
    b.extend(b"value");
    cases.push(("string value length", b));

    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(9u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes());
    b.extend([1, 2, 3]);
    cases.push(("u8 array length", b));

    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(9u32.to_le_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend(2u64.to_le_bytes());
    put_str(&mut b, "ok");
    b.extend(u64::MAX.to_le_bytes());
    cases.push(("string length inside an array", b));

    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(9u32.to_le_bytes());
    b.extend(9u32.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend(10u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes());
    cases.push(("array length inside an array", b));

    let mut b = header(1, 0);
    b.extend(u64::MAX.to_le_bytes());
    b.extend(b"name");
    cases.push(("tensor name length", b));

    // Lengths that overflow when added to the read position.
    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(8u32.to_le_bytes());
    b.extend((u64::MAX - 10).to_le_bytes());
    cases.push(("string length near u64::MAX", b));

    for (what, bytes) in cases {
        let (result, largest) = largest_alloc(|| Gguf::parse(&bytes).map(|_| ()));
        assert!(matches!(result, Err(GgufError::Truncated { .. })), "{what}: {result:?}");
        assert!(largest < 4096, "{what}: allocated {largest} bytes");
    }
}

#[test]
fn deep_nesting_is_refused() {
    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(9u32.to_le_bytes());
    for _ in 0..100 {
        b.extend(9u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    assert_eq!(Gguf::parse(&b).err(), Some(GgufError::NestedTooDeep));
}

#[test]
fn other_typed_errors() {
    let mut b = header(0, 1);
    put_str(&mut b, "k");
    b.extend(13u32.to_le_bytes());
    assert_eq!(Gguf::parse(&b).err(), Some(GgufError::BadValueType(13)));

    let mut b = header(0, 1);
    b.extend(2u64.to_le_bytes());
    b.extend([0xff, 0xfe]);
    assert!(matches!(Gguf::parse(&b), Err(GgufError::BadString { .. })));

    // Zero and five dimensions.
    for n_dims in [0u32, 5] {
        let mut b = header(1, 0);
        put_str(&mut b, "t");
        b.extend(n_dims.to_le_bytes());
        b.extend([0u8; 64]);
        assert!(matches!(Gguf::parse(&b), Err(GgufError::BadTensor { .. })), "{n_dims}");
    }

    // An alignment that is not a power of two.
    let bytes = write_f32_gguf(&[("general.alignment", Value::U32(24))], &[("t", vec![8], &B)]);
    assert!(matches!(Gguf::parse(&bytes), Err(GgufError::BadMetadata { .. })));
}

#[test]
fn an_empty_file_is_truncated() {
    assert!(matches!(Gguf::parse(&[]), Err(GgufError::Truncated { needed: 4, have: 0 })));
}
