//! The system prompt and the sampling settings (the backend choice is the loader's).

use leptos::prelude::*;

use crate::protocol::{BackendChoice, Sampling};

use super::url_params::UrlParams;

pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant.";

#[derive(Clone, Copy)]
pub struct SettingsState {
    pub system_prompt: RwSignal<String>,
    pub temperature: RwSignal<f32>,
    pub top_p: RwSignal<f32>,
    pub max_tokens: RwSignal<u32>,
    pub seed: RwSignal<u64>,
    pub backend: RwSignal<BackendChoice>,
}

impl SettingsState {
    pub fn new(params: &UrlParams) -> Self {
        let s = &params.sampling;
        Self {
            system_prompt: RwSignal::new(DEFAULT_SYSTEM_PROMPT.to_string()),
            temperature: RwSignal::new(s.temperature),
            top_p: RwSignal::new(s.top_p),
            max_tokens: RwSignal::new(s.max_tokens),
            seed: RwSignal::new(s.seed),
            backend: RwSignal::new(params.backend),
        }
    }

    /// The settings for the next reply.
    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature.get_untracked(),
            top_p: self.top_p.get_untracked(),
            max_tokens: self.max_tokens.get_untracked(),
            seed: self.seed.get_untracked(),
        }
    }
}
