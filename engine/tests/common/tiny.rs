//! A tiny llama with random weights, written as a GGUF in memory: the real loading code runs on
//! it, in a second natively and in a browser, where the 98 MB model is out of reach.

use tiller_engine::gguf::{Value, write_f32_gguf};
use tiller_engine::sample::Rng;

pub const N_EMBD: usize = 32;
pub const N_HEAD: usize = 4;
pub const N_HEAD_KV: usize = 2;
pub const N_LAYER: usize = 3;
pub const N_FF: usize = 64;
pub const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
/// 256 byte tokens after the specials, and one merge ("h" + "e").
pub const N_VOCAB: usize = SPECIALS.len() + 256 + 1;
/// The seed of the model every test uses, and of tests/e2e/fixtures/tiny.gguf.
pub const SEED: u64 = 7;

/// GPT-2's printable stand-in for each byte.
fn byte_char(b: u8) -> char {
    let printable = (b'!'..=b'~').contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
    if printable {
        return b as char;
    }
    let shifted = (0u8..=255)
        .filter(|&x| !((b'!'..=b'~').contains(&x) || (0xa1..=0xac).contains(&x) || (0xae..=0xff).contains(&x)))
        .position(|x| x == b)
        .unwrap();
    char::from_u32(256 + shifted as u32).unwrap()
}

fn random(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * scale).collect()
}

/// The GGUF bytes of the tiny model; the same seed gives the same model.
pub fn gguf(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut tokens: Vec<Value> = SPECIALS.iter().map(|s| Value::String(s.to_string())).collect();
    tokens.extend((0..=255u8).map(|b| Value::String(byte_char(b).to_string())));
    tokens.push(Value::String("he".into()));
    let mut types = vec![Value::I32(3); SPECIALS.len()];
    types.extend(std::iter::repeat_n(Value::I32(1), 257));
    let u = |v: usize| Value::U32(v as u32);
    let metadata = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.block_count", u(N_LAYER)),
        ("llama.context_length", u(64)),
        ("llama.embedding_length", u(N_EMBD)),
        ("llama.feed_forward_length", u(N_FF)),
        ("llama.attention.head_count", u(N_HEAD)),
        ("llama.attention.head_count_kv", u(N_HEAD_KV)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.rope.freq_base", Value::F32(10_000.0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("smollm".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens)),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.merges", Value::Array(vec![Value::String("h e".into())])),
        ("tokenizer.ggml.eos_token_id", u(2)),
    ];

    let kv = N_EMBD / N_HEAD * N_HEAD_KV;
    let mut tensors: Vec<(String, Vec<u64>, Vec<f32>)> = Vec::new();
    let mut add = |name: String, dims: Vec<usize>, data: Vec<f32>| {
        tensors.push((name, dims.iter().map(|&d| d as u64).collect(), data));
    };
    add("token_embd.weight".into(), vec![N_EMBD, N_VOCAB], random(&mut rng, N_EMBD * N_VOCAB, 1.0));
    for l in 0..N_LAYER {
        let p = format!("blk.{l}");
        let w = 1.0 / (N_EMBD as f32).sqrt();
        add(
            format!("{p}.attn_norm.weight"),
            vec![N_EMBD],
            random(&mut rng, N_EMBD, 0.5).iter().map(|x| 1.0 + x).collect(),
        );
        add(format!("{p}.attn_q.weight"), vec![N_EMBD, N_EMBD], random(&mut rng, N_EMBD * N_EMBD, w));
        add(format!("{p}.attn_k.weight"), vec![N_EMBD, kv], random(&mut rng, N_EMBD * kv, w));
        add(format!("{p}.attn_v.weight"), vec![N_EMBD, kv], random(&mut rng, N_EMBD * kv, w));
        add(format!("{p}.attn_output.weight"), vec![N_EMBD, N_EMBD], random(&mut rng, N_EMBD * N_EMBD, w));
        add(
            format!("{p}.ffn_norm.weight"),
            vec![N_EMBD],
            random(&mut rng, N_EMBD, 0.5).iter().map(|x| 1.0 + x).collect(),
        );
        add(format!("{p}.ffn_gate.weight"), vec![N_EMBD, N_FF], random(&mut rng, N_EMBD * N_FF, w));
        add(format!("{p}.ffn_up.weight"), vec![N_EMBD, N_FF], random(&mut rng, N_EMBD * N_FF, w));
        add(
            format!("{p}.ffn_down.weight"),
            vec![N_FF, N_EMBD],
            random(&mut rng, N_FF * N_EMBD, 1.0 / (N_FF as f32).sqrt()),
        );
    }
    add("output_norm.weight".into(), vec![N_EMBD], vec![1.0; N_EMBD]);
    let refs: Vec<(&str, Vec<u64>, &[f32])> =
        tensors.iter().map(|(n, d, v)| (n.as_str(), d.clone(), v.as_slice())).collect();
    write_f32_gguf(&metadata, &refs)
}

use burn::tensor::Device;
use tiller_engine::gguf::Gguf;
use tiller_engine::load::LoadedModel;
use tiller_engine::model::{Capture, Logits, read_f32};
use tiller_engine::steer::{ControlVector, Steering};

pub const PROMPT: &str = "<|im_start|>user\nhello there<|im_end|>\n";

pub fn load(device: &Device) -> LoadedModel {
    LoadedModel::from_bytes(gguf(SEED), device).expect("the tiny model loads")
}

/// Logits at every position of `PROMPT`, [seq · n_vocab].
pub async fn all_logits(m: &LoadedModel, steering: &mut Steering) -> Vec<f32> {
    let ids = m.tokenizer.encode(PROMPT, true);
    let mut cache = m.model.new_cache();
    let t = m.model.forward(&ids, &mut cache, steering, Logits::All).expect("forward");
    read_f32(t).await.expect("readback")
}

/// The largest difference between two devices' logits on the tiny model (prefill, then the same
/// tokens one at a time through the KV cache, which must agree with the batched run).
pub async fn backends_differ_by(a: &Device, b: &Device) -> f32 {
    let (ma, mb) = (load(a), load(b));
    let la = all_logits(&ma, &mut Steering::none()).await;
    let lb = all_logits(&mb, &mut Steering::none()).await;
    let mut worst = la.iter().zip(&lb).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);

    let ids = mb.tokenizer.encode(PROMPT, true);
    let mut cache = mb.model.new_cache();
    let n_vocab = mb.model.config.n_vocab;
    for (pos, &id) in ids.iter().enumerate() {
        let t = mb.model.forward(&[id], &mut cache, &mut Steering::none(), Logits::Last).unwrap();
        let step = read_f32(t).await.unwrap();
        let batched = &la[pos * n_vocab..(pos + 1) * n_vocab];
        worst = worst.max(step.iter().zip(batched).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max));
    }
    worst
}

/// Steering with a vector on block 1 only: block 0's output is untouched, block 1's output moves
/// by exactly scale · v at every position. Returns the largest error against that.
pub async fn steering_error(device: &Device) -> f32 {
    let m = load(device);
    let v: Vec<f32> = (0..N_EMBD).map(|i| (i as f32 - 16.0) / 8.0).collect();
    let bytes = ControlVector { n_embd: N_EMBD, directions: [(1, v.clone())].into() }.to_gguf("llama");
    let cv = ControlVector::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap();
    let scale = 2.5;
    let steering = Steering::new(&[(&cv, scale)], Some((1, 1)), N_LAYER, N_EMBD, device).unwrap();

    let ids = m.tokenizer.encode(PROMPT, true);
    let run = |steer: Steering| {
        let mut hook = (steer, Capture::default());
        let mut cache = m.model.new_cache();
        m.model.forward(&ids, &mut cache, &mut hook, Logits::Last).unwrap();
        hook.1.outputs
    };
    let (plain, steered) = (run(Steering::none()), run(steering));
    let mut err = 0f32;
    for layer in 0..2 {
        let a = read_f32(plain[layer].1.clone()).await.unwrap();
        let b = read_f32(steered[layer].1.clone()).await.unwrap();
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let want = if layer == 1 { scale * v[i % N_EMBD] } else { 0.0 };
            err = err.max((y - x - want).abs());
        }
    }
    err
}
