//! What a schedule knows after its events: its shifts, their contacts, overrides and comments, and
//! an index of shifts by lane for fast questions.
//!
//! A *lane* is one (role, rank) pair. Shifts of one lane never overlap, so inside a lane the shifts
//! sorted by start are also sorted by end, and the shift covering an instant is found by a binary
//! search. The index is part of the state and is kept up to date by `evolve`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use thin_vec::ThinVec;

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
    pub(crate) lanes: BTreeMap<Lane, LaneShifts>,
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
    pub role: Arc<str>,
    pub rank: u32,
}

/// One lane's shifts as (start, id), sorted by start. A sorted vector rather than a B-tree: the
/// live model holds a million of these entries, and a vector stores each in 28 bytes where B-tree
/// nodes left half-full by in-order inserts take about twice that. Shifts mostly arrive in order,
/// so inserting is nearly always a push.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LaneShifts(Vec<(DateTime<Utc>, ShiftId)>);

impl LaneShifts {
    /// The shifts starting strictly before `t`.
    pub(crate) fn starting_before(&self, t: DateTime<Utc>) -> &[(DateTime<Utc>, ShiftId)] {
        &self.0[..self.0.partition_point(|(start, _)| *start < t)]
    }

    /// The shifts starting at or before `t`.
    pub(crate) fn starting_by(&self, t: DateTime<Utc>) -> &[(DateTime<Utc>, ShiftId)] {
        &self.0[..self.0.partition_point(|(start, _)| *start <= t)]
    }

    /// The shifts starting in `[from, to)`.
    pub(crate) fn starting_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[(DateTime<Utc>, ShiftId)] {
        let first = self.0.partition_point(|(start, _)| *start < from);
        let end = self.0.partition_point(|(start, _)| *start < to);
        &self.0[first..end.max(first)]
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = ShiftId> + '_ {
        self.0.iter().map(|(_, id)| *id)
    }

    fn insert(&mut self, start: DateTime<Utc>, id: ShiftId) {
        match self.0.last() {
            Some((last, _)) if *last >= start => {
                let at = self.0.partition_point(|(s, _)| *s < start);
                self.0.insert(at, (start, id));
            }
            _ => self.0.push((start, id)),
        }
    }

    fn remove(&mut self, start: DateTime<Utc>, id: ShiftId) {
        let at = self.0.partition_point(|(s, _)| *s < start);
        if self.0.get(at) == Some(&(start, id)) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    /// Shared by every shift of a series: a year of weekly shifts holds one copy of each.
    pub name: Arc<str>,
    pub role: Arc<str>,
    pub series_id: Option<SeriesId>,
    /// The base contact.
    pub assignee: Option<ContactId>,
    /// The comment given with the latest assignment.
    pub assign_comment: Option<Box<str>>,
    /// Sorted by start; they never overlap one another. Most shifts have none, and a thin vector
    /// costs an empty shift one pointer instead of three words: a million shifts is 16 MB less.
    pub overrides: ThinVec<Override>,
    pub comments: ThinVec<Comment>,
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

    /// Each lane (by role, then rank) with its shifts in start order.
    pub fn lanes(&self) -> impl Iterator<Item = (&Lane, impl Iterator<Item = &Shift> + '_)> + '_ {
        self.lanes.iter().map(move |(lane, shifts)| (lane, shifts.ids().filter_map(move |id| self.shifts.get(&id))))
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
            .starting_before(end)
            .iter()
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
            shifts.remove(shift.start, shift.id);
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
