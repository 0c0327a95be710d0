//! The live model, kept incrementally while 10,000 random changes land, equals one rebuilt from scratch,
//! and its dispatch index agrees with its schedules.

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vigie_domain::contact::ContactDetails;
use vigie_domain::schedule::{
    AssignCommand, CommentCommand, ContactFacts, CreateScheduleCommand, CreateSeriesCommand, OverrideCommand,
    RepeatUnit, SeriesEnd, SeriesRule, SwapCommand, UnassignCommand,
};
use vigie_domain::{
    AccountId, Actor, Aggregate, CommandContext, Contact, ContactCommand, ContactId, DomainEvent, OverrideId, Role,
    Schedule, ScheduleCommand, ScheduleId, ScheduleState, SeriesId, UserId, contact, schedule,
};
use vigie_eventstore::{AppendRequest, EventLog, EventStore, ExpectedVersion, NewEvent, StoreOptions};
use vigie_projections::live::{DispatchFilter, Live};
use vigie_tests::backend_tests;

fn new_events<E: DomainEvent>(events: &[E]) -> Vec<NewEvent> {
    events.iter().map(|e| NewEvent::new(e.event_type(), e.schema_version(), &e.to_data()).unwrap()).collect()
}

/// Decides against the local state, appends at its version, and folds the events in.
async fn apply(
    store: &EventStore,
    id: ScheduleId,
    state: &mut ScheduleState,
    command: ScheduleCommand,
    ctx: &CommandContext,
) {
    let Ok(events) = schedule::decide(state, command, ctx) else { return };
    if events.is_empty() {
        return;
    }
    let expected =
        if state.version() == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exactly(state.version()) };
    store.append(AppendRequest::new(Schedule::stream_id(id), expected, new_events(&events))).await.unwrap();
    for event in &events {
        *state = schedule::evolve(std::mem::take(state), event);
    }
}

backend_tests! {
    async fn a_rebuild_from_scratch_equals_the_live_model_kept_along_the_way(db) {
        let store = EventStore::open(&db.url, StoreOptions::default()).await.unwrap();
        let kept = Live::start(&store).await.unwrap();
        let operator = Actor { user_id: UserId::new_v7(), username: "ops".into(), role: Role::Operator };
        let ctx = CommandContext::new(operator, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let mut rng = StdRng::seed_from_u64(20261126);

        let account_id = AccountId::new_v7();
        let mut contacts = Vec::new();
        for n in 0..6 {
            let id = ContactId::new_v7();
            let details = ContactDetails { name: format!("Contact {n}"), ..Default::default() };
            let events = contact::decide(&Default::default(), ContactCommand::Add { contact_id: id, account_id, details }, &ctx).unwrap();
            store.append(AppendRequest::new(Contact::stream_id(id), ExpectedVersion::NoStream, new_events(&events))).await.unwrap();
            contacts.push(ContactFacts { id, account_id, active: true });
        }

        let mut schedules = Vec::new();
        for name in ["01 Horaire", "02 Garde"] {
            let id = ScheduleId::new_v7();
            let mut state = ScheduleState::default();
            let create = CreateScheduleCommand { schedule_id: id, account_id, name: name.into(), time_zone: chrono_tz::America::Toronto, name_taken: false };
            apply(&store, id, &mut state, create.into(), &ctx).await;
            for rank in [0, 1] {
                let start = NaiveDate::from_ymd_opt(2030, 1, 7).unwrap().and_hms_opt(7, 30, 0).unwrap();
                let rule = SeriesRule { first_start: start, first_end: start + chrono::Duration::weeks(1), every: 1, unit: RepeatUnit::Weeks, end: SeriesEnd::Count(52) };
                let series = CreateSeriesCommand { series_id: SeriesId::new_v7(), rule, rank, name: "Rotation".into(), role: "OC".into() };
                apply(&store, id, &mut state, series.into(), &ctx).await;
            }
            schedules.push((id, state));
        }

        while store.head_position().await.unwrap() < 10_000 {
            let (id, state) = &mut schedules[rng.random_range(0..2)];
            let shifts = state.shifts();
            let shift = shifts[rng.random_range(0..shifts.len())].clone();
            let contact = contacts[rng.random_range(0..contacts.len())].clone();
            let command: ScheduleCommand = match rng.random_range(0..6) {
                0 | 1 => AssignCommand { shift_id: shift.id, contact, comment: None, recurring: None }.into(),
                2 => {
                    let hours = (shift.end - shift.start).num_hours();
                    let from = shift.start + chrono::Duration::hours(rng.random_range(0..hours - 1));
                    let until = from + chrono::Duration::hours(rng.random_range(1..=(shift.end - from).num_hours()));
                    OverrideCommand { override_id: OverrideId::new_v7(), shift_id: shift.id, contact, start: from, end: until, comment: None }.into()
                }
                3 => UnassignCommand { shift_id: shift.id, override_id: shift.overrides.first().map(|o| o.id) }.into(),
                4 => SwapCommand { shift_a: shift.id, shift_b: shifts[rng.random_range(0..shifts.len())].id, inactive_contacts: vec![] }.into(),
                _ => CommentCommand { shift_id: shift.id, text: format!("note {}", rng.random::<u16>()) }.into(),
            };
            apply(&store, *id, state, command, &ctx).await;
        }

        let head = store.head_position().await.unwrap();
        assert!(kept.wait_for(head, Duration::from_secs(30)).await, "the live model did not keep up");
        let rebuilt = Live::start(&store).await.unwrap();
        assert_eq!(rebuilt.position(), head);
        assert!(*kept.read() == *rebuilt.read(), "the rebuilt live model differs from the one kept along the way");
        // And both agree with the states the writer folded itself.
        for (id, state) in &schedules {
            assert_eq!(rebuilt.read().schedules.get(*id), Some(state));
        }
        // The dispatch index answers what the schedules answer, hour after hour of the year.
        let model = kept.read();
        let year = Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap();
        for hour in (0..24 * 7 * 53).step_by(5) {
            let at = year + chrono::Duration::hours(hour);
            let indexed: Vec<_> = model.dispatch().on_call(account_id, at, DispatchFilter::default())
                .map(|e| (e.schedule_id, e.on_call.shift_id, e.on_call.contact_id, e.on_call.override_id, e.on_call.from, e.on_call.until))
                .collect();
            let walked: Vec<_> = model.schedules_of(account_id)
                .flat_map(|(id, s)| s.on_call_at(at, None).into_iter().map(move |e| (id, e.shift_id, e.contact_id, e.override_id, e.from, e.until)))
                .collect();
            assert_eq!(indexed, walked, "at {at}");
        }
    }

    async fn a_live_model_starts_when_a_purge_removed_the_newest_events(db) {
        let store = EventStore::open(&db.url, StoreOptions::default()).await.unwrap();
        let operator = Actor { user_id: UserId::new_v7(), username: "ops".into(), role: Role::Operator };
        let ctx = CommandContext::new(operator, Utc::now());
        let account_id = AccountId::new_v7();
        let id = ContactId::new_v7();
        let details = ContactDetails { name: "Luc Lambert".into(), ..Default::default() };
        let events = contact::decide(&Default::default(), ContactCommand::Add { contact_id: id, account_id, details }, &ctx).unwrap();
        store.append(AppendRequest::new(Contact::stream_id(id), ExpectedVersion::NoStream, new_events(&events))).await.unwrap();
        // The newest event belongs to a stream kept a day (a message's, say), and the purge removed it.
        let message = NewEvent::new("MessageTaken", 1, &serde_json::json!({})).unwrap();
        let kept_a_day = AppendRequest::new("message-1", ExpectedVersion::NoStream, vec![message]);
        store.append(kept_a_day.with_max_age(Duration::from_secs(24 * 3600))).await.unwrap();
        store.purge_expired(Utc::now() + chrono::Duration::days(2)).await.unwrap();

        // A server restarting on this log: its live model used to wait for ever for the purged event.
        let restarted = EventStore::open(&db.url, StoreOptions::default()).await.unwrap();
        let live = tokio::time::timeout(Duration::from_secs(10), Live::start(&restarted))
            .await
            .expect("the live model never finished reading the log")
            .unwrap();
        assert_eq!(live.position(), 2);
        assert!(live.read().contacts.get(id).is_some(), "the contact before the purged event is known");
    }
}
