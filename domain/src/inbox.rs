//! The inbox: messages taken by agents for an account, delivered to contacts, closed and reopened.
//!
//! Messages hold callers' personal data, so their streams are purged after the retention period
//! (60 days by default); [`is_expired`] says when.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity, optional_line, required_line, required_text};
use crate::event::{domain_events, with_default};
use crate::ids::{AccountId, ContactId, MessageId};

/// Messages and calls are kept this many days unless the deployment says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 60;

domain_events! {
    /// Every event of a message stream.
    pub enum MessageEvent upcast with upcast {
        MessageTaken = 2,
        MessageDelivered = 1,
        MessageClosed = 1,
        MessageReopened = 1,
    }
}

/// One upcasting step for message events (see [`crate::event`]).
fn upcast(event_type: &str, from_version: u32, data: Value) -> Option<Value> {
    match (event_type, from_version) {
        // v2 added `urgent`; messages taken before could not be marked urgent.
        ("MessageTaken", 1) => Some(with_default(data, "urgent", Value::Bool(false))),
        _ => None,
    }
}

/// Schema v2 added `urgent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTaken {
    pub message_id: MessageId,
    pub account_id: AccountId,
    pub taken_at: DateTime<Utc>,
    pub agent: String,
    pub caller_name: Option<String>,
    pub caller_number: Option<String>,
    pub text: String,
    pub urgent: bool,
}

/// Who a message was delivered to: a directory contact, or someone named in free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    Contact { contact_id: ContactId },
    Other { name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageDelivered {
    pub to: Recipient,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageClosed {
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageReopened {
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub enum MessageCommand {
    /// Operators: record a message taken by an agent.
    Take(TakeMessageCommand),
    /// Operators: the message reached someone (at the context's instant).
    Deliver { to: Recipient },
    /// Clients and operators.
    Close,
    /// Clients and operators.
    Reopen,
}

#[derive(Debug, Clone)]
pub struct TakeMessageCommand {
    pub message_id: MessageId,
    pub account_id: AccountId,
    pub taken_at: DateTime<Utc>,
    pub agent: String,
    pub caller_name: Option<String>,
    pub caller_number: Option<String>,
    pub text: String,
    pub urgent: bool,
}

/// A message's state; `None` before it is taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageState {
    pub message: Option<MessageInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageInfo {
    pub taken: MessageTaken,
    pub open: bool,
    pub deliveries: Vec<MessageDelivered>,
}

pub fn decide(
    state: &MessageState,
    command: MessageCommand,
    ctx: &CommandContext,
) -> Result<Vec<MessageEvent>, DomainError> {
    ctx.require_writer()?;
    if let MessageCommand::Take(c) = command {
        ctx.require_operator("record messages")?;
        if state.message.is_some() {
            return Err(DomainError::AlreadyExists(Entity::Message));
        }
        return Ok(vec![
            MessageTaken {
                message_id: c.message_id,
                account_id: c.account_id,
                taken_at: c.taken_at,
                agent: required_line("agent", &c.agent, 100)?,
                caller_name: optional_line("caller's name", c.caller_name.as_deref(), 100)?,
                caller_number: optional_line("caller's number", c.caller_number.as_deref(), 40)?,
                text: required_text("message", &c.text, 10_000)?,
                urgent: c.urgent,
            }
            .into(),
        ]);
    }
    let message = state.message.as_ref().ok_or(DomainError::NotFound(Entity::Message))?;
    let at = ctx.now;
    match command {
        MessageCommand::Take(_) => Err(DomainError::AlreadyExists(Entity::Message)),
        MessageCommand::Deliver { to } => {
            ctx.require_operator("record deliveries")?;
            let to = match to {
                Recipient::Other { name } => Recipient::Other { name: required_line("recipient", &name, 100)? },
                contact => contact,
            };
            Ok(vec![MessageDelivered { to, at }.into()])
        }
        MessageCommand::Close if !message.open => Err(DomainError::MessageAlreadyClosed),
        MessageCommand::Close => Ok(vec![MessageClosed { at }.into()]),
        MessageCommand::Reopen if message.open => Err(DomainError::MessageAlreadyOpen),
        MessageCommand::Reopen => Ok(vec![MessageReopened { at }.into()]),
    }
}

pub fn evolve(mut state: MessageState, event: &MessageEvent) -> MessageState {
    match event {
        MessageEvent::MessageTaken(e) => {
            state.message = Some(MessageInfo { taken: e.clone(), open: true, deliveries: Vec::new() });
        }
        MessageEvent::MessageDelivered(e) => {
            if let Some(m) = &mut state.message {
                m.deliveries.push(e.clone());
            }
        }
        MessageEvent::MessageClosed(_) | MessageEvent::MessageReopened(_) => {
            if let Some(m) = &mut state.message {
                m.open = matches!(event, MessageEvent::MessageReopened(_));
            }
        }
    }
    state
}

/// Whether something that happened at `at` is past the retention period at `now`.
pub fn is_expired(at: DateTime<Utc>, now: DateTime<Utc>, retention_days: u32) -> bool {
    now - at > TimeDelta::days(i64::from(retention_days))
}

/// The message aggregate: streams `message-<uuid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Message;

impl Aggregate for Message {
    const CATEGORY: &'static str = "message";
    type Id = MessageId;
    type State = MessageState;
    type Command = MessageCommand;
    type Event = MessageEvent;

    fn decide(s: &MessageState, c: MessageCommand, ctx: &CommandContext) -> Result<Vec<MessageEvent>, DomainError> {
        decide(s, c, ctx)
    }

    fn evolve(state: MessageState, event: &MessageEvent) -> MessageState {
        evolve(state, event)
    }
}

pub fn stream_id(id: MessageId) -> String {
    Message::stream_id(id)
}
