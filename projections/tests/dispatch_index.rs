//! The dispatch index answers exactly what the schedules answer, whatever happened to them.
//!
//! Random histories of several schedules of two accounts (shifts in three lanes, assignments,
//! overrides, removals, renames that reorder the listing, deletions) are applied to a live model
//! in random batches; at every quarter hour of the window, the index must list the same entries,
//! in the same order, as asking each listed schedule through `ScheduleState::on_call_at` (whose
//! own answers are checked against a minute-by-minute model in the domain's property tests).

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::value::to_raw_value;
use vigie_domain::schedule::{
    AddShiftCommand, AssignCommand, ContactFacts, CreateScheduleCommand, DeleteScheduleCommand, OverrideCommand,
    RemoveShiftCommand, RenameScheduleCommand, UnassignCommand,
};
use vigie_domain::{
    AccountId, Actor, Aggregate, CommandContext, DomainEvent, OverrideId, Role, Schedule, ScheduleCommand, ScheduleId,
    ScheduleState, UserId, schedule,
};
use vigie_eventstore::{Metadata, StoredEvent};
use vigie_projections::live::{DispatchFilter, LiveModel};

const WINDOW_QUARTERS: i64 = 3 * 24 * 4;
const LANES: [(&str, u32); 3] = [("OC", 0), ("OC", 1), ("TECH", 0)];
const NAMES: [&str; 3] = ["Alpha", "Bravo", "Charlie"];
/// Schedules 0–2 belong to the first account, 3 to the second.
const SCHEDULES: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Create { s: usize, name: usize },
    Shift { s: usize, lane: usize, start_q: i64, len_q: i64 },
    Assign { s: usize, pick: usize, contact: u128 },
    Override { s: usize, pick: usize, contact: u128, offset_q: i64, len_q: i64 },
    Unassign { s: usize, pick: usize },
    Remove { s: usize, pick: usize },
    Rename { s: usize, name: usize },
    Delete { s: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SCHEDULES;
    prop_oneof![
        2 => (s.clone(), 0..NAMES.len()).prop_map(|(s, name)| Op::Create { s, name }),
        6 => (s.clone(), 0..LANES.len(), 0..WINDOW_QUARTERS, 1..48i64)
            .prop_map(|(s, lane, start_q, len_q)| Op::Shift { s, lane, start_q, len_q }),
        4 => (s.clone(), any::<usize>(), 1..4u128).prop_map(|(s, pick, contact)| Op::Assign { s, pick, contact }),
        4 => (s.clone(), any::<usize>(), 1..4u128, 0..40i64, 1..16i64)
            .prop_map(|(s, pick, contact, offset_q, len_q)| Op::Override { s, pick, contact, offset_q, len_q }),
        1 => (s.clone(), any::<usize>()).prop_map(|(s, pick)| Op::Unassign { s, pick }),
        1 => (s.clone(), any::<usize>()).prop_map(|(s, pick)| Op::Remove { s, pick }),
        1 => (s.clone(), 0..NAMES.len()).prop_map(|(s, name)| Op::Rename { s, name }),
        1 => s.prop_map(|s| Op::Delete { s }),
    ]
}

fn quarter(q: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 4, 0, 0).unwrap() + Duration::minutes(15 * q)
}

fn uuid(kind: u128, n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(kind << 64 | n)
}

fn account_of(s: usize) -> AccountId {
    uuid(1, if s < 3 { 1 } else { 2 }).into()
}

fn contact(s: usize, n: u128) -> ContactFacts {
    ContactFacts { id: uuid(2, n).into(), account_id: account_of(s), active: true }
}

/// The command an operation stands for against the schedule's current state, if it makes sense.
fn command(s: usize, state: &ScheduleState, op: &Op, n: u128) -> Option<ScheduleCommand> {
    let shifts = state.shifts();
    let pick = |i: usize| (!shifts.is_empty()).then(|| shifts[i % shifts.len()]);
    Some(match *op {
        Op::Create { name, .. } => CreateScheduleCommand {
            schedule_id: uuid(3, s as u128).into(),
            account_id: account_of(s),
            name: NAMES[name].into(),
            time_zone: chrono_tz::America::Toronto,
            name_taken: false,
        }
        .into(),
        Op::Shift { lane, start_q, len_q, .. } => AddShiftCommand {
            shift_id: uuid(4, n).into(),
            start: quarter(start_q),
            end: quarter(start_q + len_q),
            rank: LANES[lane].1,
            name: format!("Shift {n}"),
            role: LANES[lane].0.into(),
        }
        .into(),
        Op::Assign { pick: p, contact: c, .. } => {
            AssignCommand { shift_id: pick(p)?.id, contact: contact(s, c), comment: None, recurring: None }.into()
        }
        Op::Override { pick: p, contact: c, offset_q, len_q, .. } => {
            let shift = pick(p)?;
            let start = shift.start + Duration::minutes(15 * offset_q);
            OverrideCommand {
                override_id: OverrideId::from(uuid(5, n)),
                shift_id: shift.id,
                contact: contact(s, c),
                start,
                end: start + Duration::minutes(15 * len_q),
                comment: None,
            }
            .into()
        }
        Op::Unassign { pick: p, .. } => UnassignCommand { shift_id: pick(p)?.id, override_id: None }.into(),
        Op::Remove { pick: p, .. } => RemoveShiftCommand { shift_id: pick(p)?.id }.into(),
        Op::Rename { name, .. } => RenameScheduleCommand { name: NAMES[name].into(), name_taken: false }.into(),
        Op::Delete { .. } => DeleteScheduleCommand.into(),
    })
}

fn schedule_of(op: &Op) -> usize {
    match *op {
        Op::Create { s, .. }
        | Op::Shift { s, .. }
        | Op::Assign { s, .. }
        | Op::Override { s, .. }
        | Op::Unassign { s, .. }
        | Op::Remove { s, .. }
        | Op::Rename { s, .. }
        | Op::Delete { s } => s,
    }
}

/// The events the operations produce, as the log would store them.
fn history(ops: &[Op]) -> Vec<StoredEvent> {
    let operator = Actor { user_id: UserId::from(uuid(6, 1)), username: "ops".into(), role: Role::Operator };
    let ctx = CommandContext::new(operator, quarter(-400));
    let mut states: Vec<ScheduleState> = vec![ScheduleState::default(); SCHEDULES];
    let mut stored = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let s = schedule_of(op);
        let Some(command) = command(s, &states[s], op, n as u128) else { continue };
        let Ok(events) = schedule::decide(&states[s], command, &ctx) else { continue };
        for event in events {
            states[s].apply(&event);
            stored.push(StoredEvent {
                position: stored.len() as u64 + 1,
                event_id: uuid::Uuid::now_v7(),
                stream_id: Schedule::stream_id(uuid(3, s as u128).into()),
                stream_version: states[s].version(),
                event_type: event.event_type().into(),
                schema_version: event.schema_version(),
                data: to_raw_value(&event.to_data()).unwrap(),
                metadata: Metadata::default(),
                recorded_at: quarter(-400),
            });
        }
    }
    stored
}

/// What each listed schedule says, in listing order: the answer the index must reproduce.
fn through_the_schedules(model: &LiveModel, account: AccountId, at: DateTime<Utc>, role: Option<&str>) -> Vec<String> {
    model
        .schedules_of(account)
        .flat_map(|(id, state)| {
            let name = state.info().map(|i| i.name.clone()).unwrap_or_default();
            state.on_call_at(at, role).into_iter().map(move |e| {
                format!(
                    "{id} {name} {} {} {} {} {:?} {:?} {:?} {} {}",
                    e.shift_id, e.rank, e.role, e.shift_name, e.source, e.contact_id, e.override_id, e.from, e.until
                )
            })
        })
        .collect()
}

fn through_the_index(model: &LiveModel, account: AccountId, at: DateTime<Utc>, role: Option<&str>) -> Vec<String> {
    let filter = DispatchFilter { role, schedule_id: None };
    model
        .dispatch()
        .on_call(account, at, filter)
        .map(|entry| {
            let e = entry.on_call;
            format!(
                "{} {} {} {} {} {} {:?} {:?} {:?} {} {}",
                entry.schedule_id,
                entry.schedule_name,
                e.shift_id,
                e.rank,
                e.role,
                e.shift_name,
                e.source,
                e.contact_id,
                e.override_id,
                e.from,
                e.until
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_index_answers_what_the_schedules_answer(
        ops in prop::collection::vec(op(), 1..120),
        batch in 1..20usize,
    ) {
        let events = history(&ops);
        let mut model = LiveModel::default();
        for chunk in events.chunks(batch) {
            model.apply_all(chunk);
        }
        for account in [account_of(0), account_of(3)] {
            for q in (-8..WINDOW_QUARTERS + 56).step_by(3) {
                for role in [None, Some("OC"), Some("TECH")] {
                    let at = quarter(q) + Duration::minutes(q % 15);
                    prop_assert_eq!(
                        through_the_index(&model, account, at, role),
                        through_the_schedules(&model, account, at, role),
                        "at {}, role {:?}", at, role
                    );
                }
            }
        }
    }
}

#[test]
fn a_lookup_can_be_narrowed_to_one_schedule() {
    let ops = [
        Op::Create { s: 0, name: 0 },
        Op::Create { s: 1, name: 1 },
        Op::Shift { s: 0, lane: 0, start_q: 0, len_q: 40 },
        Op::Shift { s: 1, lane: 0, start_q: 0, len_q: 40 },
    ];
    let mut model = LiveModel::default();
    model.apply_all(&history(&ops));
    let at = quarter(10);
    assert_eq!(model.dispatch().on_call(account_of(0), at, DispatchFilter::default()).count(), 2);
    let only: ScheduleId = uuid(3, 1).into();
    let filter = DispatchFilter { role: None, schedule_id: Some(only) };
    let entries: Vec<_> = model.dispatch().on_call(account_of(0), at, filter).collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].schedule_name, "Bravo");
    assert!(model.dispatch().on_call(account_of(3), at, DispatchFilter::default()).next().is_none());
}
