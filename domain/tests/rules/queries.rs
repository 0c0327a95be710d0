//! Read questions on a schedule: who is on call, segments, coverage and the range summary.

use chrono::NaiveDate;
use vigie_domain::schedule::*;

use crate::support::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// Shift 2 (5/01 → 5/08) with base 1 and an override by 8 on 5/03 → 5/05, and a rank-1 shift
/// 5/02 → 5/04 for contact 3, and a TECH shift without anyone.
fn layered() -> ScheduleState {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    events.push(override_added(1, 2, 8, "2023-05-03T07:30:00-04:00", "2023-05-05T07:30:00-04:00"));
    events.push(shift_in_lane(3, "2023-05-02T00:00:00-04:00", "2023-05-04T00:00:00-04:00", 1, "OC"));
    events.push(assigned(3, 3));
    events.push(shift_in_lane(4, "2023-05-01T00:00:00-04:00", "2023-05-10T00:00:00-04:00", 0, "TECH"));
    state_of(&events)
}

#[test]
fn on_call_lists_every_covering_shift_in_rank_order() {
    let state = layered();
    let entries = state.on_call_at(t("2023-05-03T12:00:00-04:00"), None);
    let summary: Vec<_> = entries.iter().map(|e| (e.rank, e.role, e.source, e.contact_id)).collect();
    assert_eq!(
        summary,
        [
            (0, "OC", Source::Override, Some(contact(8))),
            (0, "TECH", Source::None, None),
            (1, "OC", Source::Base, Some(contact(3))),
        ]
    );
    let first = &entries[0];
    assert_eq!((first.from, first.until), (t("2023-05-03T07:30:00-04:00"), t("2023-05-05T07:30:00-04:00")));
    assert_eq!(first.override_id, Some(override_id(1)));
    assert_eq!(first.shift_name, "Rotation");
}

#[test]
fn on_call_bounds_the_current_base_segment_by_the_overrides_around_it() {
    let state = layered();
    let before = &state.on_call_at(t("2023-05-02T12:00:00-04:00"), Some("OC"))[0];
    assert_eq!((before.source, before.contact_id), (Source::Base, Some(contact(1))));
    assert_eq!((before.from, before.until), (t("2023-05-01T07:30:00-04:00"), t("2023-05-03T07:30:00-04:00")));
    let after = &state.on_call_at(t("2023-05-06T12:00:00-04:00"), Some("OC"))[0];
    assert_eq!((after.from, after.until), (t("2023-05-05T07:30:00-04:00"), t("2023-05-08T07:30:00-04:00")));
}

#[test]
fn on_call_filters_by_role_and_sees_shift_edges() {
    let state = layered();
    let tech = state.on_call_at(t("2023-05-03T12:00:00-04:00"), Some("TECH"));
    assert_eq!(tech.len(), 1);
    assert_eq!(tech[0].role, "TECH");
    // A shift covers [start, end): at 5/01 7:30 the second weekly shift is on, not the first.
    let at_handover = state.on_call_at(t("2023-05-01T07:30:00-04:00"), Some("OC"));
    assert_eq!(at_handover.iter().map(|e| e.shift_id).collect::<Vec<_>>(), [shift(2)]);
    assert!(state.on_call_at(t("2023-06-01T00:00:00Z"), None).is_empty());
    assert!(state.on_call_at(t("2023-05-03T12:00:00-04:00"), Some("NONE")).is_empty());
}

#[test]
fn segments_cover_the_shift_from_start_to_end() {
    let state = layered();
    let segments = state.segments(shift(2)).expect("shift");
    let view: Vec<_> = segments.iter().map(|s| (s.start, s.end, s.source, s.contact_id)).collect();
    assert_eq!(
        view,
        [
            (t("2023-05-01T07:30:00-04:00"), t("2023-05-03T07:30:00-04:00"), Source::Base, Some(contact(1))),
            (t("2023-05-03T07:30:00-04:00"), t("2023-05-05T07:30:00-04:00"), Source::Override, Some(contact(8))),
            (t("2023-05-05T07:30:00-04:00"), t("2023-05-08T07:30:00-04:00"), Source::Base, Some(contact(1))),
        ]
    );
    let empty = state.segments(shift(1)).expect("shift");
    assert_eq!(empty.len(), 1);
    assert_eq!((empty[0].source, empty[0].contact_id), (Source::None, None));
    assert!(state.segments(shift(99)).is_none());
}

#[test]
fn coverage_colours_the_days() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    let state = state_of(&events);
    // 5/01: shift 1 (empty) until 7:30, then shift 2 (assigned).
    assert_eq!(state.coverage_of_day(date(2023, 5, 1)), Coverage::Partial);
    assert_eq!(state.coverage_of_day(date(2023, 5, 2)), Coverage::Full);
    assert_eq!(state.coverage_of_day(date(2023, 4, 25)), Coverage::None);
    // No shift at all is red too.
    assert_eq!(state.coverage_of_day(date(2023, 6, 1)), Coverage::None);
    let days = state.coverage_of_days(date(2023, 4, 30), date(2023, 5, 2));
    assert_eq!(
        days,
        [
            (date(2023, 4, 30), Coverage::None),
            (date(2023, 5, 1), Coverage::Partial),
            (date(2023, 5, 2), Coverage::Full)
        ]
    );
}

#[test]
fn an_override_fills_a_gap_for_coverage() {
    let mut events = manual_schedule();
    events.push(override_added(1, 2, 8, "2023-05-03T00:00:00-04:00", "2023-05-04T00:00:00-04:00"));
    let state = state_of(&events);
    assert_eq!(state.coverage_of_day(date(2023, 5, 3)), Coverage::Full);
    assert_eq!(state.coverage_of_day(date(2023, 5, 4)), Coverage::None);
}

#[test]
fn the_summary_counts_shifts_and_hours_like_the_manual() {
    // The manual's day view of Monday May 1 2023: one shift assigned from 7:30, 16.50 hours.
    let mut events = manual_schedule();
    let from = t("2023-05-01T00:00:00-04:00");
    let to = t("2023-05-02T00:00:00-04:00");
    assert_eq!(state_of(&events).summary(from, to), Summary { assigned: 0, unassigned: 2, hours_assigned: 0.0 });
    events.push(assigned(2, 1));
    assert_eq!(state_of(&events).summary(from, to), Summary { assigned: 1, unassigned: 1, hours_assigned: 16.5 });
}

#[test]
fn shifts_overlapping_a_range_are_listed_in_order() {
    let state = layered();
    let ids: Vec<_> = state
        .shifts_overlapping(t("2023-05-01T00:00:00-04:00"), t("2023-05-02T12:00:00-04:00"))
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [shift(1), shift(4), shift(2), shift(3)]);
    assert!(state.shifts_overlapping(t("2023-05-08T07:30:00-04:00"), t("2023-05-08T07:30:00-04:00")).is_empty());
}
