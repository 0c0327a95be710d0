//! What users ask of a schedule. Ids of new things and facts from other aggregates travel inside the
//! command, so deciding needs nothing but the schedule's own state.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::ids::{AccountId, ContactId, OverrideId, ScheduleId, SeriesId, ShiftId};
use crate::schedule::series::SeriesRule;
use crate::schedule::state::ScheduleState;

/// Every command a schedule accepts.
#[derive(Debug, Clone)]
pub enum ScheduleCommand {
    Create(CreateScheduleCommand),
    Rename(RenameScheduleCommand),
    Copy(Box<CopyScheduleCommand>),
    Delete(DeleteScheduleCommand),
    AddShift(AddShiftCommand),
    CreateSeries(CreateSeriesCommand),
    EditShift(EditShiftCommand),
    RemoveShift(RemoveShiftCommand),
    Assign(AssignCommand),
    Override(OverrideCommand),
    Unassign(UnassignCommand),
    Swap(SwapCommand),
    Comment(CommentCommand),
}

/// Operators: a new, empty schedule.
#[derive(Debug, Clone)]
pub struct CreateScheduleCommand {
    pub schedule_id: ScheduleId,
    pub account_id: AccountId,
    pub name: String,
    pub time_zone: Tz,
    /// Whether another schedule of the account has this name, looked up by the caller.
    pub name_taken: bool,
}

#[derive(Debug, Clone)]
pub struct RenameScheduleCommand {
    pub name: String,
    /// Whether another schedule of the account has this name, looked up by the caller.
    pub name_taken: bool,
}

/// Operators: sent to the *new* schedule, with the source schedule's state loaded by the caller.
/// The copy keeps the source's account, time zone, and the shifts that have not started yet
/// with their series; with `with_assignments` it also keeps their base contacts and overrides,
/// except deactivated contacts (never comments).
#[derive(Debug, Clone)]
pub struct CopyScheduleCommand {
    pub schedule_id: ScheduleId,
    pub name: String,
    pub source: ScheduleState,
    pub with_assignments: bool,
    /// The account's deactivated contacts, which the copy cannot newly assign.
    pub inactive_contacts: Vec<ContactId>,
    /// Whether another schedule of the account has the copy's name, looked up by the caller.
    pub name_taken: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteScheduleCommand;

/// Operators: one shift, at absolute instants.
#[derive(Debug, Clone)]
pub struct AddShiftCommand {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub name: String,
    pub role: String,
}

/// Operators: a repeating series in the schedule's wall-clock time. The shifts' ids are derived
/// from `series_id`.
#[derive(Debug, Clone)]
pub struct CreateSeriesCommand {
    pub series_id: SeriesId,
    pub rule: SeriesRule,
    pub rank: u32,
    pub name: String,
    pub role: String,
}

/// Operators: change a shift that has not started; `None` keeps a value.
#[derive(Debug, Clone)]
pub struct EditShiftCommand {
    pub shift_id: ShiftId,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub rank: Option<u32>,
    pub name: Option<String>,
    pub role: Option<String>,
}

impl EditShiftCommand {
    /// An edit that changes nothing yet: set the fields to change.
    pub fn of(shift_id: ShiftId) -> Self {
        Self { shift_id, start: None, end: None, rank: None, name: None, role: None }
    }
}

#[derive(Debug, Clone)]
pub struct RemoveShiftCommand {
    pub shift_id: ShiftId,
}

/// What the directory knows of a contact, looked up by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFacts {
    pub id: ContactId,
    pub account_id: AccountId,
    pub active: bool,
}

/// "Assign recurring": this shift and the following ones of its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    /// 1 = every shift, 2 = every other shift, …
    pub every: u32,
    /// The last local date a target shift may start on.
    pub until: Option<NaiveDate>,
}

/// Clients and operators: set the base contact of a shift (or of several with `recurring`).
#[derive(Debug, Clone)]
pub struct AssignCommand {
    pub shift_id: ShiftId,
    pub contact: ContactFacts,
    pub comment: Option<String>,
    pub recurring: Option<Recurrence>,
}

/// Clients and operators: a covering contact for part or all of a shift.
#[derive(Debug, Clone)]
pub struct OverrideCommand {
    pub override_id: OverrideId,
    pub shift_id: ShiftId,
    pub contact: ContactFacts,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub comment: Option<String>,
}

/// Clients and operators: remove an override, or without one the base contact.
#[derive(Debug, Clone)]
pub struct UnassignCommand {
    pub shift_id: ShiftId,
    pub override_id: Option<OverrideId>,
}

/// Clients and operators: exchange the base contacts of two shifts.
#[derive(Debug, Clone)]
pub struct SwapCommand {
    pub shift_a: ShiftId,
    pub shift_b: ShiftId,
    /// The deactivated contacts of the schedule's account, from the directory:
    /// a swap may not put one of them on a shift.
    pub inactive_contacts: Vec<ContactId>,
}

/// Clients and operators: a note on a shift; it never changes who is on call.
#[derive(Debug, Clone)]
pub struct CommentCommand {
    pub shift_id: ShiftId,
    pub text: String,
}

macro_rules! into_command {
    ($($variant:ident($command:ty)),+ $(,)?) => {
        $(impl From<$command> for ScheduleCommand {
            fn from(command: $command) -> Self {
                ScheduleCommand::$variant(command)
            }
        })+
    };
}

into_command!(
    Create(CreateScheduleCommand),
    Rename(RenameScheduleCommand),
    Delete(DeleteScheduleCommand),
    AddShift(AddShiftCommand),
    CreateSeries(CreateSeriesCommand),
    EditShift(EditShiftCommand),
    RemoveShift(RemoveShiftCommand),
    Assign(AssignCommand),
    Override(OverrideCommand),
    Unassign(UnassignCommand),
    Swap(SwapCommand),
    Comment(CommentCommand),
);

impl From<CopyScheduleCommand> for ScheduleCommand {
    fn from(command: CopyScheduleCommand) -> Self {
        ScheduleCommand::Copy(Box::new(command))
    }
}
