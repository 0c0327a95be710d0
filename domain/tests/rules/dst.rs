//! Daylight saving in America/Toronto, 2026: clocks go forward on 8 March and back on 1 November.

use chrono::{NaiveDate, TimeDelta, Timelike};
use vigie_domain::Schedule;
use vigie_domain::schedule::*;
use vigie_domain::testing::given;

use crate::support::*;

fn weekly_toronto() -> Vec<ScheduleEvent> {
    let command = crate::schedules::weekly(
        "2026-02-23T07:30",
        "2026-03-02T07:30",
        SeriesEnd::Until(NaiveDate::from_ymd_opt(2026, 11, 30).expect("date")),
    );
    let mut events = vec![created()];
    events.extend(given::<Schedule>([created()]).when(command, &operator_at("2026-01-01T00:00:00Z")).events());
    events
}

#[test]
fn a_weekly_series_keeps_0730_local_and_lasts_167_or_169_hours_across_the_changes() {
    let state = state_of(&weekly_toronto());
    let shifts = state.shifts();
    assert_eq!(shifts.len(), 41);
    for s in &shifts {
        let local_start = s.start.with_timezone(&TORONTO);
        assert_eq!((local_start.hour(), local_start.minute()), (7, 30), "{local_start}");
        assert_eq!(s.end.with_timezone(&TORONTO).time(), local_start.time());
    }
    let hours = |start: &str| {
        let s = shifts.iter().find(|s| s.start == t(start)).expect("shift");
        (s.end - s.start).num_hours()
    };
    assert_eq!(hours("2026-03-02T07:30:00-05:00"), 167, "week of the spring change");
    assert_eq!(hours("2026-10-26T07:30:00-04:00"), 169, "week of the fall change");
    assert_eq!(hours("2026-03-09T07:30:00-04:00"), 168);
    assert_eq!(hours("2026-02-23T07:30:00-05:00"), 168);
    let odd: usize = shifts.iter().filter(|s| (s.end - s.start) != TimeDelta::hours(168)).count();
    assert_eq!(odd, 2);
}

#[test]
fn an_override_in_the_repeated_hour_of_1_november_resolves_correctly() {
    let mut events = weekly_toronto();
    let state = state_of(&events);
    let week = state.on_call_at(t("2026-11-01T05:15:00Z"), None)[0].shift_id;
    events.push(ShiftAssigned { shift_id: week, contact_id: contact(1), comment: None, reason: None }.into());
    // The second 01:00–01:30 of the night (EST, -05:00) only.
    let command = OverrideCommand {
        override_id: override_id(1),
        shift_id: week,
        contact: facts(8),
        start: t("2026-11-01T01:00:00-05:00"),
        end: t("2026-11-01T01:30:00-05:00"),
        comment: None,
    };
    let state = given::<Schedule>(events).when(command, &client_at("2026-10-30T00:00:00Z")).state_after();
    let who = |at: &str| state.on_call_at(t(at), None)[0].contact_id;
    assert_eq!(who("2026-11-01T01:15:00-04:00"), Some(contact(1)), "first 01:15 (EDT)");
    assert_eq!(who("2026-11-01T01:15:00-05:00"), Some(contact(8)), "second 01:15 (EST)");
    assert_eq!(who("2026-11-01T01:45:00-05:00"), Some(contact(1)));
    let entry = &state.on_call_at(t("2026-11-01T06:15:00Z"), None)[0];
    assert_eq!((entry.from, entry.until), (t("2026-11-01T06:00:00Z"), t("2026-11-01T06:30:00Z")));
}

#[test]
fn coverage_of_the_23_and_25_hour_days_is_right() {
    let mut events = weekly_toronto();
    let ids: Vec<_> = state_of(&events).shifts().iter().map(|s| s.id).collect();
    for id in ids {
        events.push(ShiftAssigned { shift_id: id, contact_id: contact(1), comment: None, reason: None }.into());
    }
    // Rank-1 empty shifts just after each day (by local time), which a 24-hour day would misplace:
    // 9 March 00:00–01:00 EDT, and 1 November 23:30 EST – 2 November 00:30 EST.
    events.push(shift_in_lane(90, "2026-03-09T00:00:00-04:00", "2026-03-09T01:00:00-04:00", 1, "OC"));
    events.push(shift_in_lane(91, "2026-11-01T23:30:00-05:00", "2026-11-02T00:30:00-05:00", 1, "OC"));
    let state = state_of(&events);
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    assert_eq!(state.coverage_of_day(day(3, 8)), Coverage::Full);
    assert_eq!(state.coverage_of_day(day(3, 9)), Coverage::Partial);
    assert_eq!(state.coverage_of_day(day(11, 1)), Coverage::Partial);
    assert_eq!(state.coverage_of_day(day(10, 31)), Coverage::Full);
    // The days themselves last 23 and 25 hours.
    let hours = |from: &str, to: &str| state.summary(t(from), t(to)).hours_assigned;
    assert_eq!(hours("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"), 23.0);
    assert_eq!(hours("2026-11-01T00:00:00-04:00", "2026-11-01T23:30:00-05:00"), 24.5);
}

#[test]
fn a_series_at_0230_on_8_march_moves_to_0300() {
    let mut command = crate::schedules::weekly("2026-03-06T02:30", "2026-03-06T04:30", SeriesEnd::Count(4));
    command.rule.unit = RepeatUnit::Days;
    let state = given::<Schedule>([created()]).when(command, &operator_at("2026-01-01T00:00:00Z")).state_after();
    let starts: Vec<_> = state.shifts().iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(
        starts,
        [
            (t("2026-03-06T02:30:00-05:00"), t("2026-03-06T04:30:00-05:00")),
            (t("2026-03-07T02:30:00-05:00"), t("2026-03-07T04:30:00-05:00")),
            (t("2026-03-08T03:00:00-04:00"), t("2026-03-08T04:30:00-04:00")),
            (t("2026-03-09T02:30:00-04:00"), t("2026-03-09T04:30:00-04:00")),
        ]
    );
}

#[test]
fn an_ambiguous_local_time_takes_the_earlier_instant() {
    let local_time = local("2026-11-01T01:30");
    assert_eq!(local_to_utc(TORONTO, local_time), t("2026-11-01T01:30:00-04:00"));
    assert_eq!(local_to_utc(TORONTO, local("2026-03-08T02:00")), t("2026-03-08T03:00:00-04:00"));
    assert_eq!(local_to_utc(TORONTO, local("2026-03-08T02:59")), t("2026-03-08T03:00:00-04:00"));
}

#[test]
fn a_skipped_day_moves_to_the_first_valid_instant() {
    // Samoa skipped 30 December 2011 entirely, jumping from -10:00 to +14:00.
    let apia = chrono_tz::Pacific::Apia;
    assert_eq!(local_to_utc(apia, local("2011-12-30T12:00")), t("2011-12-31T00:00:00+14:00"));
}
