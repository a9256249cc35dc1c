use thiserror::Error;

/// Everything that can be wrong with a GGUF file, each said in a way a user can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GgufError {
    #[error("not a GGUF file (magic bytes {0:02x?}, expected \"GGUF\")")]
    BadMagic([u8; 4]),
    #[error("unsupported GGUF version {0} (this reader handles versions 2 and 3)")]
    UnsupportedVersion(u32),
    #[error("the file is truncated: {needed} bytes needed but it has {have}")]
    Truncated { needed: u64, have: u64 },
    #[error("invalid UTF-8 in a string near byte {at}")]
    BadString { at: u64 },
    #[error("unknown metadata value type {0}")]
    BadValueType(u32),
    #[error("metadata arrays nest too deeply")]
    NestedTooDeep,
    #[error("metadata key `{0}` is missing")]
    MissingKey(String),
    #[error("metadata key `{key}` should be {want}")]
    BadMetadata { key: String, want: &'static str },
    #[error("tensor `{0}` is missing")]
    MissingTensor(String),
    #[error("tensor `{name}` is malformed: {why}")]
    BadTensor { name: String, why: String },
    #[error("unsupported tensor type {ty} in tensor {tensor}")]
    UnsupportedType { ty: String, tensor: String },
    #[error("tensor `{name}` ({size} bytes at offset {offset}) lies outside the {data_len}-byte data section")]
    TensorOutOfRange { name: String, offset: u64, size: u64, data_len: u64 },
    #[error("unsupported architecture `{0}` (Tiller runs llama-architecture models)")]
    UnsupportedArchitecture(String),
}

impl GgufError {
    /// Name the tensor in an error that was raised without knowing it.
    pub(crate) fn in_tensor(self, name: &str) -> Self {
        match self {
            Self::UnsupportedType { ty, .. } => Self::UnsupportedType { ty, tensor: name.into() },
            Self::BadTensor { why, .. } => Self::BadTensor { name: name.into(), why },
            other => other,
        }
    }
}
