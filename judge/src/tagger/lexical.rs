//! Brill's lexical rules, which guess the tag of a word missing from the lexicon from its spelling and
//! its neighbours. A line is either `AFFIX command [LENGTH] TAG x` (any current tag) or
//! `FROM AFFIX fcommand [LENGTH] TAG x` (only words currently tagged FROM); the trailing `x` is Brill's.
//!
//! Commands: `char` (contains), `hassuf`/`haspref` (ends/starts with), `deletesuf`/`deletepref` (removing
//! the affix leaves a known word), `addsuf`/`addpref` (adding it makes a known word), `goodleft`
//! (the next word is the argument: the word is a good left neighbour of it) and `goodright` (the previous
//! word is the argument).

#[derive(Debug, Clone)]
pub(super) struct LexicalRule {
    /// `Some` for the `f…` forms, which only change words that currently carry this tag.
    from: Option<String>,
    test: Test,
    to: String,
}

#[derive(Debug, Clone)]
enum Test {
    Contains(String),
    HasSuffix(String),
    HasPrefix(String),
    DeleteSuffix(String),
    DeletePrefix(String),
    AddSuffix(String),
    AddPrefix(String),
    NextWord(String),
    PrevWord(String),
}

/// The commands that carry the affix's length, which the parser checks against the affix.
const WITH_LENGTH: [&str; 6] = ["hassuf", "haspref", "deletesuf", "deletepref", "addsuf", "addpref"];
const WITHOUT_LENGTH: [&str; 3] = ["char", "goodleft", "goodright"];

fn is_command(word: &str) -> bool {
    WITH_LENGTH.contains(&word) || WITHOUT_LENGTH.contains(&word)
}

impl LexicalRule {
    pub(super) fn parse(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let filtered = fields.get(2).and_then(|c| c.strip_prefix('f')).filter(|c| is_command(c));
        let (from, arg, command, rest) = match filtered {
            Some(command) => (Some(fields[0].to_string()), fields[1], command, &fields[3..]),
            None if fields.get(1).is_some_and(|c| is_command(c)) => (None, fields[0], fields[1], &fields[2..]),
            None => return Err(format!("no lexical-rule command in `{line}`")),
        };
        let to = if WITH_LENGTH.contains(&command) {
            let length: usize = rest.first().and_then(|n| n.parse().ok()).ok_or("missing affix length")?;
            if length != arg.chars().count() {
                return Err(format!("affix `{arg}` does not have length {length}"));
            }
            rest.get(1)
        } else {
            rest.first()
        };
        let to = to.ok_or("missing the new tag")?.to_string();
        let arg = arg.to_string();
        let test = match command {
            "char" => Test::Contains(arg),
            "hassuf" => Test::HasSuffix(arg),
            "haspref" => Test::HasPrefix(arg),
            "deletesuf" => Test::DeleteSuffix(arg),
            "deletepref" => Test::DeletePrefix(arg),
            "addsuf" => Test::AddSuffix(arg),
            "addpref" => Test::AddPrefix(arg),
            "goodleft" => Test::NextWord(arg),
            _ => Test::PrevWord(arg),
        };
        Ok(Self { from, test, to })
    }

    /// The new tag, when the rule applies to `word` (now tagged `tag`) between `prev` and `next`.
    pub(super) fn fires(
        &self,
        word: &str,
        tag: &str,
        prev: &str,
        next: &str,
        known: impl Fn(&str) -> bool,
    ) -> Option<&str> {
        if self.from.as_deref().is_some_and(|from| from != tag) {
            return None;
        }
        let hit = match &self.test {
            Test::Contains(x) => word.contains(x.as_str()),
            Test::HasSuffix(x) => word.ends_with(x.as_str()),
            Test::HasPrefix(x) => word.starts_with(x.as_str()),
            Test::DeleteSuffix(x) => word.strip_suffix(x.as_str()).is_some_and(|w| !w.is_empty() && known(w)),
            Test::DeletePrefix(x) => word.strip_prefix(x.as_str()).is_some_and(|w| !w.is_empty() && known(w)),
            Test::AddSuffix(x) => known(&format!("{word}{x}")),
            Test::AddPrefix(x) => known(&format!("{x}{word}")),
            Test::NextWord(x) => next == x,
            Test::PrevWord(x) => prev == x,
        };
        hit.then_some(self.to.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(line: &str, word: &str, tag: &str, prev: &str, next: &str) -> Option<String> {
        let known = |w: &str| ["happy", "quickly"].contains(&w);
        LexicalRule::parse(line).unwrap().fires(word, tag, prev, next, known).map(str::to_string)
    }

    #[test]
    fn both_forms_parse_and_fire() {
        assert_eq!(fires("NN s fhassuf 1 NNS x", "blorks", "NN", "the", "."), Some("NNS".into()));
        assert_eq!(fires("NN s fhassuf 1 NNS x", "blorks", "NNP", "the", "."), None, "f-form checks the tag");
        assert_eq!(fires("ly hassuf 2 RB x", "blorkly", "NNP", "", ""), Some("RB".into()));
        assert_eq!(fires("un deletepref 2 JJ x", "unhappy", "NN", "", ""), Some("JJ".into()));
        assert_eq!(fires("un deletepref 2 JJ x", "unblork", "NN", "", ""), None);
        assert_eq!(fires("ly addsuf 2 JJ x", "quick", "NN", "", ""), Some("JJ".into()));
        assert_eq!(fires("9 char CD x", "F9", "NNP", "", ""), Some("CD".into()));
        assert_eq!(fires("NN would fgoodright VB x", "blork", "NN", "would", "."), Some("VB".into()));
        assert_eq!(fires("million goodleft CD x", "blork", "NN", "the", "million"), Some("CD".into()));
    }

    #[test]
    fn malformed_rules_are_refused() {
        assert!(LexicalRule::parse("NN s fhassuf 2 NNS x").is_err(), "length does not match the affix");
        assert!(LexicalRule::parse("NN s fnosuch 1 NNS x").is_err());
        assert!(LexicalRule::parse("ly hassuf").is_err());
    }
}
