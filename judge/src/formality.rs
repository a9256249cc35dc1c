//! Formality as Heylighen & Dewaele (1999, "Formality of language: definition, measurement and
//! behavioral determinants") measure it: formal, context-independent text leans on nouns, adjectives,
//! prepositions and articles; informal, deictic text on pronouns, verbs, adverbs and interjections.
//!
//!   F = (noun + adjective + preposition + article − pronoun − verb − adverb − interjection + 100) / 2
//!
//! with each class a percentage of all word tokens, so F runs from 0 to 100 (they report ~40 for
//! conversation and ~70 for scientific writing). Contraction and slang rates add what tags miss.

use crate::slang::is_slang;
use crate::tagger::Tagger;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Formality {
    /// Word tokens: Penn tokens with a letter or digit, so punctuation is left out and the clitics of a
    /// contraction ("do" "n't") count as two words, as the Penn Treebank tags them.
    pub words: usize,
    /// Heylighen & Dewaele's F in [0, 100]; 50 when there are no words.
    pub f_score: f64,
    /// Contracted clitics per word.
    pub contraction_rate: f64,
    /// Casual and slang words per word.
    pub slang_rate: f64,
}

/// The word classes of the F-score, from Penn Treebank tags.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    /// Noun, adjective, preposition, article: adds to F.
    Formal,
    /// Pronoun, verb, adverb, interjection: subtracts from F.
    Deictic,
    Neither,
}

/// NN* noun, JJ* adjective, IN preposition, DT article (only a/an/the); PRP, PRP$, WP, WP$ pronoun,
/// VB* and MD verb, RB/RBR/RBS/WRB adverb, UH interjection. Everything else (CD, CC, TO, RP, EX, PDT,
/// other determiners…) is in the denominator only.
fn class(word: &str, tag: &str) -> Class {
    let formal = tag.starts_with("NN")
        || tag.starts_with("JJ")
        || tag == "IN"
        || (tag == "DT" && ["a", "an", "the"].contains(&word.to_lowercase().as_str()));
    let deictic = matches!(tag, "PRP" | "PRP$" | "WP" | "WP$" | "MD" | "RB" | "RBR" | "RBS" | "WRB" | "UH")
        || tag.starts_with("VB");
    if formal {
        Class::Formal
    } else if deictic {
        Class::Deictic
    } else {
        Class::Neither
    }
}

/// Clitics that contract a word into the one before ("n't", "'m", "'re", "'ve", "'ll", "'d").
const CLITICS: [&str; 6] = ["n't", "'m", "'re", "'ve", "'ll", "'d"];

/// Words after which "'s" is "is"/"has"/"us" rather than a possessive.
#[rustfmt::skip]
const BEFORE_VERBAL_S: [&str; 15] =
    ["he", "she", "it", "that", "there", "here", "what", "who", "where", "when", "how", "why", "this", "let", "everything"];

pub fn formality(tagger: &Tagger, text: &str) -> Formality {
    let tagged = tagger.tag(text);
    let (mut words, mut formal, mut deictic, mut contractions, mut slang) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut previous: Option<&str> = None;
    for (word, tag) in &tagged {
        if !word.chars().any(char::is_alphanumeric) {
            previous = Some(word);
            continue;
        }
        words += 1;
        match class(word, tag) {
            Class::Formal => formal += 1,
            Class::Deictic => deictic += 1,
            Class::Neither => {}
        }
        if is_contraction(word, previous) {
            contractions += 1;
        }
        if is_slang(word) {
            slang += 1;
        }
        previous = Some(word);
    }
    if words == 0 {
        return Formality { words, f_score: 50.0, contraction_rate: 0.0, slang_rate: 0.0 };
    }
    let percent = |n: usize| 100.0 * n as f64 / words as f64;
    Formality {
        words,
        f_score: (percent(formal) - percent(deictic) + 100.0) / 2.0,
        contraction_rate: contractions as f64 / words as f64,
        slang_rate: slang as f64 / words as f64,
    }
}

/// A split-off clitic. "'s" is a contraction only after a pronoun or wh-word ("it's", "what's",
/// "let's"), since after a noun it is usually the possessive ("John's").
fn is_contraction(word: &str, previous: Option<&str>) -> bool {
    let lower = word.to_lowercase();
    if CLITICS.contains(&lower.as_str()) {
        return true;
    }
    lower == "'s" && previous.is_some_and(|p| BEFORE_VERBAL_S.contains(&p.to_lowercase().as_str()))
}
