//! Cutting special tokens out of text before pre-tokenization.

/// A piece of the input: raw text still to be tokenized, or a special token already found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'t> {
    Text(&'t str),
    Special(u32),
}

/// The tokens that are matched as whole strings ahead of BPE.
pub(crate) struct Specials {
    /// Longest text first. Each token is cut out of all remaining text before the next is tried,
    /// as llama.cpp does, so a longer token wins over any shorter one it contains.
    tokens: Vec<Special>,
}

struct Special {
    text: String,
    id: u32,
    /// Control and unknown tokens are only matched when asked to parse special tokens;
    /// user-defined ones always are (llama.cpp follows Hugging Face tokenizers here).
    always: bool,
}

impl Specials {
    /// `(id, text, always)` for each special token. Empty texts are dropped: they would match
    /// everywhere without consuming anything.
    pub(crate) fn new(tokens: impl IntoIterator<Item = (u32, String, bool)>) -> Self {
        let mut tokens: Vec<Special> = tokens
            .into_iter()
            .filter(|(_, text, _)| !text.is_empty())
            .map(|(id, text, always)| Special { text, id, always })
            .collect();
        // Stable, so equal lengths stay in id order.
        tokens.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
        Self { tokens }
    }

    pub(crate) fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Piece<'t>> {
        let mut pieces = if text.is_empty() { Vec::new() } else { vec![Piece::Text(text)] };
        for special in self.tokens.iter().filter(|s| parse_special || s.always) {
            let mut cut = Vec::with_capacity(pieces.len() + 2);
            for piece in pieces {
                let Piece::Text(t) = piece else {
                    cut.push(piece);
                    continue;
                };
                let mut rest = t;
                while let Some(at) = rest.find(&special.text) {
                    if at > 0 {
                        cut.push(Piece::Text(&rest[..at]));
                    }
                    cut.push(Piece::Special(special.id));
                    rest = &rest[at + special.text.len()..];
                }
                if !rest.is_empty() {
                    cut.push(Piece::Text(rest));
                }
            }
            pieces = cut;
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::{Special as S, Text as T};

    fn specials() -> Specials {
        Specials::new([
            (0, "<a>".to_string(), false),
            (1, "<a><b>".to_string(), false),
            (2, "<u>".to_string(), true),
            (3, String::new(), false),
        ])
    }

    #[test]
    fn longest_first() {
        let s = specials();
        assert_eq!(s.partition("x<a><b>y<a>", true), [T("x"), S(1), T("y"), S(0)]);
        assert_eq!(s.partition("<a><a>", true), [S(0), S(0)]);
    }

    #[test]
    fn without_parse_special_only_user_defined() {
        let s = specials();
        assert_eq!(s.partition("x<a>y<u>", false), [T("x<a>y"), S(2)]);
    }

    #[test]
    fn empty_text() {
        assert!(specials().partition("", true).is_empty());
    }
}
