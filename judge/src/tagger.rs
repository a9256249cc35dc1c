//! Brill's transformation-based part-of-speech tagger (Brill 1992, 1995), with the data of his tagger
//! v1.14 as it ships in TextBlob: each known word gets its most frequent Penn Treebank tag from the
//! lexicon, each unknown word a guess refined by the lexical ("morphology") rules, and then the
//! contextual rules, in their learned order, fix tags from their neighbours ("to run": NN → VB).
//!
//! About 95% token accuracy on news text for the original; enough to count nouns against verbs.

mod contextual;
mod lexical;

use std::collections::HashMap;
use std::path::Path;

use crate::JudgeError;
use crate::tokenize;
use contextual::ContextualRule;
use lexical::LexicalRule;

pub const LEXICON_FILE: &str = "en-lexicon.txt";
pub const MORPHOLOGY_FILE: &str = "en-morphology.txt";
pub const CONTEXT_FILE: &str = "en-context.txt";

/// What the lexical rules see beyond the ends of a sentence (Brill's start-state tagger spells it so).
const LEXICAL_BOUNDARY: &str = "S-T-A-R-T";

#[derive(Debug, Clone)]
pub struct Tagger {
    lexicon: HashMap<String, String>,
    lexical: Vec<LexicalRule>,
    contextual: Vec<ContextualRule>,
}

impl Tagger {
    /// Reads `en-lexicon.txt`, `en-morphology.txt` and `en-context.txt` from `dir` (see [`crate::lexicon_dir`]).
    pub fn load(dir: &Path) -> Result<Self, JudgeError> {
        let read = |name: &str| {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((path, text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(JudgeError::Missing(path)),
                Err(e) => Err(JudgeError::Io(path, e)),
            }
        };
        let (lexicon, morphology, context) = (read(LEXICON_FILE)?, read(MORPHOLOGY_FILE)?, read(CONTEXT_FILE)?);
        Self::parse((&lexicon.0, &lexicon.1), (&morphology.0, &morphology.1), (&context.0, &context.1))
    }

    /// The same from the files' contents, each named by a path for error messages.
    pub fn parse(
        lexicon: (&Path, &str),
        morphology: (&Path, &str),
        context: (&Path, &str),
    ) -> Result<Self, JudgeError> {
        let mut words = HashMap::new();
        for (line, text) in data_lines(lexicon.1) {
            match text.split_whitespace().collect::<Vec<_>>().as_slice() {
                // A word listed twice keeps its first tag, as a dictionary lookup would.
                [word, tag] => {
                    words.entry(word.to_string()).or_insert_with(|| tag.to_string());
                }
                _ => return Err(parse_error(lexicon.0, line, "expected `word TAG`")),
            }
        }
        let lexical = data_lines(morphology.1)
            .map(|(line, text)| LexicalRule::parse(text).map_err(|why| parse_error(morphology.0, line, &why)))
            .collect::<Result<_, _>>()?;
        let contextual = data_lines(context.1)
            .map(|(line, text)| ContextualRule::parse(text).map_err(|why| parse_error(context.0, line, &why)))
            .collect::<Result<_, _>>()?;
        Ok(Self { lexicon: words, lexical, contextual })
    }

    /// Penn Treebank tags for the tokens of `text` (tokenized as in [`tokenize::tokenize`]).
    pub fn tag(&self, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for sentence in tokenize::sentences(text) {
            let tags = self.tag_sentence(&sentence);
            out.extend(sentence.into_iter().zip(tags));
        }
        out
    }

    /// Tags one sentence of tokens: lexicon or guess, then every contextual rule in order.
    pub fn tag_sentence(&self, words: &[String]) -> Vec<String> {
        let mut tags: Vec<String> = (0..words.len())
            .map(|i| self.lookup(&words[i]).map_or_else(|| self.guess(words, i), str::to_string))
            .collect();
        for rule in &self.contextual {
            rule.apply(words, &mut tags);
        }
        tags
    }

    /// The lexicon's tag, before any rule: the word as written, else lowercased (a capital at the start
    /// of a sentence). `None` for a word the lexicon does not know.
    pub fn lexicon_tag(&self, word: &str) -> Option<&str> {
        self.lookup(word)
    }

    fn lookup(&self, word: &str) -> Option<&str> {
        self.lexicon.get(word).or_else(|| self.lexicon.get(&word.to_lowercase())).map(String::as_str)
    }

    fn known(&self, word: &str) -> bool {
        self.lookup(word).is_some()
    }

    /// An unknown word: Brill's start state (NNP when capitalized, else NN), then the lexical rules.
    /// Numbers and bare punctuation are settled before the rules, which were learned for words.
    fn guess(&self, words: &[String], i: usize) -> String {
        let word = words[i].as_str();
        if is_number(word) {
            return "CD".into();
        }
        if !word.chars().any(char::is_alphanumeric) {
            let stop = word.chars().all(|c| matches!(c, '.' | '!' | '?'));
            return if stop { ".".into() } else { "SYM".into() };
        }
        let mut tag = if word.starts_with(char::is_uppercase) { "NNP" } else { "NN" }.to_string();
        let prev = i.checked_sub(1).map_or(LEXICAL_BOUNDARY, |j| words[j].as_str());
        let next = words.get(i + 1).map_or(LEXICAL_BOUNDARY, String::as_str);
        for rule in &self.lexical {
            if let Some(to) = rule.fires(word, &tag, prev, next, |w| self.known(w)) {
                tag = to.to_string();
            }
        }
        tag
    }
}

/// "12", "3.50", "1,000", "-7": digits with separators, and at least one digit.
fn is_number(word: &str) -> bool {
    let digits = word.trim_start_matches(['-', '+']);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

/// Non-empty lines that are not `;;;` comments, numbered from 1.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with(";;;"))
}

fn parse_error(path: &Path, line: usize, why: &str) -> JudgeError {
    JudgeError::Parse { path: path.to_path_buf(), line, why: why.to_string() }
}
