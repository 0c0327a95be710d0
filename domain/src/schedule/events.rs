//! What happens to a schedule, in past tense. Who did it and when it was recorded are kept by the
//! event store beside each event; reasons for corrections and comment authors are part of the data.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{domain_events, with_default};
use crate::ids::{AccountId, ContactId, OverrideId, ScheduleId, SeriesId, ShiftId};
use crate::schedule::series::SeriesRule;

domain_events! {
    /// Every event of a schedule stream, with its current schema version.
    pub enum ScheduleEvent upcast with upcast {
        ScheduleCreated = 1,
        ScheduleRenamed = 1,
        ScheduleCopied = 1,
        ScheduleDeleted = 1,
        ShiftAdded = 2,
        SeriesCreated = 2,
        ShiftEdited = 1,
        ShiftRemoved = 1,
        ShiftAssigned = 2,
        OverrideAdded = 1,
        OverrideRemoved = 1,
        OverrideCutShort = 1,
        ShiftUnassigned = 1,
        ShiftsSwapped = 1,
        ShiftCommented = 1,
    }
}

impl ScheduleEvent {
    /// The written reason an operator gave to correct an ended shift, for the history view.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ScheduleEvent::ShiftAssigned(e) => e.reason.as_deref(),
            ScheduleEvent::OverrideAdded(e) => e.reason.as_deref(),
            ScheduleEvent::OverrideRemoved(e) => e.reason.as_deref(),
            ScheduleEvent::ShiftUnassigned(e) => e.reason.as_deref(),
            ScheduleEvent::ShiftsSwapped(e) => e.reason.as_deref(),
            ScheduleEvent::ShiftCommented(e) => e.reason.as_deref(),
            ScheduleEvent::ShiftAdded(e) => e.reason.as_deref(),
            ScheduleEvent::SeriesCreated(e) => e.reason.as_deref(),
            _ => None,
        }
    }
}

/// One upcasting step for schedule events (see [`crate::event`] for the procedure).
fn upcast(event_type: &str, from_version: u32, data: Value) -> Option<Value> {
    match (event_type, from_version) {
        // v2 added the assignment's optional comment.
        ("ShiftAssigned", 1) => Some(with_default(data, "comment", Value::Null)),
        // v2 added the reason an operator gives for a shift that starts in the past.
        ("ShiftAdded" | "SeriesCreated", 1) => Some(with_default(data, "reason", Value::Null)),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCreated {
    pub schedule_id: ScheduleId,
    pub account_id: AccountId,
    pub name: String,
    pub time_zone: Tz,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRenamed {
    pub name: String,
}

/// A new schedule that starts as a copy of another one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCopied {
    pub schedule_id: ScheduleId,
    pub account_id: AccountId,
    pub name: String,
    pub time_zone: Tz,
    pub copied_from: ScheduleId,
    pub with_assignments: bool,
    pub series: Vec<CopiedSeries>,
    pub shifts: Vec<ShiftRecord>,
}

/// A series as copied: its new id, its rule and its shifts in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopiedSeries {
    pub series_id: SeriesId,
    pub rule: SeriesRule,
    pub shift_ids: Vec<ShiftId>,
}

/// A shift written out in full, with its assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftRecord {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub name: String,
    pub role: String,
    pub series_id: Option<SeriesId>,
    pub assignee: Option<ContactId>,
    pub overrides: Vec<OverrideRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideRecord {
    pub override_id: OverrideId,
    pub contact_id: ContactId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleDeleted {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftAdded {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub name: String,
    pub role: String,
    /// Why an operator added a shift that starts in the past.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A whole series in one event: the rule as given and the instants it produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesCreated {
    pub series_id: SeriesId,
    pub rule: SeriesRule,
    pub rank: u32,
    pub name: String,
    pub role: String,
    pub shifts: Vec<SeriesShift>,
    /// Why an operator added a series that starts in the past.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesShift {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The shift's values after the edit (all of them, changed or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftEdited {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftRemoved {
    pub shift_id: ShiftId,
}

/// The base contact of a shift was set. Schema v2 added `comment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftAssigned {
    pub shift_id: ShiftId,
    pub contact_id: ContactId,
    pub comment: Option<String>,
    /// Why an operator corrected an ended shift.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideAdded {
    pub override_id: OverrideId,
    pub shift_id: ShiftId,
    pub contact_id: ContactId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub comment: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideRemoved {
    pub override_id: OverrideId,
    pub shift_id: ShiftId,
    /// Who the override had put on call, for the history.
    pub contact_id: ContactId,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A running override was unassigned: its contact covered until `end`, and the
/// shift's base contact covers from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideCutShort {
    pub override_id: OverrideId,
    pub shift_id: ShiftId,
    /// Who the override had put on call, for the history.
    pub contact_id: ContactId,
    /// The override's new end: when it was unassigned.
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftUnassigned {
    pub shift_id: ShiftId,
    /// The base contact that was removed, for the history.
    pub contact_id: ContactId,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The base contacts of two shifts were exchanged; the contacts are those after the swap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftsSwapped {
    pub shift_a: ShiftId,
    pub shift_b: ShiftId,
    pub contact_a: Option<ContactId>,
    pub contact_b: Option<ContactId>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftCommented {
    pub shift_id: ShiftId,
    pub text: String,
    /// The author's username.
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
}
