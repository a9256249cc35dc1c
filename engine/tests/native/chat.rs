//! The chat template as read from the real SmolLM2 file, and the ChatML fallback.

use std::path::PathBuf;
use std::sync::OnceLock;

use tiller_engine::chat::{ChatError, ChatTemplate, Message};
use tiller_engine::gguf::{Gguf, Value, write_f32_gguf};

const SMOL_SYSTEM: &str =
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";

fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = match std::env::var_os("TILLER_MODEL") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        };
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `cargo xtask fetch-model` first", path.display()))
    })
}

fn smol() -> ChatTemplate {
    let g = Gguf::parse(model_bytes()).expect("the model parses");
    ChatTemplate::from_gguf(&g).expect("the model's template compiles")
}

#[test]
fn the_file_carries_the_expected_template() {
    let g = Gguf::parse(model_bytes()).unwrap();
    let source = g.get("tokenizer.chat_template").and_then(|v| v.as_str()).unwrap();
    assert_eq!(
        source,
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}\
         {{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}\
         {% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}\
         {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    );
    assert_eq!(smol().source(), source);
}

#[test]
fn single_user_message_gets_the_default_system_prompt() {
    let out = smol().render(&[Message::user("What is the capital of France?")], true).unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn without_generation_prompt_the_text_ends_after_the_last_message() {
    let out = smol().render(&[Message::user("Hi")], false).unwrap();
    assert_eq!(out, format!("{SMOL_SYSTEM}<|im_start|>user\nHi<|im_end|>\n"));
}

#[test]
fn an_explicit_system_message_replaces_the_default() {
    let out = smol().render(&[Message::system("You speak like a pirate."), Message::user("Hello")], true).unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou speak like a pirate.<|im_end|>\n\
         <|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    );
    assert!(!out.contains("SmolLM"));
}

#[test]
fn multi_turn() {
    let messages = [Message::user("What is 2+2?"), Message::assistant("4."), Message::user("And times 3?")];
    let out = smol().render(&messages, true).unwrap();
    assert_eq!(
        out,
        format!(
            "{SMOL_SYSTEM}<|im_start|>user\nWhat is 2+2?<|im_end|>\n\
             <|im_start|>assistant\n4.<|im_end|>\n\
             <|im_start|>user\nAnd times 3?<|im_end|>\n<|im_start|>assistant\n"
        )
    );
}

#[test]
fn content_is_inserted_verbatim() {
    // Template syntax and special tokens inside a message are data, not template.
    let content = "{{ 1 + 1 }} {% if x %}<|im_end|>\n\"quotes\" & <html> ünïcödé 🚀";
    let out = smol().render(&[Message::system("s"), Message::user(content)], false).unwrap();
    assert_eq!(out, format!("<|im_start|>system\ns<|im_end|>\n<|im_start|>user\n{content}<|im_end|>\n"));
}

#[test]
fn no_messages() {
    let t = smol();
    assert_eq!(t.render(&[], false).unwrap(), "");
    assert_eq!(t.render(&[], true).unwrap(), "<|im_start|>assistant\n");
}

#[test]
fn special_tokens_come_from_the_file() {
    // SmolLM2's BOS is id 1 `<|im_start|>` and its EOS id 2 `<|im_end|>`.
    let t = smol();
    assert_eq!((t.bos_token(), t.eos_token()), ("<|im_start|>", "<|im_end|>"));

    let probe = ChatTemplate::new("[{{ bos_token }}|{{ eos_token }}]".to_string()).unwrap();
    assert_eq!(probe.render(&[], false).unwrap(), "[|]");
    let probe = probe.with_special_tokens("<s>", "</s>");
    assert_eq!(probe.render(&[], false).unwrap(), "[<s>|</s>]");
}

#[test]
fn chatml_fallback() {
    let messages = [Message::system("Be brief."), Message::user("Hi"), Message::assistant("Hello!")];
    let expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
                    <|im_start|>assistant\nHello!<|im_end|>\n";
    let t = ChatTemplate::chatml();
    assert_eq!(t.render(&messages, false).unwrap(), expected);
    assert_eq!(t.render(&messages, true).unwrap(), format!("{expected}<|im_start|>assistant\n"));

    // A file without a template gets ChatML; one with a template that is not a string is refused.
    let bytes = write_f32_gguf(&[("general.architecture", Value::String("llama".into()))], &[]);
    let g = Gguf::parse(&bytes).unwrap();
    let t = ChatTemplate::from_gguf(&g).unwrap();
    assert_eq!(t.render(&messages, false).unwrap(), expected);
    assert_eq!(t.source(), ChatTemplate::chatml().source());

    let bytes = write_f32_gguf(&[("tokenizer.chat_template", Value::U32(7))], &[]);
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(ChatTemplate::from_gguf(&g).unwrap_err(), ChatError::NotAString);
}

#[test]
fn a_template_from_a_small_file_is_used() {
    let source =
        "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}{{ eos_token }}";
    let bytes = write_f32_gguf(
        &[
            ("tokenizer.chat_template", Value::String(source.into())),
            ("tokenizer.ggml.tokens", Value::Array(vec![Value::String("<unk>".into()), Value::String("<s>".into())])),
            ("tokenizer.ggml.bos_token_id", Value::U32(1)),
            // Out of range: the token text is simply left empty.
            ("tokenizer.ggml.eos_token_id", Value::U32(99)),
        ],
        &[],
    );
    let g = Gguf::parse(&bytes).unwrap();
    let t = ChatTemplate::from_gguf(&g).unwrap();
    assert_eq!(t.render(&[Message::user("a")], true).unwrap(), "<s><user>a</user>");
}

#[test]
fn broken_templates_are_errors_not_panics() {
    let broken = [
        "{% for message in messages %}",
        "{{ ",
        "{% if %}",
        "{% endfor %}",
        "{{ messages | no_such_filter }}",
        "{% macro %}",
        "{{ 'unterminated }}",
        "}}{{",
        "{% set x = %}",
    ];
    for source in broken {
        match ChatTemplate::new(source.to_string()) {
            Err(e @ ChatError::Syntax(_)) => {
                let msg = e.to_string();
                assert!(msg.starts_with("the chat template does not compile: "), "{msg}");
                assert!(!msg.contains('\n'), "{msg}");
            }
            Err(other) => panic!("{source:?}: unexpected {other:?}"),
            // Some mistakes only show when rendered.
            Ok(t) => {
                let e = t.render(&[Message::user("x")], true).unwrap_err();
                assert!(matches!(e, ChatError::Render(_)), "{source:?}: {e:?}");
            }
        }
    }

    // Valid syntax that fails while rendering.
    for source in [
        "{{ messages[0]['content'] + 1 }}",
        "{{ messages.nope.deeper }}",
        "{{ range(10) | join(1, 2, 3) }}",
        "{{ messages[0].content.no_such_method() }}",
        "{% for m in 5 %}{% endfor %}",
    ] {
        let t = ChatTemplate::new(source.to_string()).unwrap();
        let e = t.render(&[Message::user("x")], true).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ChatError::Render(_)), "{source:?}: {e:?}");
        assert!(msg.starts_with("the chat template failed to render: ") && !msg.contains('\n'), "{msg}");
    }
}

#[test]
fn raise_exception_reports_the_templates_message() {
    // The shape of the check many HF templates make.
    let source = "{% for message in messages %}\
        {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\
        {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\
        {% endif %}{{ message['content'] }}{% endfor %}";
    let t = ChatTemplate::new(source.to_string()).unwrap();
    assert_eq!(t.render(&[Message::user("a"), Message::assistant("b")], false).unwrap(), "ab");
    let e = t.render(&[Message::user("a"), Message::user("b")], false).unwrap_err();
    assert_eq!(e, ChatError::Raised("Conversation roles must alternate user/assistant/user/assistant/...".into()));
}

#[test]
fn whitespace_control_matches_transformers() {
    // transformers enables trim_blocks and lstrip_blocks: a block tag on its own line leaves
    // no blank line or indentation behind.
    let source = "{% for message in messages %}\n    {% if message.role == 'user' %}\n[{{ message.content }}]\n    {% endif %}\n{% endfor %}\n";
    let t = ChatTemplate::new(source.to_string()).unwrap();
    assert_eq!(t.render(&[Message::user("a"), Message::user("b")], false).unwrap(), "[a]\n[b]\n");
}
