//! The calendar's colours and the range summary: how much of the shifts has a contact.
//!
//! A day is taken from local midnight to the next local midnight in the schedule's time zone, so a
//! daylight-saving day lasts 23 or 25 hours.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::series::start_of_day;
use crate::schedule::state::{ScheduleState, Shift, sort_shifts};

/// A day's colour in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Green: every instant of every shift's part in the day has a contact.
    Full,
    /// Yellow: some instants have a contact, some do not.
    Partial,
    /// Red: no instant has a contact, or the day has no shifts.
    None,
}

/// The manual's "0 assigned 2 unassigned" and "Total hours assigned: 16.50".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Shifts overlapping the range that have a base contact.
    pub assigned: usize,
    /// Shifts overlapping the range without a base contact.
    pub unassigned: usize,
    /// Hours inside the range covered by a contact (base or override), two decimals.
    pub hours_assigned: f64,
}

impl ScheduleState {
    /// The shifts overlapping `[from, to)`, by start then rank then role.
    pub fn shifts_overlapping(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&Shift> {
        let mut found = Vec::new();
        if from >= to {
            return found;
        }
        for shifts in self.lanes.values() {
            // The last shift starting before `from` may reach into the range; then every shift
            // starting inside it.
            let reaching_in = shifts.starting_before(from).last().map(|(_, id)| id);
            let starting_in = shifts.starting_in(from, to).iter().map(|(_, id)| id);
            found.extend(
                reaching_in
                    .into_iter()
                    .chain(starting_in)
                    .filter_map(|id| self.shifts.get(id))
                    .filter(|s| s.end > from),
            );
        }
        sort_shifts(&mut found);
        found
    }

    /// The colour of one local calendar day.
    pub fn coverage_of_day(&self, date: NaiveDate) -> Coverage {
        let tz = self.time_zone();
        let from = start_of_day(tz, date);
        let to = date.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |d| start_of_day(tz, d));
        self.coverage_between(from, to)
    }

    /// The colour of any range: full, partial or none, by the same rule as a day.
    pub fn coverage_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Coverage {
        let (covered, total) = self.shifts_overlapping(from, to).into_iter().fold(
            (TimeDelta::zero(), TimeDelta::zero()),
            |(covered, total), shift| {
                let (c, t) = covered_time(shift, from, to);
                (covered + c, total + t)
            },
        );
        if covered.is_zero() {
            Coverage::None
        } else if covered == total {
            Coverage::Full
        } else {
            Coverage::Partial
        }
    }

    /// Each day from `first` to `last`, both included, with its colour.
    pub fn coverage_of_days(&self, first: NaiveDate, last: NaiveDate) -> Vec<(NaiveDate, Coverage)> {
        first.iter_days().take_while(|d| *d <= last).map(|d| (d, self.coverage_of_day(d))).collect()
    }

    /// Time inside `[from, to)` covered by a contact, over every shift.
    pub fn time_covered(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        self.shifts_overlapping(from, to).into_iter().map(|s| covered_time(s, from, to).0).sum()
    }

    /// Assigned and unassigned shifts overlapping `[from, to)` and the hours covered inside it.
    pub fn summary(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Summary {
        let shifts = self.shifts_overlapping(from, to);
        let assigned = shifts.iter().filter(|s| s.assignee.is_some()).count();
        let covered: TimeDelta = shifts.iter().map(|s| covered_time(s, from, to).0).sum();
        let hours = covered.num_milliseconds() as f64 / 3_600_000.0;
        Summary { assigned, unassigned: shifts.len() - assigned, hours_assigned: (hours * 100.0).round() / 100.0 }
    }
}

/// (time with a contact, time in all) of the shift's part inside `[from, to)`.
fn covered_time(shift: &Shift, from: DateTime<Utc>, to: DateTime<Utc>) -> (TimeDelta, TimeDelta) {
    let zero = TimeDelta::zero();
    shift.segments().iter().fold((zero, zero), |(covered, total), segment| {
        let start = segment.start.max(from);
        let end = segment.end.min(to);
        if end <= start {
            return (covered, total);
        }
        let length = end - start;
        let with_contact = if segment.contact_id.is_some() { length } else { zero };
        (covered + with_contact, total + length)
    })
}
