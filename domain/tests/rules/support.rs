//! Fixtures shared by the tests: fixed ids, actors, instants and common events.

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;
use vigie_domain::schedule::*;
use vigie_domain::*;

pub const TORONTO: chrono_tz::Tz = chrono_tz::America::Toronto;

pub fn t(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("valid instant").with_timezone(&Utc)
}

pub fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("valid local time")
}

pub fn account() -> AccountId {
    AccountId::from_uuid(Uuid::from_u128(0xA))
}

pub fn other_account() -> AccountId {
    AccountId::from_uuid(Uuid::from_u128(0xB))
}

pub fn schedule_id() -> ScheduleId {
    ScheduleId::from_uuid(Uuid::from_u128(0x5C))
}

pub fn shift(n: u128) -> ShiftId {
    ShiftId::from_uuid(Uuid::from_u128(0x1000 + n))
}

pub fn contact(n: u128) -> ContactId {
    ContactId::from_uuid(Uuid::from_u128(0x2000 + n))
}

pub fn override_id(n: u128) -> OverrideId {
    OverrideId::from_uuid(Uuid::from_u128(0x3000 + n))
}

pub fn series_id(n: u128) -> SeriesId {
    SeriesId::from_uuid(Uuid::from_u128(0x4000 + n))
}

/// An active contact of the schedule's account.
pub fn facts(n: u128) -> ContactFacts {
    ContactFacts { id: contact(n), account_id: account(), active: true }
}

fn ctx(role: Role, username: &str, now: &str) -> CommandContext {
    let actor =
        Actor { user_id: UserId::from_uuid(Uuid::from_u128(0x9000 + role as u128)), username: username.into(), role };
    CommandContext::new(actor, t(now))
}

/// "Now" in the tests is 2023-04-20, before the manual's example shifts.
pub const NOW: &str = "2023-04-20T12:00:00-04:00";

pub fn operator() -> CommandContext {
    ctx(Role::Operator, "ops.marie", NOW)
}

pub fn client() -> CommandContext {
    ctx(Role::Client, "anthony", NOW)
}

pub fn operator_at(now: &str) -> CommandContext {
    ctx(Role::Operator, "ops.marie", now)
}

pub fn client_at(now: &str) -> CommandContext {
    ctx(Role::Client, "anthony", now)
}

pub fn dispatcher() -> CommandContext {
    ctx(Role::Dispatcher, "dispatch", NOW)
}

pub fn auditor() -> CommandContext {
    ctx(Role::Auditor, "audit", NOW)
}

pub fn created() -> ScheduleEvent {
    ScheduleCreated { schedule_id: schedule_id(), account_id: account(), name: "01 Horaire".into(), time_zone: TORONTO }
        .into()
}

pub fn shift_added(n: u128, start: &str, end: &str) -> ScheduleEvent {
    shift_in_lane(n, start, end, 0, "OC")
}

pub fn shift_in_lane(n: u128, start: &str, end: &str, rank: u32, role: &str) -> ScheduleEvent {
    ShiftAdded {
        shift_id: shift(n),
        start: t(start),
        end: t(end),
        rank,
        name: "Rotation".into(),
        role: role.into(),
        reason: None,
    }
    .into()
}

/// The manual's two weekly shifts: 4/24 7:30 → 5/01 7:30 and 5/01 7:30 → 5/08 7:30.
pub fn manual_schedule() -> Vec<ScheduleEvent> {
    vec![
        created(),
        shift_added(1, "2023-04-24T07:30:00-04:00", "2023-05-01T07:30:00-04:00"),
        shift_added(2, "2023-05-01T07:30:00-04:00", "2023-05-08T07:30:00-04:00"),
    ]
}

pub fn assigned(n: u128, c: u128) -> ScheduleEvent {
    ShiftAssigned { shift_id: shift(n), contact_id: contact(c), comment: None, reason: None }.into()
}

pub fn override_added(o: u128, n: u128, c: u128, start: &str, end: &str) -> ScheduleEvent {
    OverrideAdded {
        override_id: override_id(o),
        shift_id: shift(n),
        contact_id: contact(c),
        start: t(start),
        end: t(end),
        comment: None,
        reason: None,
    }
    .into()
}

pub fn state_of(events: &[ScheduleEvent]) -> ScheduleState {
    Schedule::replay(events)
}
