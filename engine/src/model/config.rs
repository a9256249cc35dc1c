use crate::gguf::{Gguf, GgufError};

/// Sizes of a llama-architecture model, read from GGUF metadata (never hard-coded).
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ff: usize,
    /// Dimensions per head that RoPE rotates (the rest pass through unchanged).
    pub n_rot: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    /// The context length the model was trained for.
    pub n_ctx_train: usize,
}

impl LlamaConfig {
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, GgufError> {
        let arch = g.require_str("general.architecture")?;
        if arch != "llama" {
            return Err(GgufError::UnsupportedArchitecture(arch.to_string()));
        }
        let n = |key: &str| g.require_u64(&format!("llama.{key}")).map(|v| v as usize);
        let n_embd = n("embedding_length")?;
        let n_head = n("attention.head_count")?;
        let n_head_kv = match g.get("llama.attention.head_count_kv") {
            Some(_) => n("attention.head_count_kv")?,
            None => n_head,
        };
        let tokens = g.require("tokenizer.ggml.tokens")?.as_array().map(<[_]>::len);
        let n_vocab = match g.get("llama.vocab_size") {
            Some(_) => n("vocab_size")?,
            None => tokens
                .ok_or_else(|| GgufError::BadMetadata { key: "tokenizer.ggml.tokens".into(), want: "an array" })?,
        };
        let head_dim = n_embd.checked_div(n_head).unwrap_or(0);
        let n_rot = match g.get("llama.rope.dimension_count") {
            Some(_) => n("rope.dimension_count")?,
            None => head_dim,
        };
        let rope_base = match g.get("llama.rope.freq_base") {
            Some(_) => g.require_f32("llama.rope.freq_base")?,
            None => 10_000.0,
        };
        let config = Self {
            n_vocab,
            n_embd,
            n_layer: n("block_count")?,
            n_head,
            n_head_kv,
            n_ff: n("feed_forward_length")?,
            n_rot,
            rope_base,
            rms_eps: g.require_f32("llama.attention.layer_norm_rms_epsilon")?,
            n_ctx_train: n("context_length")?,
        };
        config.check()?;
        Ok(config)
    }

    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Query heads that share one key/value head.
    pub fn group_size(&self) -> usize {
        self.n_head / self.n_head_kv
    }

    fn check(&self) -> Result<(), GgufError> {
        let bad = |key: &str, want: &'static str| GgufError::BadMetadata { key: format!("llama.{key}"), want };
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            return Err(bad("attention.head_count", "a non-zero divisor of embedding_length"));
        }
        if self.n_head_kv == 0 || !self.n_head.is_multiple_of(self.n_head_kv) {
            return Err(bad("attention.head_count_kv", "a non-zero divisor of head_count"));
        }
        if self.n_rot > self.head_dim() || !self.n_rot.is_multiple_of(2) {
            return Err(bad("rope.dimension_count", "an even number no larger than the head size"));
        }
        if self.n_layer == 0 || self.n_vocab == 0 || self.n_ff == 0 {
            return Err(bad("block_count", "non-zero sizes"));
        }
        Ok(())
    }
}
