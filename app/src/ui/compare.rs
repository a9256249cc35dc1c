//! The classroom comparison's state: the prompt, the two replies token by token with what the
//! model looked like at each, and which token the user is looking at.

use std::sync::Arc;

use leptos::prelude::*;

use crate::protocol::{
    Candidate, Coefs, Failure, GateReport, GenStats, Request, Response, Role, Sampling, SideToken, StopReason,
    conversation,
};

use super::format::one_line;
use super::worker_bridge::Bridge;

/// Comparison ids start here, far from the chat's, so neither side mistakes the other's messages.
const FIRST_ID: u64 = 1 << 40;

/// Comparisons are short by default: on a CPU each step costs about one chat token.
pub const DEFAULT_MAX_TOKENS: u32 = 48;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Plain,
    Steered,
}

/// One generated token of one side.
#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    /// Its position in the reply, from 0.
    pub index: u32,
    pub data: SideToken,
}

impl Tok {
    /// The chosen token's probability with the side's own settings (temperature 1), and without
    /// steering where the side is steered.
    pub fn chosen(&self) -> Option<&Candidate> {
        self.data.top.iter().find(|c| c.token == self.data.token)
    }
}

/// What the comparison shown was run with and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub id: u64,
    pub coefs: Coefs,
    pub seed: u64,
    /// The concept ids of the readings' columns, once the worker has read the prompt.
    pub concepts: Vec<String>,
    pub n_layer: u32,
    pub started: bool,
    /// What the steered side's safety gate read from the prompt.
    pub gate: Option<GateReport>,
    pub plain_stop: Option<StopReason>,
    pub steered_stop: Option<StopReason>,
    pub stats: Option<GenStats>,
    pub error: Option<RunError>,
}

/// Why a comparison ended early.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    Failed(Failure),
    /// The worker crashed: its panic line.
    Crashed(String),
}

impl RunInfo {
    fn new(id: u64, coefs: Coefs, seed: u64) -> Self {
        Self {
            id,
            coefs,
            seed,
            concepts: Vec::new(),
            n_layer: 0,
            started: false,
            gate: None,
            plain_stop: None,
            steered_stop: None,
            stats: None,
            error: None,
        }
    }
}

#[derive(Clone, Copy)]
pub struct CompareState {
    pub prompt: RwSignal<String>,
    pub max_tokens: RwSignal<u32>,
    pub run: RwSignal<Option<RunInfo>>,
    pub plain: RwSignal<Vec<Arc<Tok>>>,
    pub steered: RwSignal<Vec<Arc<Tok>>>,
    /// The comparison in flight.
    pub running: RwSignal<Option<u64>>,
    /// The token the Inside view shows.
    pub selected: RwSignal<Option<(Side, u32)>>,
    next_id: StoredValue<u64>,
}

impl CompareState {
    pub fn new(prompt: Option<String>) -> Self {
        Self {
            prompt: RwSignal::new(prompt.unwrap_or_default()),
            max_tokens: RwSignal::new(DEFAULT_MAX_TOKENS),
            run: RwSignal::new(None),
            plain: RwSignal::new(Vec::new()),
            steered: RwSignal::new(Vec::new()),
            running: RwSignal::new(None),
            selected: RwSignal::new(None),
            next_id: StoredValue::new(FIRST_ID),
        }
    }

    pub fn side(&self, side: Side) -> RwSignal<Vec<Arc<Tok>>> {
        match side {
            Side::Plain => self.plain,
            Side::Steered => self.steered,
        }
    }

    /// Starts a comparison of `prompt` (one user turn after the system prompt) with `coefs`.
    pub fn start(&self, bridge: Bridge, system_prompt: &str, mut sampling: Sampling, coefs: Coefs) {
        let text = self.prompt.get_untracked().trim().to_string();
        if text.is_empty() || self.running.get_untracked().is_some() {
            return;
        }
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        sampling.max_tokens = self.max_tokens.get_untracked();
        let messages = conversation(system_prompt, &[(Role::User, text)]);
        self.plain.set(Vec::new());
        self.steered.set(Vec::new());
        self.selected.set(None);
        self.run.set(Some(RunInfo::new(id, coefs.clone(), sampling.seed)));
        self.running.set(Some(id));
        bridge.send(Request::Compare { id, messages, sampling, coefs });
    }

    pub fn stop(&self, bridge: Bridge) {
        if self.running.get_untracked().is_some() {
            bridge.send(Request::Stop);
        }
    }

    fn update_run(&self, id: u64, f: impl FnOnce(&mut RunInfo)) {
        self.run.update(|run| {
            if let Some(run) = run.as_mut().filter(|r| r.id == id) {
                f(run);
            }
        });
    }

    /// Follows the worker's comparison messages; ignores the others.
    pub fn apply(&self, response: &Response) {
        let current = self.running.get_untracked();
        match response {
            Response::CompareStarted { id, concepts, n_layer, gate, .. } if current == Some(*id) => {
                self.update_run(*id, |run| {
                    run.concepts = concepts.clone();
                    run.n_layer = *n_layer;
                    run.gate = *gate;
                    run.started = true;
                });
            }
            Response::CompareStep { id, step, plain, steered } if current == Some(*id) => {
                for (side, token) in [(Side::Plain, plain), (Side::Steered, steered)] {
                    if let Some(data) = token {
                        let tok = Arc::new(Tok { index: *step, data: data.clone() });
                        self.side(side).update(|v| v.push(tok));
                    }
                }
                // Follow the newest steered token until the user picks one.
                if self.selected.get_untracked().is_none_or(|(_, i)| i + 1 == *step) && steered.is_some() {
                    self.selected.set(Some((Side::Steered, *step)));
                }
            }
            Response::CompareDone { id, plain, steered, stats } if current == Some(*id) => {
                self.update_run(*id, |run| {
                    run.plain_stop = Some(*plain);
                    run.steered_stop = Some(*steered);
                    run.stats = Some(*stats);
                });
                self.running.set(None);
            }
            Response::CompareFailed { id, error } if current == Some(*id) => {
                self.fail(*id, RunError::Failed(error.clone()));
            }
            Response::Crashed { message } => {
                if let Some(id) = current {
                    self.fail(id, RunError::Crashed(one_line(message)));
                }
            }
            // A new model drops the comparison in flight.
            Response::Progress { .. } | Response::LoadFailed { .. } => {
                if let Some(id) = current {
                    self.update_run(id, |run| {
                        run.plain_stop.get_or_insert(StopReason::Stopped);
                        run.steered_stop.get_or_insert(StopReason::Stopped);
                    });
                    self.running.set(None);
                }
            }
            _ => {}
        }
    }

    fn fail(&self, id: u64, error: RunError) {
        self.update_run(id, |run| run.error = Some(error));
        self.running.set(None);
    }

    /// Where the replies part (see [`parted_at`]).
    pub fn parted_at(&self) -> Option<u32> {
        let done = self.run.with(|r| r.as_ref().map(|r| (r.plain_stop.is_some(), r.steered_stop.is_some())));
        let (plain_done, steered_done) = done.unwrap_or((false, false));
        self.plain.with(|p| self.steered.with(|s| parted_at(&tokens(p), &tokens(s), plain_done, steered_done)))
    }
}

fn tokens(side: &[Arc<Tok>]) -> Vec<u32> {
    side.iter().map(|t| t.data.token).collect()
}

/// The first position where the replies differ: a different token, or one reply over while the
/// other goes on. `None` while they agree.
pub fn parted_at(plain: &[u32], steered: &[u32], plain_done: bool, steered_done: bool) -> Option<u32> {
    if let Some(i) = plain.iter().zip(steered).position(|(a, b)| a != b) {
        return Some(i as u32);
    }
    let n = plain.len().min(steered.len());
    let one_ended_first = (plain_done && steered.len() > n) || (steered_done && plain.len() > n);
    one_ended_first.then_some(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side_token(token: u32) -> SideToken {
        SideToken {
            token,
            piece: format!("t{token}"),
            projections: vec![None, Some(0.5)],
            norms: vec![1.0, 2.0],
            unsteered: None,
            top: vec![Candidate { token, piece: String::new(), before: 0.2, after: 0.4 }],
        }
    }

    #[test]
    fn replies_part_at_the_first_different_token_or_where_one_ends() {
        assert_eq!(parted_at(&[1, 2, 3], &[1, 2, 4], false, false), Some(2));
        assert_eq!(parted_at(&[1, 2], &[1, 2], false, false), None);
        assert_eq!(parted_at(&[1, 2], &[1, 2, 5], true, false), Some(2));
        assert_eq!(parted_at(&[1, 2], &[1, 2, 5], false, false), None, "the shorter one may still go on");
        assert_eq!(parted_at(&[], &[], true, true), None);
    }

    #[test]
    fn steps_fill_their_sides_and_done_ends_the_run() {
        let state = CompareState::new(Some("hi".into()));
        let id = FIRST_ID;
        state.running.set(Some(id));
        state.run.set(Some(RunInfo::new(id, Coefs::new(), 1)));
        state.apply(&Response::CompareStarted {
            id,
            concepts: vec!["sentiment".into()],
            n_layer: 2,
            prompt_tokens: 9,
            gate: None,
        });
        state.apply(&Response::CompareStep { id, step: 0, plain: Some(side_token(5)), steered: Some(side_token(5)) });
        state.apply(&Response::CompareStep { id: id + 7, step: 0, plain: Some(side_token(1)), steered: None });
        state.apply(&Response::CompareStep { id, step: 1, plain: Some(side_token(6)), steered: Some(side_token(7)) });
        assert_eq!(state.plain.get_untracked().len(), 2);
        assert_eq!(state.parted_at(), Some(1));
        assert_eq!(state.selected.get_untracked(), Some((Side::Steered, 1)), "follows the newest token");
        assert_eq!(state.steered.get_untracked()[1].chosen().map(|c| c.after), Some(0.4));
        let stats = GenStats::default();
        let done = Response::CompareDone { id, plain: StopReason::MaxTokens, steered: StopReason::Stopped, stats };
        state.apply(&done);
        assert_eq!(state.running.get_untracked(), None);
        let run = state.run.get_untracked().unwrap();
        assert_eq!(run.concepts, ["sentiment"]);
        assert_eq!(run.steered_stop, Some(StopReason::Stopped));
    }

    #[test]
    fn a_failure_ends_the_run_and_a_chat_failure_does_not() {
        let state = CompareState::new(None);
        state.running.set(Some(FIRST_ID));
        state.run.set(Some(RunInfo::new(FIRST_ID, Coefs::new(), 1)));
        let full = Failure::ContextFull { needed: 9000, limit: 8192 };
        state.apply(&Response::GenerateFailed { id: FIRST_ID, error: full.clone() });
        assert_eq!(state.running.get_untracked(), Some(FIRST_ID), "a chat failure is not the comparison's");
        state.apply(&Response::CompareFailed { id: FIRST_ID, error: full.clone() });
        assert_eq!(state.run.get_untracked().unwrap().error, Some(RunError::Failed(full)));
        assert_eq!(state.running.get_untracked(), None);
    }
}
