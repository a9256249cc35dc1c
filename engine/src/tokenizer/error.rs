use thiserror::Error;

/// Why a GGUF file's tokenizer cannot be used, each said in a way a user can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TokenizerError {
    #[error("tokenizer metadata key `{0}` is missing")]
    MissingKey(String),
    #[error("tokenizer metadata key `{key}` should be {want}")]
    BadKey { key: String, want: &'static str },
    #[error("unsupported tokenizer model `{0}` (only `gpt2` byte-level BPE is supported)")]
    UnsupportedModel(String),
    #[error("unsupported pre-tokenizer `{0}` (supported: smollm, starcoder, gpt-2)")]
    UnsupportedPreTokenizer(String),
    #[error("token {id} repeats the text of an earlier token: {text:?}")]
    DuplicateToken { id: u32, text: String },
    #[error("merge {rank} ({merge:?}) {why}")]
    BadMerge { rank: usize, merge: String, why: &'static str },
}
