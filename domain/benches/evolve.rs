//! Evolving a schedule by 1,000,000 events: 10,000 shifts, then assignments, overrides, comments
//! and swaps cycling over them.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;
use vigie_domain::schedule::*;
use vigie_domain::*;

const EVENTS: usize = 1_000_000;
const SHIFTS: u128 = 10_000;

fn shift(n: u128) -> ShiftId {
    ShiftId::from_uuid(Uuid::from_u128(0x1_0000_0000 + n))
}

fn events() -> Vec<ScheduleEvent> {
    let base = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).expect("2026-01-01");
    let mut events: Vec<ScheduleEvent> = vec![
        ScheduleCreated {
            schedule_id: ScheduleId::from_uuid(Uuid::from_u128(1)),
            account_id: AccountId::from_uuid(Uuid::from_u128(2)),
            name: "01 Horaire".into(),
            time_zone: chrono_tz::America::Toronto,
        }
        .into(),
    ];
    for n in 0..SHIFTS {
        let start = base + Duration::hours(12 * n as i64);
        events.push(
            ShiftAdded {
                shift_id: shift(n),
                start,
                end: start + Duration::hours(12),
                rank: 0,
                name: "Rotation".into(),
                role: "OC".into(),
                reason: None,
            }
            .into(),
        );
    }
    let contact = |n: u128| ContactId::from_uuid(Uuid::from_u128(0x2000 + n % 7));
    let mut cycle = 0u128;
    while events.len() < EVENTS {
        let n = cycle % SHIFTS;
        let id = shift(n);
        let start = base + Duration::hours(12 * n as i64);
        let override_id = OverrideId::from_uuid(Uuid::from_u128(0x3_0000_0000 + cycle));
        let step: [ScheduleEvent; 5] = [
            ShiftAssigned { shift_id: id, contact_id: contact(cycle), comment: None, reason: None }.into(),
            OverrideAdded {
                override_id,
                shift_id: id,
                contact_id: contact(cycle + 1),
                start: start + Duration::hours(2),
                end: start + Duration::hours(4),
                comment: None,
                reason: None,
            }
            .into(),
            ShiftCommented { shift_id: id, text: "échange".into(), by: "anthony".into(), at: start, reason: None }
                .into(),
            OverrideRemoved { override_id, shift_id: id, contact_id: contact(cycle + 1), reason: None }.into(),
            ShiftsSwapped {
                shift_a: id,
                shift_b: shift((n + 1) % SHIFTS),
                contact_a: None,
                contact_b: Some(contact(cycle)),
                reason: None,
            }
            .into(),
        ];
        events.extend(step);
        cycle += 1;
    }
    events.truncate(EVENTS);
    events
}

fn evolve_million(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("evolve");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(10));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("schedule_1m_events", |b| b.iter(|| black_box(Schedule::replay(black_box(&events)))));
    group.finish();
}

criterion_group!(benches, evolve_million);
criterion_main!(benches);
