//! What a schedule knows after its events: its shifts, their contacts, overrides and comments, and
//! an index of shifts by lane for fast questions.
//!
//! A *lane* is one (role, rank) pair. Shifts of one lane never overlap, so inside a lane the shifts
//! sorted by start are also sorted by end, and the shift covering an instant is found by a binary
//! search. The index is part of the state and is kept up to date by `evolve`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::ids::{AccountId, ContactId, OverrideId, ScheduleId, SeriesId, ShiftId};
use crate::schedule::series::SeriesRule;

/// A schedule's state. `Default` is "not created yet".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleState {
    pub(crate) info: Option<ScheduleInfo>,
    pub(crate) shifts: HashMap<ShiftId, Shift>,
    pub(crate) series: HashMap<SeriesId, Series>,
    pub(crate) lanes: BTreeMap<Lane, BTreeMap<DateTime<Utc>, ShiftId>>,
    /// How many events have been applied: the stream version.
    pub(crate) version: u64,
}

/// The schedule's own attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleInfo {
    pub id: ScheduleId,
    pub account_id: AccountId,
    pub name: String,
    pub time_zone: Tz,
    pub copied_from: Option<ScheduleId>,
    pub deleted: bool,
}

/// A (role, rank) pair: the shifts that may not overlap one another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lane {
    pub role: String,
    pub rank: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub name: String,
    pub role: String,
    pub series_id: Option<SeriesId>,
    /// The base contact.
    pub assignee: Option<ContactId>,
    /// The comment given with the latest assignment.
    pub assign_comment: Option<String>,
    /// Sorted by start; they never overlap one another.
    pub overrides: Vec<Override>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub id: OverrideId,
    pub contact_id: ContactId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: SeriesId,
    pub rule: SeriesRule,
    /// The series' shifts still in the schedule, in order.
    pub shift_ids: Vec<ShiftId>,
}

impl Shift {
    pub fn lane(&self) -> Lane {
        Lane { role: self.role.clone(), rank: self.rank }
    }

    pub fn has_started(&self, now: DateTime<Utc>) -> bool {
        self.start <= now
    }

    pub fn covers(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    pub fn find_override(&self, id: OverrideId) -> Option<&Override> {
        self.overrides.iter().find(|o| o.id == id)
    }
}

impl ScheduleState {
    /// The schedule's attributes, or `None` before it is created.
    pub fn info(&self) -> Option<&ScheduleInfo> {
        self.info.as_ref()
    }

    pub fn exists(&self) -> bool {
        self.info.as_ref().is_some_and(|i| !i.deleted)
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn time_zone(&self) -> Tz {
        self.info.as_ref().map_or(chrono_tz::UTC, |i| i.time_zone)
    }

    pub fn shift(&self, id: ShiftId) -> Option<&Shift> {
        self.shifts.get(&id)
    }

    pub fn series(&self, id: SeriesId) -> Option<&Series> {
        self.series.get(&id)
    }

    pub fn shift_count(&self) -> usize {
        self.shifts.len()
    }

    /// Every shift, by start then rank then role.
    pub fn shifts(&self) -> Vec<&Shift> {
        let mut all: Vec<&Shift> = self.shifts.values().collect();
        sort_shifts(&mut all);
        all
    }

    /// The shift of `lane` that overlaps `[start, end)`, other than `except`, if any.
    pub(crate) fn lane_conflict(
        &self,
        lane: &Lane,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        except: Option<ShiftId>,
    ) -> Option<ShiftId> {
        let shifts = self.lanes.get(lane)?;
        // The shifts starting before `end` are sorted by end too; the last of them (skipping the
        // excepted one) is the only one that can still reach past `start`.
        shifts
            .range(..end)
            .rev()
            .map(|(_, id)| *id)
            .find(|id| Some(*id) != except)
            .filter(|id| self.shifts.get(id).is_some_and(|s| s.end > start))
    }

    // --- mutations used by evolve, keeping the lane index in step

    pub(crate) fn insert_shift(&mut self, shift: Shift) {
        self.lanes.entry(shift.lane()).or_default().insert(shift.start, shift.id);
        self.shifts.insert(shift.id, shift);
    }

    pub(crate) fn take_shift(&mut self, id: ShiftId) -> Option<Shift> {
        let shift = self.shifts.remove(&id)?;
        let lane = shift.lane();
        if let Some(shifts) = self.lanes.get_mut(&lane) {
            shifts.remove(&shift.start);
            if shifts.is_empty() {
                self.lanes.remove(&lane);
            }
        }
        Some(shift)
    }
}

/// The order every listing uses: start, then rank, then role.
pub(crate) fn sort_shifts(shifts: &mut [&Shift]) {
    shifts.sort_by(|a, b| (a.start, a.rank, &a.role, a.id).cmp(&(b.start, b.rank, &b.role, b.id)));
}
