//! A GGUF with SmolLM2-135M-Instruct's exact shapes and tensor types (Q4_1 blocks, a Q8_0
//! tied embedding, F32 norms) and random weights, for measuring speed where the real file
//! cannot be copied (a lent GPU machine): throughput does not depend on the values.

use half::f16;
use tiller_engine::gguf::{RawTensor, TensorType, Value, write_gguf};

const N_EMBD: usize = 576;
const N_FF: usize = 1536;
const N_HEAD: usize = 9;
const N_HEAD_KV: usize = 3;
const N_LAYER: usize = 30;
const N_VOCAB: usize = 49152;
const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// xorshift64*, so the same seed writes the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Random blocks of `ty` for `n` elements, scaled so activations stay finite over 30 blocks.
fn blocks(ty: TensorType, n: usize, rng: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    for _ in 0..n / 32 {
        match ty {
            TensorType::Q4_1 => {
                b.extend(f16::from_f32(0.002).to_le_bytes());
                b.extend(f16::from_f32(-0.015).to_le_bytes());
                b.extend((0..16).map(|_| rng.next() as u8));
            }
            TensorType::Q8_0 => {
                b.extend(f16::from_f32(0.0005).to_le_bytes());
                b.extend((0..32).map(|_| rng.next() as u8));
            }
            _ => unreachable!("only the default model's matrix types"),
        }
    }
    b
}

/// The file's bytes. Tokens: the specials, the 256 byte tokens, then fillers up to 49152.
pub fn gguf(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut tokens: Vec<Value> = SPECIALS.iter().map(|s| Value::String(s.to_string())).collect();
    tokens.extend((0..=255u8).map(|b| Value::String(byte_char(b).to_string())));
    tokens.extend((tokens.len()..N_VOCAB).map(|i| Value::String(format!("<filler{i}>"))));
    let mut types = vec![Value::I32(3); SPECIALS.len()];
    types.resize(N_VOCAB, Value::I32(1));
    let u = |v: usize| Value::U32(v as u32);
    let metadata = vec![
        ("general.architecture", Value::String("llama".into())),
        ("general.name", Value::String("random weights, SmolLM2-135M shapes".into())),
        ("llama.block_count", u(N_LAYER)),
        ("llama.context_length", u(8192)),
        ("llama.embedding_length", u(N_EMBD)),
        ("llama.feed_forward_length", u(N_FF)),
        ("llama.attention.head_count", u(N_HEAD)),
        ("llama.attention.head_count_kv", u(N_HEAD_KV)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.rope.freq_base", Value::F32(100_000.0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens)),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.merges", Value::Array(Vec::new())),
        ("tokenizer.ggml.eos_token_id", u(2)),
    ];
    let kv = N_EMBD / N_HEAD * N_HEAD_KV;
    let ones: Vec<u8> = (0..N_EMBD).flat_map(|_| 1f32.to_le_bytes()).collect();
    let mut data: Vec<(String, Vec<u64>, TensorType, Vec<u8>)> = Vec::new();
    let mut add = |name: String, dims: [usize; 2], ty| {
        let bytes = blocks(ty, dims[0] * dims[1], &mut rng);
        data.push((name, dims.iter().map(|&d| d as u64).collect(), ty, bytes));
    };
    add("token_embd.weight".into(), [N_EMBD, N_VOCAB], TensorType::Q8_0);
    for l in 0..N_LAYER {
        let p = format!("blk.{l}");
        for (name, dims) in [
            ("attn_q", [N_EMBD, N_EMBD]),
            ("attn_k", [N_EMBD, kv]),
            ("attn_v", [N_EMBD, kv]),
            ("attn_output", [N_EMBD, N_EMBD]),
            ("ffn_gate", [N_EMBD, N_FF]),
            ("ffn_up", [N_EMBD, N_FF]),
            ("ffn_down", [N_FF, N_EMBD]),
        ] {
            add(format!("{p}.{name}.weight"), dims, TensorType::Q4_1);
        }
    }
    let mut norms: Vec<String> =
        (0..N_LAYER).flat_map(|l| [format!("blk.{l}.attn_norm.weight"), format!("blk.{l}.ffn_norm.weight")]).collect();
    norms.push("output_norm.weight".into());
    let mut tensors: Vec<RawTensor<'_>> = data
        .iter()
        .map(|(name, dims, ty, bytes)| RawTensor { name, dims: dims.clone(), ty: *ty, data: bytes })
        .collect();
    tensors.extend(norms.iter().map(|name| RawTensor {
        name,
        dims: vec![N_EMBD as u64],
        ty: TensorType::F32,
        data: &ones,
    }));
    write_gguf(&metadata, &tensors)
}

/// GPT-2's printable stand-in for each byte.
fn byte_char(b: u8) -> char {
    let printable = |x: u8| (b'!'..=b'~').contains(&x) || (0xa1..=0xac).contains(&x) || (0xae..=0xff).contains(&x);
    if printable(b) {
        return b as char;
    }
    let shifted = (0u8..=255).filter(|&x| !printable(x)).position(|x| x == b).expect("a byte");
    char::from_u32(256 + shifted as u32).expect("a char")
}
