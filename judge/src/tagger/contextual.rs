//! Brill's contextual rules: `FROM TO TRIGGER ARG [ARG]` changes a FROM tag (`*`: any) to TO where the
//! trigger holds. Each trigger is a conjunction of tests on the tag or the word at relative positions,
//! some of which accept any of several positions ("PREV1OR2TAG": the tag one or two back).
//! Outside the sentence every position reads `STAART`, for both words and tags, as in Brill's tagger.

const BOUNDARY: &str = "STAART";

#[derive(Debug, Clone)]
pub(super) struct ContextualRule {
    /// `None` for `*`.
    from: Option<String>,
    to: String,
    tests: Vec<Test>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum On {
    Tag,
    Word,
}

/// `on` at any of `offsets` (relative to the word being changed) equals `value`.
#[derive(Debug, Clone)]
struct Test {
    on: On,
    offsets: &'static [isize],
    value: String,
}

/// Each trigger: the tests it makes, one per argument, in the order of the arguments.
fn trigger(name: &str) -> Option<&'static [(On, &'static [isize])]> {
    use On::{Tag, Word};
    Some(match name {
        "PREVTAG" => &[(Tag, &[-1])],
        "NEXTTAG" => &[(Tag, &[1])],
        "PREV2TAG" => &[(Tag, &[-2])],
        "NEXT2TAG" => &[(Tag, &[2])],
        "PREV1OR2TAG" => &[(Tag, &[-1, -2])],
        "NEXT1OR2TAG" => &[(Tag, &[1, 2])],
        "PREV1OR2OR3TAG" => &[(Tag, &[-1, -2, -3])],
        "NEXT1OR2OR3TAG" => &[(Tag, &[1, 2, 3])],
        "SURROUNDTAG" => &[(Tag, &[-1]), (Tag, &[1])],
        "PREVBIGRAM" => &[(Tag, &[-2]), (Tag, &[-1])],
        "NEXTBIGRAM" => &[(Tag, &[1]), (Tag, &[2])],
        "CURWD" => &[(Word, &[0])],
        "PREVWD" => &[(Word, &[-1])],
        "NEXTWD" => &[(Word, &[1])],
        "PREV2WD" => &[(Word, &[-2])],
        "NEXT2WD" => &[(Word, &[2])],
        "PREV1OR2WD" => &[(Word, &[-1, -2])],
        "NEXT1OR2WD" => &[(Word, &[1, 2])],
        "PREV1OR2OR3WD" => &[(Word, &[-1, -2, -3])],
        "NEXT1OR2OR3WD" => &[(Word, &[1, 2, 3])],
        "LBIGRAM" => &[(Word, &[-1]), (Word, &[0])],
        "RBIGRAM" => &[(Word, &[0]), (Word, &[1])],
        "WDPREVTAG" => &[(Tag, &[-1]), (Word, &[0])],
        "WDNEXTTAG" => &[(Word, &[0]), (Tag, &[1])],
        "WDAND2BFR" => &[(Word, &[-2]), (Word, &[0])],
        "WDAND2AFT" => &[(Word, &[0]), (Word, &[2])],
        "WDAND2TAGBFR" => &[(Tag, &[-2]), (Word, &[0])],
        "WDAND2TAGAFT" => &[(Word, &[0]), (Tag, &[2])],
        _ => return None,
    })
}

impl ContextualRule {
    pub(super) fn parse(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [from, to, name, args @ ..] = fields.as_slice() else {
            return Err(format!("expected `FROM TO TRIGGER ARGS` in `{line}`"));
        };
        // TextBlob's file adds `NN PRP PREVWD are mine`, which Brill's format cannot say: PREVWD takes one
        // word. It means "mine" after "are" ("these are mine"), i.e. an LBIGRAM, and is read as one;
        // taking only "are" would turn every NN after "are" into a pronoun.
        let name = if *name == "PREVWD" && args.len() == 2 { "LBIGRAM" } else { name };
        let shape = trigger(name).ok_or_else(|| format!("unknown trigger {name}"))?;
        if args.len() != shape.len() {
            return Err(format!("{name} takes {} argument(s), got {}", shape.len(), args.len()));
        }
        let tests = shape
            .iter()
            .zip(args)
            .map(|(&(on, offsets), value)| Test { on, offsets, value: value.to_string() })
            .collect();
        let from = (*from != "*").then(|| from.to_string());
        Ok(Self { from, to: to.to_string(), tests })
    }

    /// Applies the rule left to right, in place: a change is seen by the positions after it, as in Brill's
    /// tagger.
    pub(super) fn apply(&self, words: &[String], tags: &mut [String]) {
        for i in 0..tags.len() {
            let from_matches = self.from.as_ref().is_none_or(|from| *from == tags[i]);
            if from_matches && self.tests.iter().all(|t| t.holds(words, tags, i)) {
                tags[i] = self.to.clone();
            }
        }
    }
}

impl Test {
    fn holds(&self, words: &[String], tags: &[String], i: usize) -> bool {
        let column = if self.on == On::Tag { tags } else { words };
        self.offsets.iter().any(|&offset| {
            let at = i.checked_add_signed(offset).and_then(|j| column.get(j)).map_or(BOUNDARY, String::as_str);
            at == self.value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rule: &str, words: &str, tags: &str) -> String {
        let words: Vec<String> = words.split(' ').map(String::from).collect();
        let mut tags: Vec<String> = tags.split(' ').map(String::from).collect();
        ContextualRule::parse(rule).unwrap().apply(&words, &mut tags);
        tags.join(" ")
    }

    #[test]
    fn triggers_read_the_right_positions() {
        assert_eq!(run("NN VB PREVTAG TO", "to run", "TO NN"), "TO VB");
        assert_eq!(run("NN VB PREVTAG TO", "run to", "NN TO"), "NN TO");
        assert_eq!(run("IN RB WDAND2AFT as as", "as big as", "IN JJ IN"), "RB JJ IN");
        assert_eq!(run("RB RP WDNEXTTAG up DT", "look up the", "VB RB DT"), "VB RP DT");
        assert_eq!(run("VBZ POS WDPREVTAG NNP 's", "John 's", "NNP VBZ"), "NNP POS");
        assert_eq!(run("NNP NN SURROUNDTAG STAART NNS", "Blork dogs", "NNP NNS"), "NN NNS");
        assert_eq!(run("VBP VB PREV1OR2OR3TAG MD", "can not really go", "MD RB RB VBP"), "MD RB RB VB");
        assert_eq!(run("* IN CURWD with", "with", "NN"), "IN");
        assert_eq!(run("NN PRP PREVWD are mine", "are mine fun", "VBP NN NN"), "VBP PRP NN");
    }

    #[test]
    fn malformed_rules_are_refused() {
        assert!(ContextualRule::parse("NN VB PREVTAG").is_err());
        assert!(ContextualRule::parse("NN VB SIDEWAYS TO").is_err());
        assert!(ContextualRule::parse("NN VB").is_err());
    }
}
