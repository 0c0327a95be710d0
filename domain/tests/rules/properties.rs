//! Property tests: random schedules checked against a brute-force model that walks them minute by
//! minute, and replay checked against the state built step by step.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use vigie_domain::event::DomainEvent;
use vigie_domain::schedule::*;
use vigie_domain::*;

use crate::support::*;

/// The window the schedules live in: 31 Oct – 3 Nov 2026 in Toronto, across the fall change.
fn window_start() -> DateTime<Utc> {
    t("2026-10-31T00:00:00-04:00")
}
const WINDOW_QUARTERS: i64 = 4 * 24 * 4;
const LANES: [(&str, u32); 3] = [("OC", 0), ("OC", 1), ("TECH", 0)];

#[derive(Debug, Clone)]
enum Op {
    Shift { lane: usize, start_q: i64, len_q: i64 },
    Series { lane: usize, start_q: i64, len_q: i64, every_days: u32, count: u32 },
    Assign { pick: usize, contact: u128, every: Option<u32> },
    Override { pick: usize, contact: u128, offset_q: i64, len_q: i64 },
    Unassign { pick: usize, which: Option<usize> },
    Swap { a: usize, b: usize },
    Comment { pick: usize },
    Edit { pick: usize, lane: usize, shift_q: i64, stretch_q: i64 },
    Remove { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 0..WINDOW_QUARTERS, 1..48i64).prop_map(|(lane, start_q, len_q)| Op::Shift { lane, start_q, len_q }),
        1 => (0..3usize, 0..WINDOW_QUARTERS / 2, 1..96i64, 1..3u32, 1..5u32)
            .prop_map(|(lane, start_q, len_q, every_days, count)| Op::Series { lane, start_q, len_q, every_days, count }),
        3 => (any::<usize>(), 1..5u128, prop::option::of(1..3u32)).prop_map(|(pick, contact, every)| Op::Assign { pick, contact, every }),
        4 => (any::<usize>(), 1..5u128, 0..40i64, 1..24i64)
            .prop_map(|(pick, contact, offset_q, len_q)| Op::Override { pick, contact, offset_q, len_q }),
        2 => (any::<usize>(), prop::option::of(any::<usize>())).prop_map(|(pick, which)| Op::Unassign { pick, which }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Swap { a, b }),
        1 => any::<usize>().prop_map(|pick| Op::Comment { pick }),
        1 => (any::<usize>(), 0..3usize, -8..8i64, -4..8i64)
            .prop_map(|(pick, lane, shift_q, stretch_q)| Op::Edit { pick, lane, shift_q, stretch_q }),
        1 => any::<usize>().prop_map(|pick| Op::Remove { pick }),
    ]
}

fn quarter(q: i64) -> DateTime<Utc> {
    window_start() + Duration::minutes(15 * q)
}

/// Turns an operation into a command against the current state (picks index the current shifts).
fn command(state: &ScheduleState, op: &Op, n: u128) -> Option<ScheduleCommand> {
    let shifts = state.shifts();
    let pick = |i: usize| (!shifts.is_empty()).then(|| shifts[i % shifts.len()]);
    Some(match op.clone() {
        Op::Shift { lane, start_q, len_q } => AddShiftCommand {
            shift_id: shift(n),
            start: quarter(start_q),
            end: quarter(start_q + len_q),
            rank: LANES[lane].1,
            name: "Rotation".into(),
            role: LANES[lane].0.into(),
        }
        .into(),
        Op::Series { lane, start_q, len_q, every_days, count } => {
            let local = |q| quarter(q).with_timezone(&TORONTO).naive_local();
            CreateSeriesCommand {
                series_id: series_id(n),
                rule: SeriesRule {
                    first_start: local(start_q),
                    first_end: local(start_q + len_q),
                    every: every_days,
                    unit: RepeatUnit::Days,
                    end: SeriesEnd::Count(count),
                },
                rank: LANES[lane].1,
                name: "Série".into(),
                role: LANES[lane].0.into(),
            }
            .into()
        }
        Op::Assign { pick: i, contact, every } => AssignCommand {
            shift_id: pick(i)?.id,
            contact: facts(contact),
            comment: None,
            recurring: every.map(|every| Recurrence { every, until: None }),
        }
        .into(),
        Op::Override { pick: i, contact, offset_q, len_q } => {
            let s = pick(i)?;
            let start = s.start + Duration::minutes(15 * offset_q);
            OverrideCommand {
                override_id: override_id(n),
                shift_id: s.id,
                contact: facts(contact),
                start,
                end: (start + Duration::minutes(15 * len_q)).min(s.end),
                comment: None,
            }
            .into()
        }
        Op::Unassign { pick: i, which } => {
            let s = pick(i)?;
            let override_id = which.and_then(|w| s.overrides.get(w % s.overrides.len().max(1))).map(|o| o.id);
            UnassignCommand { shift_id: s.id, override_id }.into()
        }
        Op::Swap { a, b } => {
            SwapCommand { shift_a: pick(a)?.id, shift_b: pick(b)?.id, inactive_contacts: vec![] }.into()
        }
        Op::Comment { pick: i } => CommentCommand { shift_id: pick(i)?.id, text: "note".into() }.into(),
        Op::Edit { pick: i, lane, shift_q, stretch_q } => {
            let s = pick(i)?;
            let start = s.start + Duration::minutes(15 * shift_q);
            EditShiftCommand {
                start: Some(start),
                end: Some(s.end + Duration::minutes(15 * (shift_q + stretch_q))),
                rank: Some(LANES[lane].1),
                role: Some(LANES[lane].0.into()),
                ..EditShiftCommand::of(s.id)
            }
            .into()
        }
        Op::Remove { pick: i } => RemoveShiftCommand { shift_id: pick(i)?.id }.into(),
    })
}

/// The model: plain shifts with a base contact and a list of overrides, nothing indexed.
#[derive(Debug, Clone)]
struct ModelShift {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    base: Option<ContactId>,
    overrides: Vec<(OverrideId, DateTime<Utc>, DateTime<Utc>, ContactId)>,
}

fn model_of(events: &[ScheduleEvent]) -> BTreeMap<ShiftId, ModelShift> {
    let mut model = BTreeMap::new();
    let fresh = |start, end| ModelShift { start, end, base: None, overrides: vec![] };
    for event in events {
        match event {
            ScheduleEvent::ShiftAdded(e) => {
                model.insert(e.shift_id, fresh(e.start, e.end));
            }
            ScheduleEvent::SeriesCreated(e) => {
                for s in &e.shifts {
                    model.insert(s.shift_id, fresh(s.start, s.end));
                }
            }
            ScheduleEvent::ShiftEdited(e) => {
                let s = model.get_mut(&e.shift_id).expect("shift");
                (s.start, s.end) = (e.start, e.end);
            }
            ScheduleEvent::ShiftRemoved(e) => {
                model.remove(&e.shift_id);
            }
            ScheduleEvent::ShiftAssigned(e) => model.get_mut(&e.shift_id).expect("shift").base = Some(e.contact_id),
            ScheduleEvent::ShiftUnassigned(e) => model.get_mut(&e.shift_id).expect("shift").base = None,
            ScheduleEvent::OverrideAdded(e) => {
                model.get_mut(&e.shift_id).expect("shift").overrides.push((e.override_id, e.start, e.end, e.contact_id))
            }
            ScheduleEvent::OverrideRemoved(e) => {
                model.get_mut(&e.shift_id).expect("shift").overrides.retain(|o| o.0 != e.override_id)
            }
            ScheduleEvent::OverrideCutShort(e) => {
                for o in &mut model.get_mut(&e.shift_id).expect("shift").overrides {
                    if o.0 == e.override_id {
                        o.2 = e.end;
                    }
                }
            }
            ScheduleEvent::ShiftsSwapped(e) => {
                model.get_mut(&e.shift_a).expect("shift").base = e.contact_a;
                model.get_mut(&e.shift_b).expect("shift").base = e.contact_b;
            }
            _ => {}
        }
    }
    model
}

/// Who covers the shift at `m`: (override id if any, contact).
fn model_at(s: &ModelShift, m: DateTime<Utc>) -> (Option<OverrideId>, Option<ContactId>) {
    match s.overrides.iter().find(|o| o.1 <= m && m < o.2) {
        Some(o) => (Some(o.0), Some(o.3)),
        None => (None, s.base),
    }
}

fn minute(m: i64) -> DateTime<Utc> {
    window_start() + Duration::minutes(m)
}

fn build(ops: &[Op]) -> (ScheduleState, Vec<ScheduleEvent>) {
    let ctx = operator_at("2026-01-01T00:00:00Z");
    let mut events = vec![created()];
    let mut state = state_of(&events);
    for (n, op) in (100u128..).zip(ops) {
        let Some(command) = command(&state, op, n) else { continue };
        // Refusals (overlaps, overrides out of the shift, …) are part of the game: skip them.
        if let Ok(new) = schedule::decide(&state, command, &ctx) {
            for event in new {
                state = schedule::evolve(state, &event);
                events.push(event);
            }
        }
    }
    (state, events)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn on_call_agrees_with_a_minute_by_minute_model(
        ops in prop::collection::vec(op(), 1..40),
        probes in prop::collection::vec(0..(WINDOW_QUARTERS * 15 + 600), 30),
    ) {
        let (state, events) = build(&ops);
        let model = model_of(&events);
        for m in probes {
            let at = minute(m);
            let mut expected: Vec<_> = model
                .iter()
                .filter(|(_, s)| s.start <= at && at < s.end)
                .map(|(id, s)| {
                    let here = model_at(s, at);
                    // Walk minute by minute to the edges of the current segment.
                    let mut from = at;
                    while from > s.start && model_at(s, from - Duration::minutes(1)).0 == here.0 {
                        from -= Duration::minutes(1);
                    }
                    let mut until = at + Duration::minutes(1);
                    while until < s.end && model_at(s, until).0 == here.0 {
                        until += Duration::minutes(1);
                    }
                    (*id, here.1, here.0, from, until)
                })
                .collect();
            expected.sort();
            let mut actual: Vec<_> = state
                .on_call_at(at, None)
                .iter()
                .map(|e| (e.shift_id, e.contact_id, e.override_id, e.from, e.until))
                .collect();
            actual.sort();
            prop_assert_eq!(actual, expected, "at {}", at);
        }
        // Segments tile each shift, and every minute of a segment has the model's contact.
        for (id, s) in &model {
            let segments = state.segments(*id).expect("shift");
            prop_assert_eq!(segments.first().map(|g| g.start), Some(s.start));
            prop_assert_eq!(segments.last().map(|g| g.end), Some(s.end));
            for pair in segments.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for g in &segments {
                let mut m = g.start;
                while m < g.end {
                    prop_assert_eq!(model_at(s, m), (g.override_id, g.contact_id), "shift {} at {}", id, m);
                    m += Duration::minutes(1);
                }
            }
        }
    }

    #[test]
    fn coverage_and_hours_agree_with_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let (state, events) = build(&ops);
        let model = model_of(&events);
        let first = NaiveDate::from_ymd_opt(2026, 10, 30).expect("date");
        let minutes = (WINDOW_QUARTERS * 15 + 3 * 24 * 60) as usize;
        let mut per_day: BTreeMap<NaiveDate, (u32, u32)> = BTreeMap::new();
        let mut covered_minutes = 0u32;
        for m in -(24 * 60)..minutes as i64 {
            let at = minute(m);
            let day = at.with_timezone(&TORONTO).date_naive();
            let entry = per_day.entry(day).or_default();
            for s in model.values().filter(|s| s.start <= at && at < s.end) {
                entry.1 += 1;
                if model_at(s, at).1.is_some() {
                    entry.0 += 1;
                    covered_minutes += 1;
                }
            }
        }
        for (day, (covered, total)) in per_day.into_iter().filter(|(d, _)| *d >= first) {
            let expected = match (covered, total) {
                (0, _) => Coverage::None,
                (c, t) if c == t => Coverage::Full,
                _ => Coverage::Partial,
            };
            // The last day of the walk may be cut short; check only whole days.
            if day < NaiveDate::from_ymd_opt(2026, 11, 6).expect("date") {
                prop_assert_eq!(state.coverage_of_day(day), expected, "{}", day);
            }
        }
        let (from, to) = (minute(-(24 * 60)), minute(minutes as i64));
        let summary = state.summary(from, to);
        let expected_hours = (f64::from(covered_minutes) / 60.0 * 100.0).round() / 100.0;
        prop_assert_eq!(summary.hours_assigned, expected_hours);
        let in_range: Vec<_> = model.values().filter(|s| s.start < to && s.end > from).collect();
        let assigned = in_range.iter().filter(|s| s.base.is_some()).count();
        prop_assert_eq!((summary.assigned, summary.unassigned), (assigned, in_range.len() - assigned));
    }

    #[test]
    fn replaying_the_events_gives_the_state_built_step_by_step(ops in prop::collection::vec(op(), 1..40)) {
        let (state, events) = build(&ops);
        prop_assert_eq!(&Schedule::replay(&events), &state);
        // And through the store's fields too.
        let stored: Vec<ScheduleEvent> = events
            .iter()
            .map(|e| ScheduleEvent::from_stored(e.event_type(), e.schema_version(), e.to_data()).expect("decode"))
            .collect();
        prop_assert_eq!(&Schedule::replay(&stored), &state);
        prop_assert_eq!(state.version(), events.len() as u64);
    }
}
