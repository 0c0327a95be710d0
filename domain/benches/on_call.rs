//! Who is on call, on a schedule of 10,000 shifts (five lanes) and 2,000 overrides.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;
use vigie_domain::schedule::*;
use vigie_domain::*;

const SHIFTS_PER_LANE: i64 = 2_000;
const LANES: [(&str, u32); 5] = [("OC", 0), ("OC", 1), ("OC", 2), ("TECH", 0), ("TECH", 1)];
const OVERRIDES: u128 = 2_000;

fn base() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_767_225_600, 0).expect("2026-01-01")
}

fn schedule() -> ScheduleState {
    let mut events: Vec<ScheduleEvent> = vec![
        ScheduleCreated {
            schedule_id: ScheduleId::from_uuid(Uuid::from_u128(1)),
            account_id: AccountId::from_uuid(Uuid::from_u128(2)),
            name: "01 Horaire".into(),
            time_zone: chrono_tz::America::Toronto,
        }
        .into(),
    ];
    let mut ids = Vec::new();
    for (lane, (role, rank)) in (0u128..).zip(LANES) {
        for n in 0..SHIFTS_PER_LANE {
            let shift_id = ShiftId::from_uuid(Uuid::from_u128((lane << 32) + n as u128));
            let start = base() + Duration::hours(12 * n);
            ids.push((shift_id, start));
            events.push(
                ShiftAdded {
                    shift_id,
                    start,
                    end: start + Duration::hours(12),
                    rank,
                    name: "Rotation".into(),
                    role: role.into(),
                    reason: None,
                }
                .into(),
            );
            events.push(
                ShiftAssigned {
                    shift_id,
                    contact_id: ContactId::from_uuid(Uuid::from_u128(n as u128 % 9)),
                    comment: None,
                    reason: None,
                }
                .into(),
            );
        }
    }
    // Overrides on every fifth shift, the middle four hours.
    for o in 0..OVERRIDES {
        let (shift_id, start) = ids[(o as usize * 5) % ids.len()];
        events.push(
            OverrideAdded {
                override_id: OverrideId::from_uuid(Uuid::from_u128(0x9_0000_0000 + o)),
                shift_id,
                contact_id: ContactId::from_uuid(Uuid::from_u128(100 + o % 3)),
                start: start + Duration::hours(4),
                end: start + Duration::hours(8),
                comment: None,
                reason: None,
            }
            .into(),
        );
    }
    Schedule::replay(&events)
}

fn on_call(c: &mut Criterion) {
    let state = schedule();
    assert_eq!(state.shift_count(), 10_000);
    // Instants spread over the whole schedule, minute-aligned, in a fixed pseudo-random order.
    let span_minutes = 12 * 60 * SHIFTS_PER_LANE;
    let instants: Vec<_> = (0..4096i64).map(|i| base() + Duration::minutes((i * 7_919 * 13) % span_minutes)).collect();
    let mut group = c.benchmark_group("on_call");
    let mut i = 0;
    group.bench_function("all_roles_10k_shifts_2k_overrides", |b| {
        b.iter(|| {
            i = (i + 1) % instants.len();
            black_box(state.on_call_at(black_box(instants[i]), None))
        })
    });
    group.bench_function("one_role_10k_shifts_2k_overrides", |b| {
        b.iter(|| {
            i = (i + 1) % instants.len();
            black_box(state.on_call_at(black_box(instants[i]), Some("OC")))
        })
    });
    group.finish();
}

criterion_group!(benches, on_call);
criterion_main!(benches);
