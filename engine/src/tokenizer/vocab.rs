//! The token list read from GGUF metadata: each token's text, type and bytes.

use std::collections::HashMap;

use super::TokenizerError;
use super::bytes::char_to_byte;
use crate::gguf::Gguf;

const TOKENS: &str = "tokenizer.ggml.tokens";
const TOKEN_TYPES: &str = "tokenizer.ggml.token_type";

/// GGUF token types (`tokenizer.ggml.token_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
    /// Type 0, and any type this reader does not know, as llama.cpp reads them.
    Undefined,
}

impl Kind {
    fn from_gguf(ty: i64) -> Self {
        match ty {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => Self::Undefined,
        }
    }
}

pub(crate) struct Vocab {
    texts: Vec<String>,
    kinds: Vec<Kind>,
    ids: HashMap<String, u32>,
    /// Every token's bytes, back to back; token `i` ends at `byte_ends[i]`.
    bytes: Vec<u8>,
    byte_ends: Vec<usize>,
}

impl Vocab {
    pub(crate) fn from_gguf(g: &Gguf<'_>) -> Result<Self, TokenizerError> {
        let texts: Vec<String> = strings(g, TOKENS)?.into_iter().map(str::to_owned).collect();
        if u32::try_from(texts.len()).is_err() {
            return Err(TokenizerError::BadKey { key: TOKENS.into(), want: "fewer than 2^32 tokens" });
        }
        // Without types every token is normal, as llama.cpp has it.
        let kinds = match g.get(TOKEN_TYPES) {
            None => vec![Kind::Normal; texts.len()],
            Some(v) => {
                let bad = || TokenizerError::BadKey {
                    key: TOKEN_TYPES.into(),
                    want: "an array of integers with one entry per token",
                };
                let types = v.as_array().ok_or_else(bad)?;
                if types.len() < texts.len() {
                    return Err(bad());
                }
                types[..texts.len()]
                    .iter()
                    .map(|t| t.as_i64().map(Kind::from_gguf).ok_or_else(bad))
                    .collect::<Result<_, _>>()?
            }
        };
        let mut ids = HashMap::with_capacity(texts.len());
        for (id, text) in (0u32..).zip(&texts) {
            if ids.insert(text.clone(), id).is_some() {
                return Err(TokenizerError::DuplicateToken { id, text: text.clone() });
            }
        }
        let mut bytes = Vec::new();
        let mut byte_ends = Vec::with_capacity(texts.len());
        for (text, kind) in texts.iter().zip(&kinds) {
            render(text, *kind, &mut bytes);
            byte_ends.push(bytes.len());
        }
        Ok(Self { texts, kinds, ids, bytes, byte_ends })
    }

    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }

    pub(crate) fn id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    pub(crate) fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(String::as_str)
    }

    pub(crate) fn kind(&self, id: u32) -> Option<Kind> {
        self.kinds.get(id as usize).copied()
    }

    pub(crate) fn bytes(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        let end = *self.byte_ends.get(i)?;
        let start = i.checked_sub(1).map_or(0, |p| self.byte_ends[p]);
        Some(&self.bytes[start..end])
    }

    /// `(id, kind)` of every token.
    pub(crate) fn kinds(&self) -> impl Iterator<Item = (u32, Kind)> + '_ {
        (0u32..).zip(self.kinds.iter().copied())
    }
}

/// The bytes a token stands for when decoding, as llama.cpp renders them with special tokens shown.
fn render(text: &str, kind: Kind, out: &mut Vec<u8>) {
    match kind {
        Kind::Normal | Kind::Byte => {
            for c in text.chars() {
                match char_to_byte(c) {
                    Some(b) => out.push(b),
                    // Outside the byte alphabet only a malformed vocabulary has; kept as written
                    // rather than lost.
                    None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
        }
        Kind::Unknown | Kind::Control | Kind::UserDefined => out.extend_from_slice(text.as_bytes()),
        // llama.cpp prints nothing for these.
        Kind::Unused | Kind::Undefined => {}
    }
}

/// A metadata array of strings.
pub(crate) fn strings<'g>(g: &'g Gguf<'_>, key: &str) -> Result<Vec<&'g str>, TokenizerError> {
    let bad = || TokenizerError::BadKey { key: key.into(), want: "an array of strings" };
    required(g, key)?.as_array().ok_or_else(bad)?.iter().map(|v| v.as_str().ok_or_else(bad)).collect()
}

pub(crate) fn required<'g>(g: &'g Gguf<'_>, key: &str) -> Result<&'g crate::gguf::Value, TokenizerError> {
    g.get(key).ok_or_else(|| TokenizerError::MissingKey(key.into()))
}
