//! Small text helpers shared by the judges that read sentences rather than tags.

/// Curly quotes become straight ones: models emit both, and every phrase list here is written with `'`.
pub(crate) fn straighten_quotes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            c => c,
        })
        .collect()
}

/// Sentences: a run of `.`, `!` or `?` followed by whitespace (or the end) closes one, and so does a line
/// break, because chat replies put list items on their own lines without a full stop. Abbreviations
/// ("e.g. this") split too early; the judges that use this only need sentences roughly.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = if c == '\n' {
            Some(i)
        } else if matches!(c, '.' | '!' | '?') {
            while chars.peek().is_some_and(|&(_, d)| matches!(d, '.' | '!' | '?')) {
                chars.next();
            }
            let after = chars.peek().map_or(text.len(), |&(j, _)| j);
            chars.peek().is_none_or(|&(_, d)| d.is_whitespace()).then_some(after)
        } else {
            None
        };
        if let Some(end) = end {
            push_trimmed(&mut out, &text[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut out, &text[start..]);
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if !s.is_empty() {
        out.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_stops_and_line_breaks() {
        let got = sentences("Hello there! It costs 3.50 dollars... Really?\n- item one\n- item two");
        assert_eq!(got, ["Hello there!", "It costs 3.50 dollars...", "Really?", "- item one", "- item two"]);
        assert!(sentences("  \n ").is_empty());
    }

    #[test]
    fn curly_apostrophes_become_straight() {
        assert_eq!(straighten_quotes("I\u{2019}m \u{201C}fine\u{201D}"), "I'm \"fine\"");
    }
}
