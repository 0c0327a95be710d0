//! Who is acting, when, and why: the context every command is decided in.
//!
//! The domain has no clock and no session: the caller puts the current instant, the authenticated
//! actor and an optional written reason into a [`CommandContext`].

use chrono::{DateTime, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::UserId;

/// What a user may do (DOMAIN.md, "Who uses Vigie").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A client company's user: changes on-call assignments, closes messages.
    Client,
    /// The answering service's team: may do everything, on every account.
    Operator,
    /// The dispatch system: reads who is on call, changes nothing.
    Dispatcher,
    /// Replays history, changes nothing.
    Auditor,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Auditor => "auditor",
        }
    }
}

/// The authenticated user behind a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
}

/// Everything a command needs to know that is not in the command itself.
///
/// Whether the actor reaches the account a command acts on is checked by the caller, which holds the
/// user's accounts; the domain checks what the role allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: Actor,
    pub now: DateTime<Utc>,
    /// A written reason; required when an operator corrects a shift that has ended.
    pub reason: Option<String>,
}

impl CommandContext {
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Self {
        Self { actor, now, reason: None }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn role(&self) -> Role {
        self.actor.role
    }

    /// The reason, trimmed; a blank reason counts as none.
    pub fn reason(&self) -> Option<String> {
        self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned)
    }

    /// Clients and operators may change things; dispatchers and auditors only read.
    pub(crate) fn require_writer(&self) -> Result<(), DomainError> {
        match self.role() {
            Role::Client | Role::Operator => Ok(()),
            Role::Dispatcher | Role::Auditor => Err(DomainError::ReadOnlyRole),
        }
    }

    /// Actions kept for the service team, e.g. "create shifts".
    pub(crate) fn require_operator(&self, action: &'static str) -> Result<(), DomainError> {
        self.require_writer()?;
        match self.role() {
            Role::Operator => Ok(()),
            _ => Err(DomainError::OperatorOnly(action)),
        }
    }

    /// The rule for changing a shift that may have ended: clients cannot, operators only with a reason.
    /// Returns the reason to keep in the event.
    pub(crate) fn may_change_shift_ending(&self, end: DateTime<Utc>) -> Result<Option<String>, DomainError> {
        self.require_writer()?;
        let reason = self.reason();
        if end > self.now {
            return Ok(reason);
        }
        match (self.role(), reason) {
            (Role::Operator, Some(reason)) => Ok(Some(reason)),
            (Role::Operator, None) => Err(DomainError::ReasonRequired),
            _ => Err(DomainError::ShiftEnded),
        }
    }

    /// The rule for a change to who is on call from `from` on, on a shift ending at `end`:
    /// who was on call before now is what dispatch acted on, so clients cannot change it
    /// and operators only with a written reason. Returns the reason to keep in the event.
    pub(crate) fn may_change_on_call(
        &self,
        end: DateTime<Utc>,
        from: DateTime<Utc>,
    ) -> Result<Option<String>, DomainError> {
        let reason = self.may_change_shift_ending(end)?;
        if from >= self.now {
            return Ok(reason);
        }
        match (self.role(), reason) {
            (Role::Operator, Some(reason)) => Ok(Some(reason)),
            (Role::Operator, None) => Err(DomainError::PastOnCallNeedsReason),
            _ => Err(DomainError::PastOnCall),
        }
    }

    /// Where a change that its user asked to start at `start` takes effect. A start up to
    /// [`PAST_GRACE`] before now means "from now on": the user's clock said now, and the server
    /// reads the request a moment later. It takes effect at the next whole second instead, so
    /// who was on call until now stays as dispatch saw it. An operator's written reason keeps
    /// the start as asked: that is a correction of the past.
    pub(crate) fn effective_start(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        let correcting = self.role() == Role::Operator && self.reason().is_some();
        if correcting || start >= self.now || start < self.now - PAST_GRACE {
            return start;
        }
        self.next_whole_second()
    }

    /// The first whole second not before now: where a change "from now on" begins, so that
    /// whoever was on call until now stays so, to the end of the second.
    pub(crate) fn next_whole_second(&self) -> DateTime<Utc> {
        self.now.duration_round_up(chrono::TimeDelta::seconds(1)).unwrap_or(self.now)
    }
}

/// How far before now a change "from now on" may start: clocks and networks lag.
pub const PAST_GRACE: chrono::Duration = chrono::Duration::minutes(5);
