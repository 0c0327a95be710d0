//! The event log's contract, told as the same stories on SQLite and on PostgreSQL.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;
use vigie_eventstore::{
    AppendRequest, Direction, EventLog, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StoreOptions,
};
use vigie_tests::{Backend, TestDatabase, backend_tests};

async fn open(db: &TestDatabase) -> EventStore {
    let options = StoreOptions { max_connections: 4, poll_interval: Duration::from_millis(100), ..Default::default() };
    EventStore::open(&db.url, options).await.expect("the test database opens")
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("ShiftCommented", 1, &json!({ "text": format!("comment {n}") })).unwrap()
}

fn append(stream: &str, expected: ExpectedVersion, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest::new(stream, expected, events)
}

/// Every field of each event, to compare events read in different ways.
type EventFields = (u64, Uuid, String, u64, String, u32, String, Metadata, chrono::DateTime<Utc>);

fn as_fields(events: &[vigie_eventstore::StoredEvent]) -> Vec<EventFields> {
    events
        .iter()
        .map(|e| {
            let (id, stream, kind, data) = (e.event_id, e.stream_id.clone(), e.event_type.clone(), e.data.get().into());
            (e.position, id, stream, e.stream_version, kind, e.schema_version, data, e.metadata.clone(), e.recorded_at)
        })
        .collect()
}

backend_tests! {
    async fn an_appended_event_reads_back_exactly_as_written(db) {
        let store = open(&db).await;
        let metadata = Metadata {
            actor_id: Some(Uuid::now_v7()),
            actor_name: Some("4000-TEST".into()),
            correlation_id: Some(Uuid::now_v7()),
            causation_id: Some(Uuid::now_v7()),
            idempotency_key: Some("key-1".into()),
        };
        let new = NewEvent::new("OverrideAdded", 2, &json!({"contact": "Luc Lambert", "hours": 16.5}))
            .unwrap()
            .with_metadata(metadata.clone());
        let before = Utc::now();
        let outcome = store.append(append("schedule-1", ExpectedVersion::NoStream, vec![new.clone()])).await.unwrap();
        assert_eq!((outcome.first_position, outcome.last_position, outcome.stream_version), (1, 1, 1));
        assert!(!outcome.was_duplicate);

        let read = store.read_stream("schedule-1", 1, Direction::Forward, 10).await.unwrap();
        assert_eq!(read.len(), 1);
        let stored = &read[0];
        assert_eq!(stored.event_id, new.event_id);
        assert_eq!(stored.stream_id, "schedule-1");
        assert_eq!((stored.position, stored.stream_version), (1, 1));
        assert_eq!(stored.event_type, "OverrideAdded");
        assert_eq!(stored.schema_version, 2);
        assert_eq!(stored.data_as::<serde_json::Value>().unwrap(), json!({"contact": "Luc Lambert", "hours": 16.5}));
        assert_eq!(stored.metadata, metadata);
        assert!(stored.recorded_at >= before - chrono::Duration::seconds(1) && stored.recorded_at <= Utc::now());
        assert_eq!(stored.recorded_at, outcome.recorded_at);
        assert_eq!(store.head_position().await.unwrap(), 1);
        assert_eq!(store.stream_version("schedule-1").await.unwrap(), 1);
        assert_eq!(store.stream_version("schedule-unknown").await.unwrap(), 0);
    }

    async fn a_stale_expected_version_writes_nothing_and_names_the_actual_version(db) {
        let store = open(&db).await;
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![event(1), event(2)])).await.unwrap();

        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Exactly(1), ExpectedVersion::Exactly(3)] {
            let refused = store.append(append("schedule-1", expected, vec![event(3)])).await.unwrap_err();
            match refused {
                StoreError::WrongExpectedVersion { stream_id, actual, expected: said } => {
                    assert_eq!((stream_id.as_str(), actual, said), ("schedule-1", 2, expected));
                }
                other => panic!("expected a version conflict, got {other}"),
            }
            assert_eq!(store.head_position().await.unwrap(), 2, "a refused append wrote something");
        }
        assert_eq!(store.head_position().await.unwrap(), 2);
        assert_eq!(store.stream_version("schedule-1").await.unwrap(), 2);

        let outcome = store.append(append("schedule-1", ExpectedVersion::Exactly(2), vec![event(3)])).await.unwrap();
        assert_eq!((outcome.stream_version, outcome.last_position), (3, 3));
        let outcome = store.append(append("schedule-1", ExpectedVersion::Any, vec![event(4)])).await.unwrap();
        assert_eq!(outcome.stream_version, 4);
    }

    async fn appending_an_event_id_again_returns_the_original_position_without_a_copy(db) {
        let store = open(&db).await;
        let first = event(1);
        let original = store.append(append("schedule-1", ExpectedVersion::NoStream, vec![first.clone()])).await.unwrap();
        store.append(append("schedule-2", ExpectedVersion::NoStream, vec![event(2)])).await.unwrap();

        // A retry, even one that claims a stale version, is answered as the original was.
        let retried = store.append(append("schedule-1", ExpectedVersion::NoStream, vec![first.clone()])).await.unwrap();
        assert!(retried.was_duplicate);
        assert_eq!((retried.first_position, retried.last_position, retried.stream_version), (1, 1, 1));
        assert_eq!(retried.recorded_at, original.recorded_at);
        assert_eq!(store.read_all(0, 100).await.unwrap().len(), 2);

        // A retry that changed its events is refused whole.
        let refused = store.append(append("schedule-1", ExpectedVersion::Any, vec![first, event(3)])).await.unwrap_err();
        assert!(matches!(refused, StoreError::PartialDuplicate { .. }), "{refused}");
        assert_eq!(store.read_all(0, 100).await.unwrap().len(), 2);
    }

    async fn several_events_to_one_stream_land_together_with_consecutive_positions(db) {
        let store = open(&db).await;
        store.append(append("schedule-a", ExpectedVersion::NoStream, vec![event(1)])).await.unwrap();
        let outcome = store
            .append(append("schedule-b", ExpectedVersion::NoStream, vec![event(1), event(2), event(3)]))
            .await
            .unwrap();
        assert_eq!((outcome.first_position, outcome.last_position, outcome.stream_version), (2, 4, 3));
        let events = store.read_stream("schedule-b", 1, Direction::Forward, 10).await.unwrap();
        let shape: Vec<(u64, u64)> = events.iter().map(|e| (e.position, e.stream_version)).collect();
        assert_eq!(shape, vec![(2, 1), (3, 2), (4, 3)]);
        assert!(events.windows(2).all(|w| w[0].recorded_at == w[1].recorded_at));
    }

    async fn one_appends_conflict_never_fails_a_concurrent_append(db) {
        let store = open(&db).await;
        for n in 0..40 {
            store.append(append(&format!("schedule-{n}"), ExpectedVersion::NoStream, vec![event(0)])).await.unwrap();
        }
        // Forty concurrent appends, every other one with a stale version: they
        // share group-commit batches, and only the stale ones are refused.
        let attempts = (0..40u64).map(|n| {
            let store = store.clone();
            let expected = if n % 2 == 0 { ExpectedVersion::Exactly(1) } else { ExpectedVersion::Exactly(7) };
            async move { (n, store.append(append(&format!("schedule-{n}"), expected, vec![event(n)])).await) }
        });
        let results = futures_util::future::join_all(attempts).await;
        for (n, result) in results {
            match (n % 2, result) {
                (0, Ok(outcome)) => assert_eq!(outcome.stream_version, 2),
                (1, Err(StoreError::WrongExpectedVersion { actual: 1, .. })) => {}
                (_, other) => panic!("append {n} ended as {other:?}"),
            }
        }
        assert_eq!(store.head_position().await.unwrap(), 60);
    }

    async fn two_writers_sharing_the_log_decide_on_each_others_appends(db) {
        // Each writer remembers what it wrote last; the other's appends must
        // still count, as if they came from another server process.
        let (first, second) = (open(&db).await, open(&db).await);
        first.append(append("schedule-shared", ExpectedVersion::NoStream, vec![event(1)])).await.unwrap();
        second.append(append("schedule-shared", ExpectedVersion::Exactly(1), vec![event(2)])).await.unwrap();
        second.append(append("schedule-other", ExpectedVersion::NoStream, vec![event(3)])).await.unwrap();

        let stale = first.append(append("schedule-shared", ExpectedVersion::Exactly(1), vec![event(4)])).await;
        assert!(matches!(stale, Err(StoreError::WrongExpectedVersion { actual: 2, .. })), "{stale:?}");
        let taken = first.append(append("schedule-other", ExpectedVersion::NoStream, vec![event(5)])).await;
        assert!(matches!(taken, Err(StoreError::WrongExpectedVersion { actual: 1, .. })), "{taken:?}");
        let next = first.append(append("schedule-shared", ExpectedVersion::Exactly(2), vec![event(6)])).await.unwrap();
        assert_eq!((next.stream_version, next.first_position), (3, 4));
        // And an event id the other writer stored is a duplicate, not a new event.
        let again = second.read_stream("schedule-shared", 3, Direction::Forward, 1).await.unwrap()[0].event_id;
        let retried = event(6).with_id(again);
        let duplicate = second.append(append("schedule-shared", ExpectedVersion::Exactly(2), vec![retried])).await;
        assert!(duplicate.as_ref().is_ok_and(|o| o.was_duplicate && o.first_position == 4), "{duplicate:?}");
        assert_eq!(second.head_position().await.unwrap(), 4);
    }

    async fn streams_read_forward_and_backward_from_a_version(db) {
        let store = open(&db).await;
        for n in 1..=5 {
            store.append(append("schedule-x", ExpectedVersion::Any, vec![event(n)])).await.unwrap();
            store.append(append("message-y", ExpectedVersion::Any, vec![event(n)])).await.unwrap();
        }
        let versions = |events: Vec<vigie_eventstore::StoredEvent>| events.iter().map(|e| e.stream_version).collect::<Vec<_>>();
        assert_eq!(versions(store.read_stream("schedule-x", 3, Direction::Forward, 10).await.unwrap()), vec![3, 4, 5]);
        assert_eq!(versions(store.read_stream("schedule-x", 3, Direction::Backward, 10).await.unwrap()), vec![3, 2, 1]);
        assert_eq!(versions(store.read_stream("schedule-x", u64::MAX, Direction::Backward, 2).await.unwrap()), vec![5, 4]);
        assert_eq!(versions(store.read_stream("schedule-x", 1, Direction::Forward, 2).await.unwrap()), vec![1, 2]);
        assert!(store.read_stream("schedule-none", 1, Direction::Forward, 10).await.unwrap().is_empty());
    }

    async fn the_global_log_reads_in_pages_and_categories_filter_it(db) {
        let store = open(&db).await;
        for n in 1..=10 {
            store.append(append(&format!("schedule-{}", n % 3), ExpectedVersion::Any, vec![event(n)])).await.unwrap();
            store.append(append(&format!("call-{n}"), ExpectedVersion::Any, vec![event(n)])).await.unwrap();
        }
        let mut positions = Vec::new();
        let mut after = 0;
        loop {
            let page = store.read_all(after, 7).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.position;
            positions.extend(page.iter().map(|e| e.position));
        }
        assert_eq!(positions, (1..=20).collect::<Vec<_>>());

        let schedules = store.read_category("schedule", 0, 100).await.unwrap();
        assert_eq!(schedules.len(), 10);
        assert!(schedules.iter().all(|e| e.stream_id.starts_with("schedule-")));
        assert!(schedules.windows(2).all(|w| w[0].position < w[1].position));
        let later_calls = store.read_category("call", 10, 100).await.unwrap();
        assert_eq!(later_calls.iter().map(|e| e.position).collect::<Vec<_>>(), vec![12, 14, 16, 18, 20]);
    }

    async fn long_pages_of_the_log_join_up_without_a_gap_or_a_repeat(db) {
        let store = open(&db).await;
        // Texts a packed page must carry byte for byte: spaces, digits, signs.
        let metadata = Metadata {
            actor_id: Some(Uuid::now_v7()),
            actor_name: Some("Zoé 12 -1 + ".into()),
            correlation_id: None,
            causation_id: Some(Uuid::now_v7()),
            idempotency_key: Some("".into()),
        };
        for n in 0..13u64 {
            let events = (0..100).map(|i| event(n * 100 + i).with_metadata(metadata.clone())).collect();
            let category = if n % 3 == 0 { "call" } else { "schedule" };
            let request = append(&format!("{category}-{n}"), ExpectedVersion::NoStream, events);
            let request = if n == 4 { request.with_max_age(Duration::from_secs(1)) } else { request };
            store.append(request).await.unwrap();
        }
        // Purge stream 4's events, leaving a gap of 100 positions in the middle.
        store.purge_expired(Utc::now() + chrono::Duration::seconds(5)).await.unwrap();
        let expected: Vec<u64> = (1..=1300).filter(|p| !(401..=500).contains(p)).collect();

        for limit in [1, 249, 250, 251, 999, 1000, 1199, usize::MAX] {
            let (mut after, mut positions) = (0, Vec::new());
            loop {
                let page = store.read_all(after, limit).await.unwrap();
                assert!(page.len() <= limit);
                let Some(last) = page.last() else { break };
                after = last.position;
                positions.extend(page.iter().map(|e| e.position));
            }
            assert_eq!(positions, expected, "reading in pages of {limit}");
        }
        let calls: Vec<u64> = store.read_category("call", 50, 120).await.unwrap().iter().map(|e| e.position).collect();
        assert_eq!(calls, (51..=100).chain(301..=370).collect::<Vec<_>>());

        let from_pages = store.read_all(0, 1000).await.unwrap();
        let from_stream = store.read_stream("schedule-1", 1, Direction::Forward, 100).await.unwrap();
        assert_eq!(from_pages[100].metadata, metadata);
        assert_eq!(
            (from_pages[100].event_id, from_pages[100].data.get(), from_pages[100].recorded_at),
            (from_stream[0].event_id, from_stream[0].data.get(), from_stream[0].recorded_at)
        );

        // Reads given up halfway (a client gone, a timeout) hand their
        // connections back in a state the next read can use: more of them than
        // there are connections, and the log still reads whole and in order.
        for wait in (0..20).map(|n| Duration::from_micros(n * 50)) {
            let _ = tokio::time::timeout(wait, store.read_all(0, usize::MAX)).await;
        }
        let whole = tokio::time::timeout(Duration::from_secs(30), store.read_all(0, usize::MAX)).await;
        let positions: Vec<u64> = whole.expect("the read finishes").unwrap().iter().map(|e| e.position).collect();
        assert_eq!(positions, expected);
    }
    async fn bad_input_gets_a_typed_error_and_writes_nothing(db) {
        let store = open(&db).await;
        let huge = NewEvent::new("MessageTaken", 1, &json!({ "text": "x".repeat(1024 * 1024) })).unwrap();
        let refused = store.append(append("message-1", ExpectedVersion::Any, vec![event(1), huge])).await.unwrap_err();
        assert!(matches!(refused, StoreError::EventTooLarge { limit: 1048576, .. }), "{refused}");

        for bad in ["", "schedule", "Schedule-1", "schedule-", "schedule-a b"] {
            let refused = store.append(append(bad, ExpectedVersion::Any, vec![event(1)])).await.unwrap_err();
            assert!(matches!(refused, StoreError::InvalidStreamId(_)), "{bad:?}: {refused}");
        }
        let refused = store.append(append("schedule-1", ExpectedVersion::Any, vec![])).await.unwrap_err();
        assert!(matches!(refused, StoreError::EmptyAppend { .. }));
        // PostgreSQL cannot store a NUL in text; SQLite could, but refuses it alike.
        let named = Metadata { actor_name: Some("Zo\0é".into()), ..Metadata::default() };
        let refused = store.append(append("schedule-1", ExpectedVersion::Any, vec![event(1).with_metadata(named)])).await;
        assert!(matches!(refused, Err(StoreError::NulInText { field: "actor name", .. })), "{refused:?}");
        assert_eq!(store.head_position().await.unwrap(), 0);
        assert!(store.read_all(0, 10).await.unwrap().is_empty());
    }

    async fn purging_removes_only_expired_events_of_streams_with_a_max_age(db) {
        let store = open(&db).await;
        let day = Duration::from_secs(24 * 3600);
        store.append(append("message-1", ExpectedVersion::NoStream, vec![event(1), event(2)]).with_max_age(day)).await.unwrap();
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![event(3)])).await.unwrap();
        // The max age stays with the stream for later appends that do not repeat it.
        store.append(append("message-1", ExpectedVersion::Exactly(2), vec![event(4)])).await.unwrap();

        assert_eq!(store.purge_expired(Utc::now()).await.unwrap(), 0, "nothing is a day old yet");
        let removed = store.purge_expired(Utc::now() + chrono::Duration::days(2)).await.unwrap();
        assert_eq!(removed, 3);
        let left: Vec<String> = store.read_all(0, 10).await.unwrap().into_iter().map(|e| e.stream_id).collect();
        assert_eq!(left, vec!["schedule-1"], "schedule history is never purged");

        // Positions and versions never restart after a purge, even though the
        // newest event went: not for this writer, nor for one that opens the
        // log afresh and has only what is stored to go by.
        assert_eq!(store.head_position().await.unwrap(), 4);
        assert_eq!(store.stream_version("message-1").await.unwrap(), 3);
        let outcome = store.append(append("message-1", ExpectedVersion::Exactly(3), vec![event(5)])).await.unwrap();
        assert_eq!((outcome.first_position, outcome.stream_version), (5, 4));
        store.purge_expired(Utc::now() + chrono::Duration::days(2)).await.unwrap();
        let reopened = open(&db).await;
        assert_eq!(reopened.head_position().await.unwrap(), 5);
        let stale = reopened.append(append("message-1", ExpectedVersion::NoStream, vec![event(6)])).await;
        assert!(matches!(stale, Err(StoreError::WrongExpectedVersion { actual: 4, .. })), "{stale:?}");
        let outcome = reopened.append(append("message-1", ExpectedVersion::Exactly(4), vec![event(6)])).await.unwrap();
        assert_eq!((outcome.first_position, outcome.stream_version), (6, 5));
    }

    async fn purging_streams_removes_them_whole_but_never_a_stream_without_a_max_age(db) {
        let store = open(&db).await;
        let sixty_days = Duration::from_secs(60 * 24 * 3600);
        store.append(append("message-1", ExpectedVersion::NoStream, vec![event(1), event(2)]).with_max_age(sixty_days)).await.unwrap();
        store.append(append("message-2", ExpectedVersion::NoStream, vec![event(3)]).with_max_age(sixty_days)).await.unwrap();
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![event(4)])).await.unwrap();

        let asked = ["message-1", "schedule-1", "message-9"].map(String::from);
        assert_eq!(store.purge_streams(&asked).await.unwrap(), 2, "message-1's two events, recorded just now");
        assert_eq!(store.purge_streams(&[]).await.unwrap(), 0);
        let left: Vec<String> = store.read_all(0, 10).await.unwrap().into_iter().map(|e| e.stream_id).collect();
        assert_eq!(left, vec!["message-2", "schedule-1"], "schedule history is never purged");

        // As after any purge, the stream's versions go on where they were.
        assert_eq!(store.stream_version("message-1").await.unwrap(), 2);
        let outcome = store.append(append("message-1", ExpectedVersion::Exactly(2), vec![event(5)])).await.unwrap();
        assert_eq!((outcome.first_position, outcome.stream_version), (5, 3));
        assert_eq!(open(&db).await.head_position().await.unwrap(), 5);
    }

    async fn a_shorter_retention_reaches_the_events_already_stored(db) {
        let store = open(&db).await;
        let sixty_days = Duration::from_secs(60 * 24 * 3600);
        store.append(append("message-1", ExpectedVersion::NoStream, vec![event(1)]).with_max_age(sixty_days)).await.unwrap();
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![event(2)])).await.unwrap();
        let in_twenty_days = Utc::now() + chrono::Duration::days(20);
        assert_eq!(store.purge_expired(in_twenty_days).await.unwrap(), 0, "kept sixty days as written");

        assert_eq!(store.retain_for(Duration::from_secs(7 * 24 * 3600)).await.unwrap(), 1, "only the stream with a max age");
        assert_eq!(store.purge_expired(in_twenty_days).await.unwrap(), 1, "kept seven days now");
        let left: Vec<String> = store.read_all(0, 10).await.unwrap().into_iter().map(|e| e.stream_id).collect();
        assert_eq!(left, vec!["schedule-1"], "schedule history is never purged");
    }

    async fn a_subscription_reaches_the_head_when_a_purge_removed_the_newest_events(db) {
        let store = open(&db).await;
        let day = Duration::from_secs(24 * 3600);
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![event(1)])).await.unwrap();
        store.append(append("message-1", ExpectedVersion::NoStream, vec![event(2), event(3)]).with_max_age(day)).await.unwrap();
        store.purge_expired(Utc::now() + chrono::Duration::days(2)).await.unwrap();

        // A process that opens the log afresh, as a restarted server does.
        let reopened = open(&db).await;
        assert_eq!(reopened.head_position().await.unwrap(), 3);
        let mut subscription = reopened.subscribe(0);
        let mut delivered = Vec::new();
        let mut through = 0;
        while through < 3 {
            let page = tokio::time::timeout(Duration::from_secs(10), subscription.next_page())
                .await
                .expect("the subscription never reached the head past the purged events")
                .unwrap();
            delivered.extend(page.events.iter().map(|e| e.position));
            through = page.through;
        }
        assert_eq!(delivered, vec![1]);
        assert_eq!(through, 3);
        // What comes next is delivered as ever.
        reopened.append(append("schedule-1", ExpectedVersion::Exactly(1), vec![event(4)])).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await.unwrap().unwrap();
        assert_eq!(next.position, 4);
    }

    async fn a_subscription_catches_up_then_follows_live_appends(db) {
        let store = open(&db).await;
        for n in 1..=2500 {
            store.append(append(&format!("schedule-{}", n % 7), ExpectedVersion::Any, vec![event(n)])).await.unwrap();
        }
        let mut subscription = store.subscribe(1000);
        for expected in 1001..=2500 {
            assert_eq!(subscription.next().await.unwrap().position, expected);
        }
        let writer = store.clone();
        tokio::spawn(async move {
            for n in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                writer.append(append("schedule-live", ExpectedVersion::Any, vec![event(n)])).await.unwrap();
            }
        });
        for expected in 2501..=2505 {
            let next = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
            assert_eq!(next.expect("a live event arrives").unwrap().position, expected);
        }
    }

    async fn followers_get_what_this_process_just_committed_from_memory_exactly_as_the_log_holds_it(db) {
        let options = StoreOptions { hand_off_window: Duration::from_secs(600), ..Default::default() };
        let store = EventStore::open(&db.url, options).await.unwrap();
        // Appends of every kind the writers meet: several events with
        // metadata, a max age, a retry, a conflict, concurrent appends
        // gathered into batches.
        let metadata = Metadata {
            actor_id: Some(Uuid::now_v7()),
            actor_name: Some("Zoé 4000-TEST".into()),
            correlation_id: Some(Uuid::now_v7()),
            causation_id: None,
            idempotency_key: Some("key-1".into()),
        };
        let commented = NewEvent::new("OverrideAdded", 2, &json!({"contact": "Luc", "hours": 16.5, "note": "é\n"}))
            .unwrap()
            .with_metadata(metadata);
        store.append(append("schedule-1", ExpectedVersion::NoStream, vec![commented, event(2)])).await.unwrap();
        let day = Duration::from_secs(24 * 3600);
        store.append(append("message-1", ExpectedVersion::NoStream, vec![event(3)]).with_max_age(day)).await.unwrap();
        let retried = append("schedule-2", ExpectedVersion::Any, vec![event(4)]);
        store.append(retried.clone()).await.unwrap();
        assert!(store.append(retried).await.unwrap().was_duplicate);
        assert!(store.append(append("schedule-1", ExpectedVersion::Exactly(1), vec![event(5)])).await.is_err());
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..20 {
            let store = store.clone();
            let request = append(&format!("call-{n}"), ExpectedVersion::NoStream, vec![event(n), event(n + 100)]);
            writers.spawn(async move { store.append(request).await.unwrap() });
        }
        writers.join_all().await;
        let from_log = store.read_all(0, 1000).await.unwrap();
        assert_eq!(from_log.len(), 2 + 1 + 1 + 40);

        // The rows go behind the store's back, so that only memory can answer.
        let rows = vigie_projections::db::Db::connect_with(&db.url, 1, vigie_projections::db::Durability::Durable)
            .await
            .unwrap();
        vigie_projections::on_db!(&rows, |pool| sqlx::query("DELETE FROM events").execute(pool).await.map(drop)).unwrap();
        assert!(store.read_all(0, 1000).await.unwrap().is_empty());

        let from_memory = store.read_new(0, 1000).await.unwrap();
        assert_eq!(as_fields(&from_memory), as_fields(&from_log));
        assert_eq!(as_fields(&store.read_new(3, 2).await.unwrap()), as_fields(&from_log[3..5]));
        // Past what this process committed, and after a purge, the log answers.
        assert!(store.read_new(from_log.last().unwrap().position, 1000).await.unwrap().is_empty());
        store.purge_expired(Utc::now()).await.unwrap();
        assert!(store.read_new(0, 1000).await.unwrap().is_empty(), "a purge forgets what memory held");
    }

    async fn concurrent_writers_in_three_processes_reach_a_live_subscriber_once_each_in_log_order(db) {
        let store = open(&db).await;
        let mut subscription = store.subscribe(0);
        const PROCESSES: usize = 2;
        const WRITERS: usize = 8;
        const APPENDS: usize = 150;
        let children: Vec<_> = (0..PROCESSES)
            .map(|p| {
                tokio::process::Command::new(env!("CARGO_BIN_EXE_log-writer"))
                    .args([db.url.as_str(), &format!("p{p}"), &WRITERS.to_string(), &APPENDS.to_string(), "1"])
                    .stdout(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .expect("the writer process starts")
            })
            .collect();

        // This process writes too, so that its followers get some events
        // from memory, between runs the other processes break.
        let mut own = tokio::task::JoinSet::new();
        for w in 0..WRITERS {
            let store = store.clone();
            own.spawn(async move {
                for n in 0..APPENDS {
                    let request = append(&format!("schedule-own{w}"), ExpectedVersion::Any, vec![event(n as u64)]);
                    store.append(request).await.unwrap();
                }
            });
        }

        let total = (PROCESSES + 1) * WRITERS * APPENDS;
        let mut seen = Vec::with_capacity(total);
        while seen.len() < total {
            let next = tokio::time::timeout(Duration::from_secs(60), subscription.next()).await;
            let event = next.expect("every event reaches the subscriber").expect("the store is alive");
            seen.push((event.position, event.event_id));
        }
        for mut child in children {
            assert!(child.wait().await.unwrap().success(), "a writer process failed");
        }
        own.join_all().await;
        // Nothing more arrives: no event is delivered twice.
        let extra = tokio::time::timeout(Duration::from_millis(500), subscription.next()).await;
        assert!(extra.is_err(), "an event was delivered after all were seen: {extra:?}");

        let ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids.len(), total, "an event was delivered twice");
        let full_read: Vec<(u64, Uuid)> =
            store.read_all(0, total + 10).await.unwrap().iter().map(|e| (e.position, e.event_id)).collect();
        assert_eq!(full_read.len(), total);
        assert_eq!(seen, full_read, "the subscriber saw a different order than a full read");
    }

    async fn on_postgres_a_commit_by_another_process_wakes_subscribers_at_once(db) {
        if db.backend == Backend::Sqlite {
            return; // nothing announces another process's commits to a SQLite file: its followers poll
        }
        // Polls too rare to matter: only the announcement can bring the events in time.
        let options = StoreOptions { poll_interval: Duration::from_secs(3600), ..Default::default() };
        let here = EventStore::open(&db.url, options.clone()).await.unwrap();
        let there = EventStore::open(&db.url, options).await.unwrap();
        let mut subscription = here.subscribe(0);

        // While this process writes nothing, then while it writes too.
        let writers = [&there, &there, &here, &there, &here, &there];
        for (n, writer) in (1..).zip(writers) {
            writer.append(append(&format!("schedule-{n}"), ExpectedVersion::NoStream, vec![event(n)])).await.unwrap();
            let next = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
            assert_eq!(next.expect("the commit is announced").unwrap().position, n);
        }
    }

    async fn every_acknowledged_append_survives_a_killed_process(db) {
        use tokio::io::AsyncBufReadExt;
        // Create the schema first, so the child is killed while appending.
        drop(open(&db).await);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_log-writer"))
            .args([db.url.as_str(), "crash", "8", "100000", "3"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the writer process starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acknowledged = Vec::new();
        while acknowledged.len() < 300 {
            let line = lines.next_line().await.unwrap().expect("the writer keeps acknowledging");
            let fields: Vec<&str> = line.split(' ').collect();
            acknowledged.push((fields[1].to_owned(), fields[2].parse::<u64>().unwrap(), fields[3].parse::<u64>().unwrap()));
        }
        child.start_kill().unwrap(); // SIGKILL: no chance to flush or clean up
        child.wait().await.unwrap();
        // Acknowledgements printed after our count but before the kill count too.
        while let Ok(Some(line)) = lines.next_line().await {
            let fields: Vec<&str> = line.split(' ').collect();
            acknowledged.push((fields[1].to_owned(), fields[2].parse().unwrap(), fields[3].parse().unwrap()));
        }

        let store = open(&db).await;
        for (stream, first, last) in &acknowledged {
            let events = store.read_stream(stream, 1, Direction::Forward, 10).await.unwrap();
            let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
            assert_eq!(positions, (*first..=*last).collect::<Vec<_>>(), "acknowledged append to {stream} was lost");
        }
        // Every append carried three events: each stream has all three or none.
        let all = store.read_all(0, 1_000_000).await.unwrap();
        let mut per_stream = std::collections::HashMap::<String, usize>::new();
        for event in &all {
            *per_stream.entry(event.stream_id.clone()).or_default() += 1;
        }
        assert!(per_stream.values().all(|&n| n == 3), "a multi-event append was partly stored");
        assert!(per_stream.len() >= acknowledged.len());
    }
}

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_by_name() {
    let refused = EventStore::open("mysql://root@localhost/vigie", StoreOptions::default()).await.unwrap_err();
    assert!(matches!(refused, StoreError::UnsupportedUrl(_)));
    assert!(refused.to_string().contains("use sqlite://PATH or postgres://"), "{refused}");
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let refused =
        EventStore::open("postgres://vigie:hunter2@127.0.0.1:1/vigie", StoreOptions::default()).await.unwrap_err();
    let message = refused.to_string();
    assert!(matches!(refused, StoreError::Unreachable { .. }), "{message}");
    assert!(message.contains("postgres://vigie:***@127.0.0.1:1/vigie"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
