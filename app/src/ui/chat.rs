//! The conversation: its messages, the reply being generated, and the requests that start and
//! end replies.

use leptos::prelude::*;

use crate::protocol::{
    Coefs, Failure, GateReport, GenStats, Request, Response, Role, Sampling, StopReason, conversation,
};

use super::format::one_line;
use super::worker_bridge::Bridge;

/// How far a message got. User messages are born `Finished`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Streaming,
    Finished(StopReason),
    Failed(Failure),
    /// The engine stopped (a panic in the worker, or a lost GPU device): its detail, worded with
    /// the advice to load a model again when shown.
    Crashed(String),
}

/// One chat message. Its text and outcome are signals of their own, so a streamed token touches
/// only its text node.
#[derive(Clone)]
pub struct Entry {
    /// Stable key for the list.
    pub key: u64,
    pub role: Role,
    pub text: ArcRwSignal<String>,
    pub outcome: ArcRwSignal<Outcome>,
    /// The generation that writes this (assistant) message.
    pub generation: Option<u64>,
    /// What the safety gate read from the prompt of this (assistant) message.
    pub gate: ArcRwSignal<Option<GateReport>>,
}

#[derive(Clone, Copy)]
pub struct ChatState {
    pub entries: RwSignal<Vec<Entry>>,
    /// The generation in flight, if any.
    pub generating: RwSignal<Option<u64>>,
    /// Numbers of the last finished reply.
    pub stats: RwSignal<Option<GenStats>>,
    /// Entry keys and generation ids both come from here.
    next_id: StoredValue<u64>,
}

impl ChatState {
    pub fn new() -> Self {
        Self {
            entries: RwSignal::new(Vec::new()),
            generating: RwSignal::new(None),
            stats: RwSignal::new(None),
            next_id: StoredValue::new(1),
        }
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    /// Adds the user's message and an empty assistant reply, and asks the worker to write it.
    pub fn send(&self, bridge: Bridge, user_text: &str, system_prompt: &str, sampling: Sampling, coefs: Coefs) {
        let user = Entry {
            key: self.next_id(),
            role: Role::User,
            text: ArcRwSignal::new(user_text.to_string()),
            outcome: ArcRwSignal::new(Outcome::Finished(StopReason::EndOfGeneration)),
            generation: None,
            gate: ArcRwSignal::new(None),
        };
        self.entries.update(|es| es.push(user));
        let history: Vec<(Role, String)> =
            self.entries.with_untracked(|es| es.iter().map(|e| (e.role, e.text.get_untracked())).collect());
        let messages = conversation(system_prompt, &history);

        let id = self.next_id();
        let reply = Entry {
            key: self.next_id(),
            role: Role::Assistant,
            text: ArcRwSignal::new(String::new()),
            outcome: ArcRwSignal::new(Outcome::Streaming),
            generation: Some(id),
            gate: ArcRwSignal::new(None),
        };
        self.entries.update(|es| es.push(reply));
        self.stats.set(None);
        self.generating.set(Some(id));
        bridge.send(Request::Generate { id, messages, sampling, coefs });
    }

    /// Asks the worker to end the reply; its `Done` finishes the message.
    pub fn stop(&self, bridge: Bridge) {
        if self.generating.get_untracked().is_some() {
            bridge.send(Request::Stop);
        }
    }

    /// Empties the conversation, stopping a reply in flight (whose last messages are ignored).
    pub fn clear(&self, bridge: Bridge) {
        self.stop(bridge);
        self.entries.set(Vec::new());
        self.stats.set(None);
    }

    /// Ends the reply in flight on the UI side, for when the worker is about to drop it (a new
    /// model): later messages for it are ignored.
    pub fn abandon(&self, bridge: Bridge) {
        if let Some(id) = self.generating.get_untracked() {
            bridge.send(Request::Stop);
            if let Some(entry) = self.reply(id) {
                entry.outcome.set(Outcome::Finished(StopReason::Stopped));
            }
            self.generating.set(None);
        }
    }

    /// The assistant message that generation `id` writes, while it is still streaming.
    fn reply(&self, id: u64) -> Option<Entry> {
        self.entries.with_untracked(|es| {
            es.iter()
                .rev()
                .find(|e| e.generation == Some(id) && e.outcome.with_untracked(|o| *o == Outcome::Streaming))
                .cloned()
        })
    }

    /// Follows the worker's generation messages; ignores the others.
    pub fn apply(&self, response: &Response) {
        match response {
            Response::Token { id, piece } => {
                if let Some(entry) = self.reply(*id) {
                    entry.text.update(|t| t.push_str(piece));
                }
            }
            Response::Gate { id, gate } => {
                if let Some(entry) = self.reply(*id) {
                    entry.gate.set(Some(*gate));
                }
            }
            Response::Done { id, stop, stats } => {
                if let Some(entry) = self.reply(*id) {
                    entry.outcome.set(Outcome::Finished(*stop));
                    self.stats.set(Some(*stats));
                }
                self.finish(*id);
            }
            Response::GenerateFailed { id, error } => {
                if let Some(entry) = self.reply(*id) {
                    entry.outcome.set(Outcome::Failed(error.clone()));
                }
                self.finish(*id);
            }
            Response::Crashed { message } => {
                if let Some(id) = self.generating.get_untracked() {
                    if let Some(entry) = self.reply(id) {
                        entry.outcome.set(Outcome::Crashed(one_line(message)));
                    }
                    self.generating.set(None);
                }
            }
            Response::Progress { .. }
            | Response::Ready { .. }
            | Response::LoadFailed { .. }
            | Response::BuildProgress { .. }
            | Response::VectorAdded(_)
            | Response::VectorBytes { .. }
            | Response::BuildFailed { .. }
            | Response::ImportFailed { .. }
            | Response::ExportFailed { .. }
            | Response::CompareStarted { .. }
            | Response::CompareStep { .. }
            | Response::CompareDone { .. }
            | Response::CompareFailed { .. } => {}
        }
    }

    fn finish(&self, id: u64) {
        if self.generating.get_untracked() == Some(id) {
            self.generating.set(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chat whose last message is the reply of generation 7, still streaming.
    fn streaming_reply() -> (ChatState, Entry) {
        let chat = ChatState::new();
        let reply = Entry {
            key: 1,
            role: Role::Assistant,
            text: ArcRwSignal::new(String::new()),
            outcome: ArcRwSignal::new(Outcome::Streaming),
            generation: Some(7),
            gate: ArcRwSignal::new(None),
        };
        chat.entries.set(vec![reply.clone()]);
        chat.generating.set(Some(7));
        (chat, reply)
    }

    #[test]
    fn tokens_stream_into_their_reply_until_done() {
        let (chat, reply) = streaming_reply();
        chat.apply(&Response::Token { id: 7, piece: "Hel".into() });
        chat.apply(&Response::Token { id: 3, piece: "stale".into() });
        chat.apply(&Response::Token { id: 7, piece: "lo".into() });
        let stats = GenStats { generated_tokens: 2, ..GenStats::default() };
        chat.apply(&Response::Done { id: 7, stop: StopReason::MaxTokens, stats });
        chat.apply(&Response::Token { id: 7, piece: " late".into() });
        assert_eq!(reply.text.get_untracked(), "Hello");
        assert_eq!(reply.gate.get_untracked(), None, "no gate without a gated slider");
        assert_eq!(reply.outcome.get_untracked(), Outcome::Finished(StopReason::MaxTokens));
        assert_eq!(chat.generating.get_untracked(), None);
        assert_eq!(chat.stats.get_untracked(), Some(stats));
    }

    #[test]
    fn the_gate_reading_lands_on_its_reply() {
        let (chat, reply) = streaming_reply();
        let gate = GateReport { score: 0.83, threshold: 0.41 };
        chat.apply(&Response::Gate { id: 3, gate: GateReport { score: 0.1, threshold: 0.41 } });
        chat.apply(&Response::Gate { id: 7, gate });
        assert_eq!(reply.gate.get_untracked(), Some(gate));
        let en = (crate::ui::i18n::EN.chat.gate)(&gate);
        assert_eq!(en, "Safety engaged: this request scored 0.83 against a threshold of 0.41.");
        assert!((crate::ui::i18n::ZH.chat.gate)(&gate).contains("0.83"));
    }

    #[test]
    fn a_failed_reply_keeps_one_line() {
        let (chat, reply) = streaming_reply();
        let error = Failure::Engine { detail: "out of memory".into() };
        chat.apply(&Response::GenerateFailed { id: 7, error: error.clone() });
        assert_eq!(reply.outcome.get_untracked(), Outcome::Failed(error));
        assert_eq!(chat.generating.get_untracked(), None);
    }

    #[test]
    fn a_crash_ends_the_reply_in_flight() {
        let (chat, reply) = streaming_reply();
        chat.apply(&Response::Crashed { message: "device lost".into() });
        assert!(matches!(reply.outcome.get_untracked(), Outcome::Crashed(m) if m.contains("device lost")));
        assert_eq!(chat.generating.get_untracked(), None);
    }

    #[test]
    fn empty_turns_are_left_out() {
        let history = vec![(Role::User, "a".to_string()), (Role::Assistant, String::new()), (Role::User, "b".into())];
        let roles: Vec<Role> = conversation("", &history).iter().map(|m| m.role).collect();
        assert_eq!(roles, vec![Role::User, Role::User]);
    }
}
