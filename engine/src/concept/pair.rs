//! One contrastive pair and its two token sequences.

use thiserror::Error;

use crate::chat::{ChatTemplate, Message};
use crate::tokenizer::Tokenizer;

use super::ConceptError;

/// The same user message answered two ways: `positive` and `negative` are the start of the
/// assistant's reply (CAA style). An optional system message is shared by both sides.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub prompt: String,
    pub positive: String,
    pub negative: String,
}

/// Which positions of a text its mean is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Positions {
    /// Only the reply: the prompt is identical on both sides and would only dilute the difference.
    #[default]
    Reply,
    /// Every position after the first.
    All,
    /// The reply's first n tokens only: where a dialogue model decides to refuse or comply, so
    /// an opener's difference is not averaged away by the rest of the reply.
    Opening(usize),
}

/// Tokens of one side of a pair, and the first position its mean is taken from. Position 0 is
/// never used, whatever `from` says: its activations are huge (the first-token "attention sink")
/// and carry nothing about the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContrastText {
    pub tokens: Vec<u32>,
    pub from: usize,
}

impl Pair {
    /// Render both sides through the chat template: the prompt with the generation prompt, then
    /// the reply text (no end-of-turn token: the reply is a start, not a finished answer).
    pub fn render(
        &self,
        template: &ChatTemplate,
        tokenizer: &Tokenizer,
        positions: Positions,
    ) -> Result<[ContrastText; 2], ConceptError> {
        let mut messages: Vec<Message> = self.system.iter().map(|s| Message::system(s.clone())).collect();
        messages.push(Message::user(self.prompt.clone()));
        let prompt = template.render(&messages, true)?;
        let prompt_ids = tokenizer.encode(&prompt, true);
        let side = |reply: &str| {
            let mut tokens = tokenizer.encode(&format!("{prompt}{reply}"), true);
            // The reply starts where the tokens stop agreeing with the prompt's own (BPE could
            // merge across the seam; the chat template's final newline makes that rare).
            let shared = tokens.iter().zip(&prompt_ids).take_while(|(a, b)| a == b).count();
            let from = match positions {
                Positions::Reply => shared,
                Positions::All => 1,
                Positions::Opening(n) => {
                    tokens.truncate(shared + n);
                    shared
                }
            };
            ContrastText { tokens, from }
        };
        Ok([side(&self.positive), side(&self.negative)])
    }
}

/// Read a pair file: one JSON object per non-blank line, each with a non-empty prompt and two
/// non-empty replies.
pub fn parse_pairs(text: &str) -> Result<Vec<Pair>, PairsError> {
    let pairs = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| PairsError::Line { line: i + 1, why: e.to_string() }))
        .collect::<Result<Vec<Pair>, _>>()?;
    check_pairs(&pairs)?;
    Ok(pairs)
}

/// Pairs a vector can be built from: at least one, none with an empty text.
pub fn check_pairs(pairs: &[Pair]) -> Result<(), PairsError> {
    if pairs.is_empty() {
        return Err(PairsError::Empty);
    }
    match pairs.iter().position(|p| [&p.prompt, &p.positive, &p.negative].iter().any(|s| s.trim().is_empty())) {
        Some(i) => Err(PairsError::EmptyText { pair: i + 1 }),
        None => Ok(()),
    }
}

/// Why a set of pairs cannot be built from; the caller names the file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PairsError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("there are no pairs")]
    Empty,
    #[error("pair {pair}: the prompt and both replies must be non-empty")]
    EmptyText { pair: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_files_are_read_line_by_line() {
        let text = "{\"prompt\":\"p\",\"positive\":\"a\",\"negative\":\"b\"}\n\n{\"system\":\"s\",\"prompt\":\"q\",\"positive\":\"c\",\"negative\":\"d\"}\n";
        let pairs = parse_pairs(text).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].system.as_deref(), Some("s"));
        assert!(matches!(parse_pairs("{\"prompt\":\"p\"}\n"), Err(PairsError::Line { line: 1, .. })));
        assert_eq!(parse_pairs("\n \n"), Err(PairsError::Empty));
        let blank = "{\"prompt\":\"p\",\"positive\":\"a\",\"negative\":\"b\"}\n{\"prompt\":\" \",\"positive\":\"a\",\"negative\":\"b\"}";
        assert_eq!(parse_pairs(blank), Err(PairsError::EmptyText { pair: 2 }));
    }
}
