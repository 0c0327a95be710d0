//! Calendar days in an account's time zone, and the retention cut-off, as instants to compare rows with.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The calendar day `now` falls on in `zone`.
pub(crate) fn today(zone: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// The first instant of `date` in `zone`. Where a daylight-saving change
/// skips midnight, the day starts at the first local time that exists.
pub(crate) fn start_of_day(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=3)
        .find_map(|hours| zone.from_local_datetime(&(midnight + TimeDelta::hours(hours))).earliest())
        .map_or_else(|| midnight.and_utc(), |start| start.with_timezone(&Utc))
}

/// The first instant of the day after `date` in `zone`: the end of `date`.
pub(crate) fn end_of_day(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    start_of_day(zone, date.succ_opt().unwrap_or(date))
}

/// `days` calendar days before `date`.
pub(crate) fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(chrono::Days::new(days)).unwrap_or(NaiveDate::MIN)
}

/// The oldest instant still kept at `now`: anything before it has expired
/// (the same rule as `vigie_domain::inbox::is_expired`).
pub(crate) fn retention_cutoff(now: DateTime<Utc>, retention_days: u32) -> DateTime<Utc> {
    now - TimeDelta::days(i64::from(retention_days))
}
