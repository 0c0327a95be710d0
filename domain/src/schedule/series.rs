//! Repeating shifts in wall-clock time: a series keeps its local times across daylight-saving changes.
//!
//! A weekly 07:30 → 07:30 shift in `America/Toronto` starts at 07:30 local every week, so the week
//! that contains a change lasts 167 or 169 hours. Local times are turned into instants with the rules
//! of DOMAIN.md: a time that does not exist (spring gap) moves forward to the first valid instant; an
//! ambiguous one (fall overlap) takes the earlier instant.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The most shifts one series may create: ten years of daily shifts.
pub const MAX_SERIES_SHIFTS: usize = 3660;

/// The longest step between two shifts of a series, in days: a year and a day.
pub const MAX_STEP_DAYS: u64 = 366;

/// The unit a series repeats in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatUnit {
    Days,
    Weeks,
}

/// When a series stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesEnd {
    /// After this many shifts.
    Count(u32),
    /// With the last shift starting on or before this local date.
    Until(NaiveDate),
}

/// The instants `(start, end)` of one shift of a series.
pub type Occurrence = (DateTime<Utc>, DateTime<Utc>);

/// A series as the operator described it, in the schedule's wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRule {
    /// Local start of the first shift, e.g. `2026-03-02T07:30:00`.
    pub first_start: NaiveDateTime,
    /// Local end of the first shift.
    pub first_end: NaiveDateTime,
    pub every: u32,
    pub unit: RepeatUnit,
    pub end: SeriesEnd,
}

impl SeriesRule {
    /// The instants `(start, end)` of every shift of the series, in order.
    pub fn occurrences(&self, tz: Tz) -> Result<Vec<Occurrence>, DomainError> {
        if self.every == 0 {
            return Err(DomainError::InvalidRepeat);
        }
        if self.first_end <= self.first_start {
            return Err(DomainError::EndNotAfterStart);
        }
        let step_days = u64::from(self.every) * if self.unit == RepeatUnit::Weeks { 7 } else { 1 };
        if step_days > MAX_STEP_DAYS {
            return Err(DomainError::SeriesStepTooLong(MAX_STEP_DAYS));
        }
        let mut shifts = Vec::new();
        let mut skipped = 0;
        for index in 0u64.. {
            let done = match self.end {
                SeriesEnd::Count(count) => index >= u64::from(count),
                SeriesEnd::Until(until) => {
                    shift_days(self.first_start, index * step_days).is_none_or(|s| s.date() > until)
                }
            };
            if done {
                break;
            }
            if shifts.len() == MAX_SERIES_SHIFTS {
                return Err(DomainError::SeriesTooLong(MAX_SERIES_SHIFTS));
            }
            let days = index * step_days;
            let (Some(start), Some(end)) = (shift_days(self.first_start, days), shift_days(self.first_end, days))
            else {
                return Err(DomainError::SeriesOutOfRange);
            };
            // As for single shifts (the API's instants): no view could reach a shift beyond these years.
            if !(1000..=9000).contains(&start.year()) || !(1000..=9000).contains(&end.year()) {
                return Err(DomainError::SeriesOutOfRange);
            }
            let (start, end) = (local_to_utc(tz, start), local_to_utc(tz, end));
            // Only a shift squeezed entirely into a spring gap collapses like this: its hour
            // does not exist that night, so there is nothing to cover and no shift to make.
            if end <= start {
                skipped += 1;
                continue;
            }
            shifts.push((start, end));
        }
        if shifts.is_empty() {
            // Said apart from "no occurrence at all": the operator's times look valid on any other night.
            return Err(if skipped > 0 { DomainError::SeriesOnlyInSkippedHour } else { DomainError::EmptySeries });
        }
        Ok(shifts)
    }
}

fn shift_days(local: NaiveDateTime, days: u64) -> Option<NaiveDateTime> {
    local.checked_add_days(Days::new(days))
}

/// The instant a wall-clock time in `tz` stands for, with DOMAIN.md's daylight-saving rules.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => first_instant_after_gap(tz, local),
    }
}

/// The first instant whose local time is at or after `local`: the moment the clocks jumped.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Offsets lie within ±15 h, so the answer is inside this window; local time only grows across a
    // spring gap, so a binary search on seconds finds the jump.
    let mut lo = local.and_utc().timestamp() - 16 * 3600;
    let mut hi = local.and_utc().timestamp() + 16 * 3600;
    let local_at =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| tz.from_utc_datetime(&t.naive_utc()).naive_local());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_at(mid).is_none_or(|l| l >= local) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Local midnight at the start of `date` (or the first valid instant after it).
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, date.and_time(chrono::NaiveTime::MIN))
}
