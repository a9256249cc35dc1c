//! Chat messages to prompt text, through the model's own Jinja chat template.
//!
//! GGUF files carry the Hugging Face template under `tokenizer.chat_template`; rendering it the
//! way transformers does (trim_blocks, lstrip_blocks, `raise_exception`, `bos_token`/`eos_token`)
//! gives the exact prompt format the model was trained on.

use minijinja::value::{Value as JinjaValue, ValueKind};
use minijinja::{Environment, Error as JinjaError, ErrorKind, State, context};
use thiserror::Error;

use crate::gguf::Gguf;

const TEMPLATE_KEY: &str = "tokenizer.chat_template";
const NAME: &str = "chat_template";

/// Plain ChatML, for models that ship no template of their own.
const CHATML: &str = "{% for message in messages %}\
{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\
{% endfor %}\
{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// The request a safety condition judges: the system prompt (if any) and the last user message,
/// without the turns before it. `None` when that is already the whole conversation.
///
/// The condition's probe was fitted on single requests; read inside a longer chat, earlier turns
/// move its block's output enough to hide a harmful request (a threat scored 0.93 alone and 0.04
/// after one question about France).
pub fn latest_request(messages: &[Message]) -> Option<Vec<Message>> {
    let last_user = messages.iter().rposition(|m| m.role == Role::User)?;
    let system = messages.first().filter(|m| m.role == Role::System);
    let request: Vec<Message> = system.into_iter().chain([&messages[last_user]]).cloned().collect();
    (request.len() < messages.len()).then_some(request)
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChatError {
    #[error("the chat template does not compile: {0}")]
    Syntax(String),
    #[error("the chat template failed to render: {0}")]
    Render(String),
    /// The template called `raise_exception`, usually over an order of roles it does not accept.
    #[error("the chat template rejected the conversation: {0}")]
    Raised(String),
    #[error("GGUF metadata `tokenizer.chat_template` should be a string")]
    NotAString,
}

/// Carries a `raise_exception` message through minijinja's error so that `render` can tell it
/// apart from a template bug.
#[derive(Debug, Error)]
#[error("{0}")]
struct Raised(String);

/// A compiled chat template with the special tokens it may refer to.
#[derive(Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish()
    }
}

impl ChatTemplate {
    /// The model's template, or ChatML when the file has none. `bos_token` and `eos_token` are
    /// the texts of the file's BOS/EOS ids when it names them.
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, ChatError> {
        let template = match g.get(TEMPLATE_KEY) {
            None => Self::chatml(),
            Some(v) => Self::new(v.as_str().ok_or(ChatError::NotAString)?.to_string())?,
        };
        let token = |key: &str| -> String {
            let text = g
                .get(key)
                .and_then(|id| id.as_u64())
                .and_then(|id| g.get("tokenizer.ggml.tokens")?.as_array()?.get(usize::try_from(id).ok()?))
                .and_then(|t| t.as_str());
            text.unwrap_or_default().to_string()
        };
        let (bos, eos) = (token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"));
        Ok(template.with_special_tokens(bos, eos))
    }

    pub fn chatml() -> Self {
        // The built-in source is known to compile.
        Self::new(CHATML.to_string()).unwrap_or_else(|e| unreachable!("built-in ChatML: {e}"))
    }

    /// Compile `source`; syntax errors are reported here rather than at the first render.
    pub fn new(source: String) -> Result<Self, ChatError> {
        let mut env = Environment::new();
        // transformers renders chat templates with these two on, and templates are written for it.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_function("raise_exception", |msg: String| -> Result<JinjaValue, JinjaError> {
            Err(JinjaError::new(ErrorKind::InvalidOperation, msg.clone()).with_source(Raised(msg)))
        });
        env.set_unknown_method_callback(python_method);
        env.add_template_owned(NAME, source.clone()).map_err(|e| ChatError::Syntax(one_line(&e)))?;
        Ok(Self { env, source, bos_token: String::new(), eos_token: String::new() })
    }

    /// Set what the template sees as `bos_token` and `eos_token`.
    pub fn with_special_tokens(mut self, bos: impl Into<String>, eos: impl Into<String>) -> Self {
        self.bos_token = bos.into();
        self.eos_token = eos.into();
        self
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// The prompt text for `messages`; with `add_generation_prompt` it ends where the assistant's
    /// reply should begin.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, ChatError> {
        let template = self.env.get_template(NAME).map_err(|e| ChatError::Render(one_line(&e)))?;
        template
            .render(context! {
                messages => JinjaValue::from_serialize(messages),
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| match raised_message(&e) {
                Some(msg) => ChatError::Raised(one_line(&msg)),
                None => ChatError::Render(one_line(&e)),
            })
    }
}

fn raised_message(e: &JinjaError) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(Raised(msg)) = err.downcast_ref::<Raised>() {
            return Some(msg.clone());
        }
        source = err.source();
    }
    None
}

/// Error texts can hold newlines (from the template source or a raised message); a caller shows
/// them on one line.
fn one_line(e: &impl ToString) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Python string and dict methods that Hugging Face templates call most (`.strip()`,
/// `.startswith()`, `.items()`, ...), which Jinja2 gets for free from Python and minijinja lacks.
fn python_method(
    state: &State,
    value: &JinjaValue,
    method: &str,
    args: &[JinjaValue],
) -> Result<JinjaValue, JinjaError> {
    let with_value = || std::iter::once(value.clone()).chain(args.iter().cloned()).collect::<Vec<_>>();
    match (value.kind(), method) {
        (ValueKind::String, "strip") => state.apply_filter("trim", &with_value()),
        (ValueKind::String, "upper" | "lower" | "title" | "capitalize" | "replace" | "split") => {
            state.apply_filter(method, &with_value())
        }
        (ValueKind::String, "lstrip" | "rstrip") => {
            let s = value.as_str().unwrap_or_default();
            let (chars,): (Option<String>,) = minijinja::value::from_args(args)?;
            let matches = |c: char| chars.as_deref().map_or(c.is_whitespace(), |set| set.contains(c));
            let out = if method == "lstrip" { s.trim_start_matches(matches) } else { s.trim_end_matches(matches) };
            Ok(JinjaValue::from(out))
        }
        (ValueKind::String, "startswith" | "endswith") => {
            let s = value.as_str().unwrap_or_default();
            let (affix,): (String,) = minijinja::value::from_args(args)?;
            Ok(JinjaValue::from(if method == "startswith" { s.starts_with(&affix) } else { s.ends_with(&affix) }))
        }
        (ValueKind::Map, "items") => state.apply_filter("items", &with_value()),
        (ValueKind::Map, "keys") => Ok(JinjaValue::from_iter(value.try_iter()?)),
        (ValueKind::Map, "values") => {
            let values: Result<Vec<_>, _> = value.try_iter()?.map(|k| value.get_item(&k)).collect();
            Ok(JinjaValue::from(values?))
        }
        (ValueKind::Map, "get") => {
            let (key, default): (JinjaValue, Option<JinjaValue>) = minijinja::value::from_args(args)?;
            let found = value.get_item(&key)?;
            Ok(if found.is_undefined() { default.unwrap_or(JinjaValue::from(())) } else { found })
        }
        _ => Err(JinjaError::from(ErrorKind::UnknownMethod)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_serialize_lowercase() {
        let m = serde_json::to_string(&Message::assistant("hi")).unwrap();
        assert_eq!(m, r#"{"role":"assistant","content":"hi"}"#);
        let back: Message = serde_json::from_str(r#"{"role":"system","content":"x"}"#).unwrap();
        assert_eq!(back, Message::system("x"));
    }

    #[test]
    fn python_methods() {
        let t = ChatTemplate::new(
            "{% for m in messages %}[{{ m.content.strip() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip('x ') }}|\
             {{ m.content.startswith(' a') }}|{{ m.content.endswith('x') }}|{{ m.get('role') }}|{{ m.get('nope', 'd') }}]{% endfor %}"
                .to_string(),
        )
        .unwrap();
        let out = t.render(&[Message::user(" ab x")], false).unwrap();
        assert_eq!(out, "[ab x|ab x| ab|True|True|user|d]");
    }

    #[test]
    fn raise_exception_is_reported_with_its_message() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start\nwith a user') }}{% endif %}ok"
                .to_string(),
        )
        .unwrap();
        assert_eq!(t.render(&[Message::user("x")], false).unwrap(), "ok");
        let err = t.render(&[Message::assistant("x")], false).unwrap_err();
        assert_eq!(err, ChatError::Raised("Conversation must start with a user".into()));
        assert_eq!(err.to_string(), "the chat template rejected the conversation: Conversation must start with a user");
    }
}
