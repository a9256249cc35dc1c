//! Everything needed to chat with a model, from one GGUF file.

use burn::tensor::Device;
use thiserror::Error;

use crate::chat::{ChatError, ChatTemplate, Message};
use crate::gguf::{Gguf, GgufError, SharedBytes};
use crate::model::{Llama, ModelError};
use crate::tokenizer::{Tokenizer, TokenizerError};

#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

/// Tokens that end a reply. llama.cpp treats eos, eot and a list of known end/FIM tokens as
/// end-of-generation; for SmolLM2 that is {0 <|endoftext|>, 2 <|im_end|>, 4 <reponame>}.
const END_TOKEN_TEXTS: &[&str] = &[
    "<|endoftext|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "<EOT>",
    "<reponame>",
    "<|repo_name|>",
    "<|fim_pad|>",
    "<|file_sep|>",
];

pub struct LoadedModel {
    pub model: Llama,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub stop_ids: Vec<u32>,
}

impl LoadedModel {
    /// From a whole GGUF file, which the model keeps: its packed weights are ranges of `bytes`.
    pub fn from_bytes(bytes: impl Into<SharedBytes>, device: &Device) -> Result<Self, LoadError> {
        let bytes = bytes.into();
        Self::from_gguf(&Gguf::parse_shared(&bytes)?, device, &mut |_, _| {})
    }

    /// `messages` in the model's chat template, ending where the assistant's reply begins, as
    /// tokens (the template's special tokens parsed as such): what a chat turn prefills.
    pub fn prompt(&self, messages: &[Message]) -> Result<Vec<u32>, ChatError> {
        Ok(self.tokenizer.encode(&self.template.render(messages, true)?, true))
    }

    /// From a parsed file; `progress(blocks_done, n_layer)` follows the weight upload (from 0).
    pub fn from_gguf(g: &Gguf<'_>, device: &Device, progress: &mut dyn FnMut(usize, usize)) -> Result<Self, LoadError> {
        let tokenizer = Tokenizer::from_gguf(g)?;
        let template = ChatTemplate::from_gguf(g)?;
        let model = Llama::load_with_progress(g, device, progress)?;
        let stop_ids = stop_ids(g, &tokenizer);
        Ok(Self { model, tokenizer, template, stop_ids })
    }
}

fn stop_ids(g: &Gguf<'_>, tok: &Tokenizer) -> Vec<u32> {
    let mut ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .iter()
        .filter_map(|k| g.get(k).and_then(|v| v.as_u64()))
        .map(|id| id as u32)
        .collect();
    ids.extend(END_TOKEN_TEXTS.iter().filter_map(|t| tok.token_id(t)).filter(|&id| tok.is_control(id)));
    ids.sort_unstable();
    ids.dedup();
    ids
}
