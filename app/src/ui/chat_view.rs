//! The chat column: the messages, the prompt box with Send / Stop / Clear, and the speed of the
//! last reply.

use leptos::html::Div;
use leptos::prelude::*;

use crate::protocol::Role;

use super::chat::{ChatState, Entry, Outcome};
use super::format::{stats_text, stop_note};
use super::settings::SettingsState;
use super::steering::SteeringState;
use super::worker_bridge::Bridge;

/// How close to the bottom (px) still counts as following the reply.
const STICK_PX: i32 = 48;

#[component]
pub fn ChatPanel(
    chat: ChatState,
    settings: SettingsState,
    steering: SteeringState,
    bridge: Bridge,
    ready: Signal<bool>,
) -> impl IntoView {
    let prompt = RwSignal::new(String::new());
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
        if ready.get() {
            "Ask something… (Enter sends, Shift+Enter for a new line)"
        } else {
            "Waiting for the model…"
        }
    };

    view! {
        <section class="chat" aria-label="Chat">
            <MessageList chat />
            <div class="composer">
                <label for="prompt" class="visually-hidden">"Message"</label>
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
                        "Send"
                    </button>
                    <button
                        type="button"
                        data-testid="stop"
                        disabled=move || !generating()
                        on:click=move |_| chat.stop(bridge)
                    >
                        "Stop"
                    </button>
                    <button
                        type="button"
                        data-testid="clear"
                        disabled=move || chat.entries.with(Vec::is_empty)
                        on:click=move |_| chat.clear(bridge)
                    >
                        "Clear"
                    </button>
                    {move || chat.stats.get().map(|stats| view! {
                        <span
                            class="stats"
                            data-testid="stats"
                            data-prefill-tok-s=format!("{:.2}", stats.prefill_tok_s())
                            data-decode-tok-s=format!("{:.2}", stats.decode_tok_s())
                        >
                            {stats_text(&stats)}
                        </span>
                    })}
                </div>
            </div>
        </section>
    }
}

/// The messages, following the reply as it grows unless the user scrolled up to read.
#[component]
fn MessageList(chat: ChatState) -> impl IntoView {
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
        <div class="messages" node_ref=list on:scroll=on_scroll role="log">
            {move || chat.entries.with(Vec::is_empty).then(|| view! {
                <p class="empty">"Say hello. Then move a steering slider and ask again to see the difference."</p>
            })}
            <For each=move || chat.entries.get() key=|e| e.key let:entry>
                <Message entry />
            </For>
        </div>
    }
}

#[component]
fn Message(entry: Entry) -> impl IntoView {
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
    // Model output is text: a text node, never parsed as HTML.
    let meta = move || match outcome.get() {
        Outcome::Streaming => None,
        Outcome::Finished(stop) => stop_note(stop).map(|note| view! { <p class="msg-note">{note}</p> }.into_any()),
        Outcome::Failed(message) => {
            Some(view! { <p class="msg-error" role="alert" data-testid="gen-error">{message}</p> }.into_any())
        }
    };
    view! {
        <div class=format!("msg msg-{role}")>
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
