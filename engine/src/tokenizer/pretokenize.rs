//! Splitting raw text into the words that BPE runs on, the way llama.cpp does.
//!
//! The GPT-2 pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//! needs a lookahead that the `regex` crate lacks, so it is scanned by hand, mirroring
//! llama.cpp's `unicode_regex_split_custom_gpt2`.

use std::sync::LazyLock;

use regex::Regex;

/// How a vocabulary wants its text split (GGUF `tokenizer.ggml.pre`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PreTokenizer {
    /// The GPT-2 pattern alone.
    Gpt2,
    /// Every `\p{N}` character on its own first, then the GPT-2 pattern within each piece.
    DigitsThenGpt2,
}

impl PreTokenizer {
    /// The names llama.cpp gives these two splitting schemes.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "gpt-2" => Some(Self::Gpt2),
            "smollm" | "starcoder" => Some(Self::DigitsThenGpt2),
            _ => None,
        }
    }

    /// Cut `text` into words; their concatenation is `text`.
    pub(crate) fn split(self, text: &str) -> Vec<&str> {
        let chars = classify(text);
        let mut words = Vec::new();
        match self {
            Self::Gpt2 => gpt2(text, &chars, &mut words),
            Self::DigitsThenGpt2 => {
                let mut start = 0;
                for (i, c) in chars.iter().enumerate() {
                    if c.class == Class::Number {
                        gpt2(text, &chars[start..i], &mut words);
                        gpt2(text, &chars[i..i + 1], &mut words);
                        start = i + 1;
                    }
                }
                gpt2(text, &chars[start..], &mut words);
            }
        }
        words
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Char {
    at: usize,
    c: char,
    class: Class,
}

/// `\p{L}` is a general category that std has no query for (`is_alphabetic` is the wider
/// Alphabetic property, which takes in the combining vowel signs of Indic scripts); the other
/// classes are std's: `is_numeric` is exactly `\p{N}` and `is_whitespace` is White_Space, as `\s` is.
static LETTERS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\p{L}+").expect("a constant pattern compiles"));

fn classify(text: &str) -> Vec<Char> {
    let mut letter_runs = LETTERS.find_iter(text).peekable();
    text.char_indices()
        .map(|(at, c)| {
            while letter_runs.next_if(|m| m.end() <= at).is_some() {}
            let class = if letter_runs.peek().is_some_and(|m| m.start() <= at) {
                Class::Letter
            } else if c.is_numeric() {
                Class::Number
            } else if c.is_whitespace() {
                Class::Space
            } else {
                Class::Other
            };
            Char { at, c, class }
        })
        .collect()
}

/// The GPT-2 pattern over one piece; the piece's end counts as the end of the text, so `(?!\S)`
/// holds there.
fn gpt2<'t>(text: &'t str, chars: &[Char], words: &mut Vec<&'t str>) {
    let class = |i: usize| chars.get(i).map(|c| c.class);
    let byte_at = |i: usize| chars.get(i).map_or_else(|| chars.last().map_or(0, |c| c.at + c.c.len_utf8()), |c| c.at);
    let mut pos = 0;
    while pos < chars.len() {
        let c = chars[pos].c;
        let next = |k: usize| chars.get(pos + k).map(|c| c.c);
        let end = match (c, next(1), next(2)) {
            ('\'', Some('s' | 't' | 'm' | 'd'), _) => pos + 2,
            ('\'', Some('r'), Some('e')) | ('\'', Some('v'), Some('e')) | ('\'', Some('l'), Some('l')) => pos + 3,
            _ => {
                // ` ?X+`: a space is taken along when the run it leads is not whitespace.
                let lead = if c == ' ' { class(pos + 1) } else { class(pos) };
                match lead {
                    Some(run @ (Class::Letter | Class::Number | Class::Other)) => {
                        let mut end = pos + usize::from(c == ' ');
                        while class(end) == Some(run) {
                            end += 1;
                        }
                        end
                    }
                    _ => {
                        let mut end = pos;
                        while class(end) == Some(Class::Space) {
                            end += 1;
                        }
                        // `\s+(?!\S)` leaves the last space of a run to lead the word after it.
                        if end - pos > 1 && end < chars.len() { end - 1 } else { end }
                    }
                }
            }
        };
        words.push(&text[byte_at(pos)..byte_at(end)]);
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm(text: &str) -> Vec<&str> {
        PreTokenizer::DigitsThenGpt2.split(text)
    }

    #[test]
    fn digits_stand_alone() {
        assert_eq!(smollm(" 2024"), [" ", "2", "0", "2", "4"]);
        assert_eq!(smollm("pi=3.14"), ["pi", "=", "3", ".", "1", "4"]);
        assert_eq!(smollm("1,000"), ["1", ",", "0", "0", "0"]);
        assert_eq!(PreTokenizer::Gpt2.split(" 2024 x1"), [" 2024", " x", "1"]);
    }

    #[test]
    fn words_take_one_leading_space() {
        assert_eq!(smollm("Hello world"), ["Hello", " world"]);
        assert_eq!(smollm("Hello  world   "), ["Hello", " ", " world", "   "]);
        assert_eq!(smollm(" (x)"), [" (", "x", ")"]);
    }

    #[test]
    fn whitespace_runs() {
        assert_eq!(smollm("a\n\n\nb\n"), ["a", "\n\n", "\n", "b", "\n"]);
        assert_eq!(smollm("\n\n\t  indented"), ["\n\n\t ", " indented"]);
        assert_eq!(smollm("\tx"), ["\t", "x"]);
        assert_eq!(smollm("   "), ["   "]);
        assert_eq!(smollm("x \r\n"), ["x", " \r\n"]);
        // A space before a digit is left alone by the digit split, so it is the piece's end.
        assert_eq!(smollm("a  1"), ["a", "  ", "1"]);
    }

    #[test]
    fn contractions_are_lowercase_only() {
        assert_eq!(smollm("I'm"), ["I", "'m"]);
        assert_eq!(smollm("I'M"), ["I", "'", "M"]);
        assert_eq!(smollm("they'll"), ["they", "'ll"]);
        assert_eq!(smollm("we're'"), ["we", "'re", "'"]);
        assert_eq!(smollm("'"), ["'"]);
    }

    #[test]
    fn unicode_classes() {
        // Devanagari vowel signs are marks, not letters, so they split the word.
        assert_eq!(smollm("नमस्ते"), ["नमस", "्", "त", "े"]);
        assert_eq!(smollm("東京タワー"), ["東京タワー"]);
        assert_eq!(smollm("café ½"), ["café", " ", "½"]);
        assert_eq!(smollm("a\u{3000}b"), ["a", "\u{3000}", "b"]);
        assert_eq!(smollm("🙂👍🏽!"), ["🙂👍🏽!"]);
    }

    #[test]
    fn empty() {
        assert!(smollm("").is_empty());
    }
}
