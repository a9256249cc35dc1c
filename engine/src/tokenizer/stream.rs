//! Incremental detokenization for text that is shown while it is generated.

use super::Tokenizer;

/// Turns token ids into text one at a time. A character's bytes can be spread over several
/// tokens (CJK, emoji), so the bytes of an unfinished character are held back until a later token
/// completes it; what is returned over all pushes plus [`StreamDecoder::flush`] equals
/// [`Tokenizer::decode`] of all the ids.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The text that `id` completes. Ids outside the vocabulary add nothing, as in `decode`.
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> String {
        if let Some(bytes) = tok.vocab.bytes(id) {
            self.pending.extend_from_slice(bytes);
        }
        let mut out = String::new();
        let mut held = 0;
        let mut chunks = self.pending.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            out.push_str(chunk.valid());
            let bad = chunk.invalid();
            if bad.is_empty() {
                continue;
            }
            // Only a sequence cut short by the end of what we have can still become valid;
            // anything else is replaced now, exactly as a lossy decode of the whole would.
            let unfinished =
                chunks.peek().is_none() && std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none());
            if unfinished {
                held = bad.len();
            } else {
                out.push(char::REPLACEMENT_CHARACTER);
            }
        }
        self.pending.drain(..self.pending.len() - held);
        out
    }

    /// Whatever is held back, replaced as a lossy decode would; the decoder is then empty.
    pub fn flush(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}
