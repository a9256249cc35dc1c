//! The conversation with its settings, downloaded as Markdown (for reading and handouts) or as
//! JSON (`format: "tiller-conversation/1"`, for tools).

use leptos::prelude::*;

use crate::protocol::{Role, Sampling, VectorInfo};

use super::chat::ChatState;
use super::dom::download;
use super::format::{backend_text, coef_text, one_line};
use super::i18n::{ExportWords, Msg, use_i18n};
use super::loader::{LoadState, LoadStatus};
use super::settings::SettingsState;
use super::steering::{SteeringState, words};

pub const FORMAT: &str = "tiller-conversation/1";

/// One steering vector in use, as exported.
#[derive(Clone, Debug, PartialEq)]
pub struct SteeringLine {
    pub id: String,
    pub label: String,
    pub coef: f32,
    pub layers: (u32, u32),
    pub strength: f32,
}

/// Everything an export holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub model: String,
    pub backend: String,
    pub sampling: Sampling,
    pub system_prompt: String,
    pub steering: Vec<SteeringLine>,
    /// ISO 8601, UTC.
    pub date: String,
    pub messages: Vec<(Role, String)>,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "system",
    }
}

/// The Markdown export. Messages are quoted blocks, so text from the model cannot turn into
/// headings or HTML of the document around it.
pub fn markdown(c: &Conversation, w: &ExportWords) -> String {
    let mut md = format!("# {}\n\n## {}\n\n", w.title, w.settings);
    md.push_str(&format!("- {}: {}\n", w.model, c.model));
    md.push_str(&format!("- {}: {}\n", w.backend, c.backend));
    md.push_str(&format!("- {}: {}\n", w.date, c.date));
    let s = &c.sampling;
    md.push_str(&format!(
        "- {}: temperature {}, top_p {}, max_tokens {}, seed {}\n",
        w.sampling, s.temperature, s.top_p, s.max_tokens, s.seed
    ));
    let system = if c.system_prompt.trim().is_empty() { w.none.to_string() } else { one_line(&c.system_prompt) };
    md.push_str(&format!("- {}: {}\n\n## {}\n\n", w.system_prompt, system, w.steering));
    if c.steering.is_empty() {
        md.push_str(&format!("{}\n", w.no_steering));
    }
    for v in &c.steering {
        md.push_str(&format!(
            "- {} (`{}`): {} ({} {}–{}, {} {})\n",
            v.label,
            v.id,
            coef_text(v.coef),
            w.blocks,
            v.layers.0,
            v.layers.1,
            w.strength,
            v.strength
        ));
    }
    md.push_str(&format!("\n## {}\n", w.messages));
    for (role, text) in &c.messages {
        let who = match role {
            Role::User => w.user,
            Role::Assistant => w.assistant,
            Role::System => w.system,
        };
        md.push_str(&format!("\n**{who}:**\n\n"));
        for line in text.lines() {
            md.push_str(if line.is_empty() { ">" } else { "> " });
            md.push_str(line);
            md.push('\n');
        }
    }
    md
}

/// The JSON export.
pub fn json(c: &Conversation) -> String {
    let steering: Vec<serde_json::Value> = c
        .steering
        .iter()
        .map(|v| {
            serde_json::json!({
                "id": v.id, "label": v.label, "coefficient": v.coef,
                "layers": [v.layers.0, v.layers.1], "strength": v.strength,
            })
        })
        .collect();
    let messages: Vec<serde_json::Value> = c
        .messages
        .iter()
        .map(|(role, text)| serde_json::json!({ "role": role_name(*role), "content": text }))
        .collect();
    let value = serde_json::json!({
        "format": FORMAT,
        "date": c.date,
        "model": c.model,
        "backend": c.backend,
        "sampling": {
            "temperature": c.sampling.temperature,
            "top_p": c.sampling.top_p,
            "max_tokens": c.sampling.max_tokens,
            "seed": c.sampling.seed,
        },
        "system_prompt": c.system_prompt,
        "steering": steering,
        "messages": messages,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The steering in use: loaded vectors with a non-zero value, worded by `label`.
pub fn steering_lines(
    vectors: &[VectorInfo],
    coefs: &crate::protocol::Coefs,
    label: impl Fn(&VectorInfo) -> String,
) -> Vec<SteeringLine> {
    vectors
        .iter()
        .filter_map(|v| {
            let coef = coefs.get(&v.id).copied().filter(|c| *c != 0.0)?;
            Some(SteeringLine { id: v.id.clone(), label: label(v), coef, layers: v.layers, strength: v.strength })
        })
        .collect()
}

/// "Export Markdown" and "Export JSON", beside the chat.
#[component]
pub fn ExportButtons(
    chat: ChatState,
    settings: SettingsState,
    steering: SteeringState,
    load: LoadState,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move || &i18n.t().share;
    let error = RwSignal::new(None::<Msg>);
    let gather = move || {
        let t = i18n.t_untracked();
        let (model, backend) = load.status.with_untracked(|s| match s {
            LoadStatus::Ready { model, backend, .. } => (model.name.clone(), backend_text(t, backend)),
            _ => (String::new(), String::new()),
        });
        let steering = steering.vectors.with_untracked(|vs| {
            steering.coefs.with_untracked(|c| steering_lines(vs, c, |v| words(&t.steering, v).label))
        });
        let messages = chat.entries.with_untracked(|es| {
            es.iter().map(|e| (e.role, e.text.get_untracked())).filter(|(_, text)| !text.is_empty()).collect()
        });
        Conversation {
            model,
            backend,
            sampling: settings.sampling(),
            system_prompt: settings.system_prompt.get_untracked(),
            steering,
            date: String::from(js_sys::Date::new_0().to_iso_string()),
            messages,
        }
    };
    let save = move |markdown_not_json: bool| {
        let c = gather();
        // "2026-01-31T12:34:56.789Z" → "2026-01-31T12-34-56", a file name every system accepts.
        let stamp: String = c.date.chars().take(19).map(|ch| if ch == ':' { '-' } else { ch }).collect();
        let result = if markdown_not_json {
            download(
                &format!("tiller-{stamp}.md"),
                markdown(&c, &i18n.t_untracked().share.md).as_bytes(),
                "text/markdown",
            )
        } else {
            download(&format!("tiller-{stamp}.json"), json(&c).as_bytes(), "application/json")
        };
        error.set(result.err().map(|e| {
            let e = one_line(&e);
            Msg::new(move |t| (t.share.export_failed)(&e))
        }));
    };
    let empty = move || chat.entries.with(Vec::is_empty);
    view! {
        <div class="export" role="group" aria-label=move || t().export>
            <button type="button" class="small" data-testid="export-md" disabled=empty on:click=move |_| save(true)>
                {move || t().export_markdown}
            </button>
            <button type="button" class="small" data-testid="export-json" disabled=empty on:click=move |_| save(false)>
                {move || t().export_json}
            </button>
            {move || error.get().map(|m| view! {
                <p class="field-error" role="alert">{move || m.render(i18n.t())}</p>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::{EN, ZH};

    fn conversation() -> Conversation {
        Conversation {
            model: "SmolLM2".into(),
            backend: "CPU (burn-flex)".into(),
            sampling: Sampling { temperature: 0.0, top_p: 0.9, max_tokens: 16, seed: 7 },
            system_prompt: "You are a helpful assistant.".into(),
            steering: vec![SteeringLine {
                id: "sentiment".into(),
                label: "Sentiment".into(),
                coef: -0.5,
                layers: (14, 24),
                strength: 4.0,
            }],
            date: "2026-01-31T12:00:00.000Z".into(),
            messages: vec![(Role::User, "Hi".into()), (Role::Assistant, "# Not a heading\n\n<b>x</b>".into())],
        }
    }

    #[test]
    fn markdown_has_settings_and_quoted_messages() {
        let md = markdown(&conversation(), &EN.share.md);
        for part in [
            "- Model: SmolLM2",
            "- Backend: CPU (burn-flex)",
            "temperature 0, top_p 0.9, max_tokens 16, seed 7",
            "- System prompt: You are a helpful assistant.",
            "- Sentiment (`sentiment`): -0.50 (blocks 14–24, strength 4)",
            "**User:**\n\n> Hi\n",
            "> # Not a heading\n>\n> <b>x</b>\n",
        ] {
            assert!(md.contains(part), "{part:?} missing from:\n{md}");
        }
        assert!(markdown(&conversation(), &ZH.share.md).contains("**用户:**"));
    }

    #[test]
    fn json_is_versioned_and_complete() {
        let v: serde_json::Value = serde_json::from_str(&json(&conversation())).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert_eq!(v["sampling"]["seed"], 7);
        assert_eq!(v["sampling"]["max_tokens"], 16);
        assert_eq!(v["steering"][0]["id"], "sentiment");
        assert_eq!(v["steering"][0]["coefficient"], -0.5);
        assert_eq!(v["steering"][0]["layers"], serde_json::json!([14, 24]));
        assert_eq!(v["messages"][1]["role"], "assistant");
        assert_eq!(v["messages"][1]["content"], "# Not a heading\n\n<b>x</b>");
    }

    #[test]
    fn only_nonzero_loaded_vectors_are_listed() {
        let v = |id: &str| VectorInfo {
            id: id.into(),
            label: id.into(),
            low: String::new(),
            high: String::new(),
            min: -1.0,
            max: 1.0,
            strength: 2.0,
            layers: (1, 2),
            origin: crate::protocol::VectorOrigin::Shipped { note: String::new() },
            gated: None,
        };
        let coefs = crate::protocol::Coefs::from([("a".into(), 0.0), ("b".into(), 0.3), ("gone".into(), 1.0)]);
        let lines = steering_lines(&[v("a"), v("b")], &coefs, |v| v.label.to_uppercase());
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].id.as_str(), lines[0].label.as_str()), ("b", "B"));
    }
}
