//! The call log: calls handled for an account, with an audio recording for "Voice" calls.
//!
//! The audio itself is kept in blob storage; events only describe it. Like messages, call streams
//! are purged after the retention period.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity, optional_line, required_line};
use crate::event::{domain_events, no_upcasters};
use crate::ids::{AccountId, CallId, RecordingId};

domain_events! {
    /// Every event of a call stream.
    pub enum CallEvent upcast with no_upcasters {
        CallLogged = 1,
        RecordingAttached = 1,
    }
}

/// "Details": a transaction without conversation (an e-mail handled, …); "Voice": a recorded call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Details,
    Voice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallLogged {
    pub call_id: CallId,
    pub account_id: AccountId,
    /// The telephony system's own call number, e.g. `15319140`.
    pub call_number: String,
    pub started_at: DateTime<Utc>,
    pub duration_seconds: u32,
    pub agent: String,
    pub caller_id: Option<String>,
    pub kind: CallKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingAttached {
    pub recording_id: RecordingId,
    pub content_type: String,
    pub bytes: u64,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub enum CallCommand {
    /// Operators.
    Log(LogCallCommand),
    /// Operators, for a Voice call, once the audio is in blob storage.
    AttachRecording(RecordingAttached),
}

#[derive(Debug, Clone)]
pub struct LogCallCommand {
    pub call_id: CallId,
    pub account_id: AccountId,
    pub call_number: String,
    pub started_at: DateTime<Utc>,
    pub duration_seconds: u32,
    pub agent: String,
    pub caller_id: Option<String>,
    pub kind: CallKind,
}

/// A call's state; `None` before it is logged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallState {
    pub call: Option<CallLogged>,
    pub recording: Option<RecordingAttached>,
}

pub fn decide(state: &CallState, command: CallCommand, ctx: &CommandContext) -> Result<Vec<CallEvent>, DomainError> {
    ctx.require_operator("record calls")?;
    match command {
        CallCommand::Log(c) => {
            if state.call.is_some() {
                return Err(DomainError::AlreadyExists(Entity::Call));
            }
            Ok(vec![
                CallLogged {
                    call_id: c.call_id,
                    account_id: c.account_id,
                    call_number: required_line("call number", &c.call_number, 40)?,
                    started_at: c.started_at,
                    duration_seconds: c.duration_seconds,
                    agent: required_line("agent", &c.agent, 100)?,
                    caller_id: optional_line("caller ID", c.caller_id.as_deref(), 40)?,
                    kind: c.kind,
                }
                .into(),
            ])
        }
        CallCommand::AttachRecording(r) => {
            let call = state.call.as_ref().ok_or(DomainError::NotFound(Entity::Call))?;
            if call.kind == CallKind::Details {
                return Err(DomainError::RecordingOnDetailsCall);
            }
            if state.recording.is_some() {
                return Err(DomainError::RecordingAlreadyAttached);
            }
            let content_type = required_line("content type", &r.content_type, 100)?;
            Ok(vec![RecordingAttached { content_type, ..r }.into()])
        }
    }
}

pub fn evolve(mut state: CallState, event: &CallEvent) -> CallState {
    match event {
        CallEvent::CallLogged(e) => state.call = Some(e.clone()),
        CallEvent::RecordingAttached(e) => state.recording = Some(e.clone()),
    }
    state
}

/// The call aggregate: streams `call-<uuid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Call;

impl Aggregate for Call {
    const CATEGORY: &'static str = "call";
    type Id = CallId;
    type State = CallState;
    type Command = CallCommand;
    type Event = CallEvent;

    fn decide(s: &CallState, c: CallCommand, ctx: &CommandContext) -> Result<Vec<CallEvent>, DomainError> {
        decide(s, c, ctx)
    }

    fn evolve(state: CallState, event: &CallEvent) -> CallState {
        evolve(state, event)
    }
}

pub fn stream_id(id: CallId) -> String {
    Call::stream_id(id)
}
