//! The chat column: the messages, the prompt box with Send / Stop / Clear, the speed of the last
//! reply, and the conversation's export.

use leptos::html::Div;
use leptos::prelude::*;

use crate::protocol::Role;

use super::chat::{ChatState, Entry, Outcome};
use super::export::ExportButtons;
use super::format::stop_note;
use super::i18n::use_i18n;
use super::loader::LoadState;
use super::settings::SettingsState;
use super::steering::SteeringState;
use super::worker_bridge::Bridge;

/// How close to the bottom (px) still counts as following the reply.
const STICK_PX: i32 = 48;

/// `prompt`: the text being typed, owned by the App so a share link can fill and read it.
#[component]
pub fn ChatPanel(
    chat: ChatState,
    settings: SettingsState,
    steering: SteeringState,
    load: LoadState,
    bridge: Bridge,
    ready: Signal<bool>,
    prompt: RwSignal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let generating = move || chat.generating.with(Option::is_some);
    let can_send = move || ready.get() && !generating() && prompt.with(|p| !p.trim().is_empty());
    let send = move || {
        if !untrack(can_send) {
            return;
        }
        let text = prompt.get_untracked().trim().to_string();
        let system = settings.system_prompt.get_untracked();
        chat.send(bridge, &text, &system, settings.sampling(), steering.active());
        prompt.set(String::new());
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // Enter sends, Shift+Enter is a newline; an IME composition keeps its Enter.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let placeholder = move || {
        let t = &i18n.t().chat;
        if ready.get() { t.placeholder_ready } else { t.placeholder_waiting }
    };

    view! {
        <section class="chat" aria-label=move || i18n.t().chat.region>
            <MessageList chat />
            <div class="composer">
                <label for="prompt" class="visually-hidden">{move || i18n.t().chat.prompt_label}</label>
                <textarea
                    id="prompt"
                    data-testid="prompt"
                    rows="2"
                    placeholder=placeholder
                    prop:value=move || prompt.get()
                    on:input=move |ev| prompt.set(event_target_value(&ev))
                    on:keydown=on_keydown
                ></textarea>
                <div class="composer-actions">
                    <button
                        type="button"
                        class="primary"
                        data-testid="send"
                        disabled=move || !can_send()
                        on:click=move |_| send()
                    >
                        {move || i18n.t().chat.send}
                    </button>
                    <button
                        type="button"
                        data-testid="stop"
                        disabled=move || !generating()
                        on:click=move |_| chat.stop(bridge)
                    >
                        {move || i18n.t().chat.stop}
                    </button>
                    <button
                        type="button"
                        data-testid="clear"
                        disabled=move || chat.entries.with(Vec::is_empty)
                        on:click=move |_| chat.clear(bridge)
                    >
                        {move || i18n.t().chat.clear}
                    </button>
                    {move || chat.stats.get().map(|stats| view! {
                        <span
                            class="stats"
                            data-testid="stats"
                            data-prefill-tok-s=format!("{:.2}", stats.prefill_tok_s())
                            data-decode-tok-s=format!("{:.2}", stats.decode_tok_s())
                        >
                            {move || (i18n.t().chat.stats)(&stats)}
                        </span>
                    })}
                </div>
                <ExportButtons chat settings steering load />
            </div>
        </section>
    }
}

/// The messages, following the reply as it grows unless the user scrolled up to read.
#[component]
fn MessageList(chat: ChatState) -> impl IntoView {
    let i18n = use_i18n();
    let list = NodeRef::<Div>::new();
    let stick = StoredValue::new(true);
    Effect::new(move |_| {
        // Runs when a message is added or the last one grows.
        chat.entries.with(|es| es.last().map(|e| e.text.track()));
        if stick.get_value()
            && let Some(el) = list.get_untracked()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            stick.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < STICK_PX);
        }
    };
    view! {
        <div
            class="messages"
            node_ref=list
            on:scroll=on_scroll
            role="log"
            aria-label=move || i18n.t().chat.messages_label
            tabindex="0"
        >
            {move || chat.entries.with(Vec::is_empty).then(|| view! {
                <p class="empty">{move || i18n.t().chat.empty}</p>
            })}
            <For each=move || chat.entries.get() key=|e| e.key let:entry>
                <Message entry />
            </For>
        </div>
    }
}

#[component]
fn Message(entry: Entry) -> impl IntoView {
    let i18n = use_i18n();
    let role = match entry.role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "system",
    };
    let assistant = entry.role == Role::Assistant;
    let outcome = entry.outcome.clone();
    let streaming = {
        let outcome = outcome.clone();
        move || outcome.with(|o| *o == Outcome::Streaming)
    };
    let done = {
        let streaming = streaming.clone();
        move || (assistant && !streaming()).then_some("true")
    };
    let text = entry.text.clone();
    let gate = entry.gate.clone();
    let gate_note = move || {
        gate.get().map(|g| {
            view! {
                <p class="msg-gate" class:engaged=g.engaged() data-testid="gate-note">
                    {move || (i18n.t().chat.gate)(&g)}
                </p>
            }
        })
    };
    // Model output is text: a text node, never parsed as HTML.
    let meta = move || {
        match outcome.get() {
        Outcome::Streaming => None,
        // Whether there is a note does not depend on the language; its words do.
        Outcome::Finished(stop) => stop_note(&i18n.t_untracked().chat, stop)
            .map(|_| view! { <p class="msg-note">{move || stop_note(&i18n.t().chat, stop)}</p> }.into_any()),
        Outcome::Failed(error) => Some(
            view! {
                <p class="msg-error" role="alert" data-testid="gen-error">
                    {move || { let t = i18n.t(); (t.chat.failed)(&(t.failure.failure)(&error)) }}
                </p>
            }
            .into_any(),
        ),
        Outcome::Crashed(detail) => Some(
            view! {
                <p class="msg-error" role="alert" data-testid="gen-error">{move || (i18n.t().model.crashed)(&detail)}</p>
            }
            .into_any(),
        ),
    }
    };
    view! {
        <div class=format!("msg msg-{role}")>
            {gate_note}
            <div
                class="bubble"
                class:streaming=streaming
                data-testid="message"
                data-role=role
                data-done=done
            >
                {move || text.get()}
            </div>
            {meta}
        </div>
    }
}
