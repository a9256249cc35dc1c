//! The GGUF vocabulary's tokenizer: byte-level BPE as in GPT-2, producing exactly the ids
//! llama.cpp produces for the same text.
//!
//! Encoding cuts special tokens out first, splits the rest into words (the `pretokenize` module),
//! spells each word as one symbol per byte and merges symbols by merge rank.

mod bpe;
mod bytes;
mod error;
mod pretokenize;
mod special;
mod stream;
mod vocab;

pub use error::TokenizerError;
pub use stream::StreamDecoder;

use bpe::Merges;
use bytes::byte_to_char;
use pretokenize::PreTokenizer;
use special::{Piece, Specials};
use vocab::{Kind, Vocab, strings};

use crate::gguf::Gguf;

const MODEL: &str = "tokenizer.ggml.model";
const PRE: &str = "tokenizer.ggml.pre";
const MERGES: &str = "tokenizer.ggml.merges";

pub struct Tokenizer {
    vocab: Vocab,
    /// The token for each byte on its own: where every word starts before merging. A byte
    /// without one is dropped from the output, as llama.cpp drops it. SmolLM2 lacks 21: the ASCII
    /// controls 04, 06, 13, 14, 16 and 1D, and C0, C1, F1, F2, F5-FF, which UTF-8 uses never or
    /// only for the unassigned planes 4-11.
    byte_ids: [Option<u32>; 256],
    merges: Merges,
    specials: Specials,
    pre: PreTokenizer,
}

impl Tokenizer {
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, TokenizerError> {
        let model = metadata_str(g, MODEL)?;
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(model.into()));
        }
        let pre_name = metadata_str(g, PRE)?;
        let pre = PreTokenizer::from_name(pre_name)
            .ok_or_else(|| TokenizerError::UnsupportedPreTokenizer(pre_name.into()))?;
        let vocab = Vocab::from_gguf(g)?;

        let byte_ids = std::array::from_fn(|b| vocab.id(byte_to_char(b as u8).encode_utf8(&mut [0; 4])));

        let merges = strings(g, MERGES)?
            .into_iter()
            .enumerate()
            .map(|(rank, merge)| parse_merge(&vocab, rank, merge))
            .collect::<Result<Vec<_>, _>>()?;
        let merges = Merges::new(merges);

        let specials = Specials::new(vocab.kinds().filter_map(|(id, kind)| {
            let always = match kind {
                Kind::Control | Kind::Unknown => false,
                Kind::UserDefined => true,
                _ => return None,
            };
            Some((id, vocab.text(id)?.to_owned(), always))
        }));

        Ok(Self { vocab, byte_ids, merges, specials, pre })
    }

    /// The ids for `text`. With `parse_special`, the text of a control token becomes that token;
    /// without, it is ordinary text. No BOS is added. Characters made of bytes that have no
    /// token (see `byte_ids`) are left out.
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut ids = Vec::new();
        for piece in self.specials.partition(text, parse_special) {
            match piece {
                Piece::Special(id) => ids.push(id),
                Piece::Text(t) => {
                    for word in self.pre.split(t) {
                        self.merges.apply(word.bytes().map(|b| self.byte_ids[b as usize]), &mut ids);
                    }
                }
            }
        }
        ids
    }

    /// The text of `ids`, control tokens written out; bytes that are not UTF-8 become U+FFFD.
    /// Ids outside the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().filter_map(|&id| self.vocab.bytes(id)).flatten().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes `id` stands for (a control token's are its text).
    pub fn token_bytes(&self, id: u32) -> Option<Vec<u8>> {
        self.vocab.bytes(id).map(<[u8]>::to_vec)
    }

    /// The token's text as the vocabulary stores it (`Ġ` for a leading space, and so on).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.text(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The token whose stored text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id(text)
    }

    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.kind(id) == Some(Kind::Control)
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tables run to tens of thousands of entries; a summary is what a log wants.
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab.len())
            .field("pre", &self.pre)
            .finish_non_exhaustive()
    }
}

fn metadata_str<'g>(g: &'g Gguf<'_>, key: &str) -> Result<&'g str, TokenizerError> {
    vocab::required(g, key)?.as_str().ok_or_else(|| TokenizerError::BadKey { key: key.into(), want: "a string" })
}

/// `"left right"` as `(left, right, joined)` ids. The halves are split at the first space after
/// the first byte, as llama.cpp does. Every part must be a token, which any byte-level BPE
/// vocabulary satisfies; refusing others keeps every symbol during merging a real token.
fn parse_merge(vocab: &Vocab, rank: usize, merge: &str) -> Result<(u32, u32, u32), TokenizerError> {
    let bad = |why| TokenizerError::BadMerge { rank, merge: merge.into(), why };
    let space =
        merge.bytes().skip(1).position(|b| b == b' ').ok_or_else(|| bad("has no space between its halves"))? + 1;
    let (left, right) = (&merge[..space], &merge[space + 1..]);
    let id = |text: &str| vocab.id(text).ok_or_else(|| bad("names a token that is not in the vocabulary"));
    Ok((id(left)?, id(right)?, id(&format!("{left}{right}"))?))
}
