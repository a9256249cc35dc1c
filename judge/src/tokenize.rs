//! Penn Treebank-style tokenization, because the Brill tagger's lexicon and rules were trained on Penn
//! Treebank tokens: punctuation stands alone, and contractions split into the stem and the clitic
//! ("don't" → "do" "n't", "can't" → "ca" "n't", "I'm" → "I" "'m", "John's" → "John" "'s").
//!
//! Not the full Penn sed script: no splitting of "gonna" into "gon" "na" (the lexicon knows "gonna"),
//! quotes stay `"` rather than becoming `` and '', and periods stay on a short list of abbreviations and
//! on dotted initials ("U.S.", "e.g."), so "etc." at the end of a sentence keeps its period.

use crate::text::straighten_quotes;

/// Clitics split off the end of a word. "n't" is handled first, since it takes the letter before the
/// apostrophe with it.
const CLITICS: [&str; 6] = ["'s", "'m", "'re", "'ve", "'ll", "'d"];

/// Peeled off the front of a word as tokens of their own.
const OPENERS: [char; 8] = ['"', '\'', '(', '[', '{', '<', '`', '$'];

/// Peeled off the end of a word (periods are decided separately).
const CLOSERS: [char; 13] = ['"', '\'', ')', ']', '}', '>', ',', ';', ':', '!', '?', '%', '*'];

/// Words that keep their period. Lowercase, without the period.
const ABBREVIATIONS: [&str; 16] =
    ["mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "approx"];

/// The tokens of `text`, sentence after sentence.
pub fn tokenize(text: &str) -> Vec<String> {
    sentences(text).into_iter().flatten().collect()
}

/// Tokens grouped into sentences: a line break, or a token of only `.`, `!` and `?`, ends one.
pub fn sentences(text: &str) -> Vec<Vec<String>> {
    let text = straighten_quotes(text).replace('\u{2026}', "...");
    let mut out = Vec::new();
    for line in text.lines() {
        let mut sentence = Vec::new();
        for chunk in line.split_whitespace() {
            for token in split_chunk(chunk) {
                let ends = token.chars().all(|c| matches!(c, '.' | '!' | '?'));
                sentence.push(token);
                if ends {
                    out.push(std::mem::take(&mut sentence));
                }
            }
        }
        if !sentence.is_empty() {
            out.push(sentence);
        }
    }
    out
}

/// One whitespace-separated chunk. Symbols outside ASCII punctuation (emoji, dashes, bullets) stand alone
/// first, then each remaining piece loses its opening and closing punctuation and its clitics.
fn split_chunk(chunk: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    for c in chunk.chars() {
        if c.is_alphanumeric() || c.is_ascii_punctuation() {
            piece.push(c);
        } else {
            split_piece(&std::mem::take(&mut piece), &mut out);
            out.push(c.to_string());
        }
    }
    split_piece(&piece, &mut out);
    out
}

fn split_piece(mut s: &str, out: &mut Vec<String>) {
    // A clitic written on its own ("John 's") is already a token.
    while let Some(c) = s.chars().next().filter(|c| OPENERS.contains(c)) {
        if c == '\'' && CLITICS.iter().chain(&["'em"]).any(|k| s.eq_ignore_ascii_case(k)) {
            break;
        }
        out.push(c.to_string());
        s = &s[c.len_utf8()..];
    }
    let mut tail = Vec::new();
    loop {
        // A run of stops ("?!", "...") is one token; a piece of nothing else is a token as it is.
        let stops = s.len() - s.trim_end_matches(['.', '!', '?']).len();
        if stops == s.len() {
            break;
        }
        let cut = match (stops, s.chars().last()) {
            (1, Some('.')) if keeps_period(s) => break,
            (0, Some(c)) if CLOSERS.contains(&c) => c.len_utf8(),
            (0, _) => break,
            (n, _) => n,
        };
        tail.push(s[s.len() - cut..].to_string());
        s = &s[..s.len() - cut];
    }
    if !s.is_empty() {
        split_clitics(s, out);
    }
    out.extend(tail.into_iter().rev());
}

/// "U.S.", "e.g.", and the listed abbreviations keep their period; everything else gives it up.
fn keeps_period(s: &str) -> bool {
    let stem = &s[..s.len() - 1];
    if ABBREVIATIONS.iter().any(|a| stem.eq_ignore_ascii_case(a)) {
        return true;
    }
    let parts: Vec<&str> = stem.split('.').collect();
    parts.len() >= 2 && parts.iter().all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic))
}

fn split_clitics(s: &str, out: &mut Vec<String>) {
    let lower = s.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII, so only ASCII words are split.
    if s.is_ascii() {
        if lower.ends_with("n't") && s.len() > 3 {
            out.push(s[..s.len() - 3].to_string());
            out.push(s[s.len() - 3..].to_string());
            return;
        }
        if let Some(k) = CLITICS.iter().find(|k| lower.ends_with(*k) && s.len() > k.len()) {
            out.push(s[..s.len() - k.len()].to_string());
            out.push(s[s.len() - k.len()..].to_string());
            return;
        }
    }
    out.push(s.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn contractions_split_penn_style() {
        assert_eq!(toks("I don't know."), ["I", "do", "n't", "know", "."]);
        assert_eq!(
            toks("I'm sure you're right, aren't you?"),
            ["I", "'m", "sure", "you", "'re", "right", ",", "are", "n't", "you", "?"]
        );
        assert_eq!(
            toks("We can't, won't; it's John's."),
            ["We", "ca", "n't", ",", "wo", "n't", ";", "it", "'s", "John", "'s", "."]
        );
        assert_eq!(toks("I\u{2019}ve y'all"), ["I", "'ve", "y'all"]);
    }

    #[test]
    fn punctuation_stands_alone_but_abbreviations_and_numbers_hold() {
        assert_eq!(
            toks("(Really?!) \"Yes\" -- Mr. Smith of the U.S. paid $3.50, e.g. 20%..."),
            [
                "(", "Really", "?!", ")", "\"", "Yes", "\"", "--", "Mr.", "Smith", "of", "the", "U.S.", "paid", "$",
                "3.50", ",", "e.g.", "20", "%", "..."
            ]
        );
    }

    #[test]
    fn sentences_split_at_stops_and_lines() {
        let got = sentences("Hi. How are you?\nFine \u{1F642}");
        assert_eq!(got, vec![vec!["Hi", "."], vec!["How", "are", "you", "?"], vec!["Fine", "\u{1F642}"]]);
    }
}
