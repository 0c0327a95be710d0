//! The inbox and the call log as a user sees them, built by their SQL projections from real domain events, on both back ends.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Toronto;
use vigie_domain::calls::{CallEvent, CallKind, CallLogged, RecordingAttached};
use vigie_domain::contact::{ContactAdded, ContactDetails, ContactEvent};
use vigie_domain::inbox::{MessageClosed, MessageDelivered, MessageEvent, MessageTaken, Recipient};
use vigie_domain::{AccountId, CallId, ContactId, DomainEvent, MessageId, RecordingId};
use vigie_eventstore::{AppendRequest, Direction, EventLog, EventStore, ExpectedVersion, NewEvent, StoreOptions};
use vigie_projections::call_log::{CallLog, CallLogProjection, CallLogView, CallQuery};
use vigie_projections::db::{Db, Durability};
use vigie_projections::inbox::{Inbox, InboxProjection, InboxQuery, MessageStatus, Window};
use vigie_projections::sql::{
    ProjectionRunner, RunnerOptions, SqlProjection, SqlProjections, live_state, purge_expired, rebuild,
    retention_max_age,
};
use vigie_tests::{Backend, TestDatabase, backend_tests};

const RETENTION_DAYS: u32 = 60;

async fn open(db: &TestDatabase) -> (EventStore, Db) {
    let options = StoreOptions { max_connections: 4, poll_interval: Duration::from_millis(100), ..Default::default() };
    let store = EventStore::open(&db.url, options).await.expect("the test database opens");
    let pool = Db::connect(&db.url, 4).await.expect("the read models' pool opens");
    (store, pool)
}

fn fast() -> RunnerOptions {
    RunnerOptions {
        batch_size: 100,
        poll_interval: Duration::from_millis(50),
        leader_retry: Duration::from_millis(300),
        error_backoff: Duration::from_millis(300),
    }
}

/// An instant on Toronto's wall clock.
fn toronto(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Toronto.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("an unambiguous Toronto time").with_timezone(&Utc)
}

/// 23:45 on Wednesday 25 November 2026 in Toronto, already the 26th in UTC.
fn now() -> DateTime<Utc> {
    toronto(2026, 11, 25, 23, 45)
}

fn new_events<E: DomainEvent>(events: &[E]) -> Vec<NewEvent> {
    events.iter().map(|e| NewEvent::new(e.event_type(), e.schema_version(), &e.to_data()).unwrap()).collect()
}

/// Appends a message stream's events as the API does: kept only for the retention period.
async fn append_message(store: &EventStore, id: MessageId, events: Vec<MessageEvent>) -> u64 {
    let request = AppendRequest::new(vigie_domain::inbox::stream_id(id), ExpectedVersion::Any, new_events(&events))
        .with_max_age(retention_max_age(RETENTION_DAYS));
    store.append(request).await.expect("the message is stored").last_position
}

fn taken(id: MessageId, account_id: AccountId, taken_at: DateTime<Utc>, text: &str, urgent: bool) -> MessageEvent {
    MessageTaken {
        message_id: id,
        account_id,
        taken_at,
        agent: "Nadia".into(),
        caller_name: Some("Jean Dupuis".into()),
        caller_number: Some("418-555-0142".into()),
        text: text.into(),
        urgent,
    }
    .into()
}

/// A message taken now from a named caller.
fn from_caller(id: MessageId, account_id: AccountId, name: &str, number: Option<&str>, text: &str) -> MessageTaken {
    MessageTaken {
        message_id: id,
        account_id,
        taken_at: now(),
        agent: "Nadia".into(),
        caller_name: Some(name.into()),
        caller_number: number.map(str::to_owned),
        text: text.into(),
        urgent: false,
    }
}

/// Takes a message; answers its id and the log position of its last event.
async fn take(store: &EventStore, account: AccountId, at: DateTime<Utc>, text: &str, urgent: bool) -> (MessageId, u64) {
    let id = MessageId::new_v7();
    let position = append_message(store, id, vec![taken(id, account, at, text, urgent)]).await;
    (id, position)
}

async fn add_contact(store: &EventStore, account_id: AccountId, name: &str) -> ContactId {
    let contact_id = ContactId::new_v7();
    let added: ContactEvent = ContactAdded {
        contact_id,
        account_id,
        details: ContactDetails { name: name.into(), phones: vec!["514-555-0123".into()], ..Default::default() },
    }
    .into();
    let stream = format!("contact-{contact_id}");
    store.append(AppendRequest::new(stream, ExpectedVersion::NoStream, new_events(&[added]))).await.unwrap();
    contact_id
}

/// Logs a call as the API does, kept only for the retention period; answers its id and last position.
async fn log_call(
    store: &EventStore,
    account_id: AccountId,
    started_at: DateTime<Utc>,
    caller_id: &str,
    recording: Option<RecordingAttached>,
) -> (CallId, u64) {
    let call_id = CallId::new_v7();
    let kind = if recording.is_some() { CallKind::Voice } else { CallKind::Details };
    let mut events: Vec<CallEvent> = vec![
        CallLogged {
            call_id,
            account_id,
            call_number: "15319140".into(),
            started_at,
            duration_seconds: 95,
            agent: "Olivier".into(),
            caller_id: Some(caller_id.into()),
            kind,
        }
        .into(),
    ];
    events.extend(recording.map(CallEvent::from));
    let request =
        AppendRequest::new(vigie_domain::calls::stream_id(call_id), ExpectedVersion::NoStream, new_events(&events))
            .with_max_age(retention_max_age(RETENTION_DAYS));
    (call_id, store.append(request).await.expect("the call is stored").last_position)
}

/// The caller IDs of each part of a call log search.
fn caller_ids(view: &CallLogView) -> (Vec<&str>, Vec<&str>) {
    fn ids(calls: &[vigie_projections::call_log::CallView]) -> Vec<&str> {
        calls.iter().map(|c| c.caller_id.as_deref().unwrap_or_default()).collect()
    }
    (ids(&view.recent), ids(&view.archive))
}

async fn inbox_page(inbox: &Inbox, query: &InboxQuery) -> Vec<String> {
    inbox.query(query).await.unwrap().messages.into_iter().map(|m| m.text).collect()
}

fn query(account: AccountId) -> InboxQuery {
    InboxQuery::new(account, Toronto, now())
}

/// Starts a projection's runner and waits until it has applied `position`.
async fn run<P: SqlProjection>(store: &EventStore, db: &Db, projection: P, position: u64) -> ProjectionRunner {
    let runner = ProjectionRunner::spawn(store.clone(), db.clone(), projection, fast());
    assert!(runner.wait_for(position, Duration::from_secs(10)).await, "{} did not reach position {position}", P::NAME);
    runner
}

async fn run_inbox(store: &EventStore, db: &Db, position: u64) -> ProjectionRunner {
    run(store, db, InboxProjection, position).await
}

/// Every row of the live inbox, in a fixed order, as a user would compare them.
async fn all_messages(inbox: &Inbox, account: AccountId) -> Vec<String> {
    let query = InboxQuery { limit: 10_000, ..InboxQuery::new(account, Toronto, Utc::now()) };
    inbox
        .query(&query)
        .await
        .unwrap()
        .messages
        .into_iter()
        .map(|m| format!("{} {} {:?} {:?} {:?}", m.text, m.taken_at, m.status, m.delivered_to, m.closed_at))
        .collect()
}

backend_tests! {
    async fn a_read_model_misses_no_event_committed_through_another_node(db) {
        if db.backend == Backend::Sqlite {
            return; // the read model is held back below with a table lock, which SQLite has not
        }
        let (here, pool) = open(&db).await;
        // A second node on the same log: its commits reach this one through the head alone.
        let (there, _) = open(&db).await;
        let account = AccountId::new_v7();
        let (_, first) = take(&there, account, now(), "first, there", false).await;
        let runner = run_inbox(&here, &pool, first).await;

        // Hold the runner in the middle of applying the other node's next message ...
        let Db::Postgres(pg) = &pool else { unreachable!() };
        let mut lock = pg.begin().await.unwrap();
        sqlx::query("LOCK TABLE inbox_messages IN ACCESS EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();
        take(&there, account, now(), "second, there", false).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ... while this node commits one, which its runner will get from memory, and the
        // other node commits another, which this node knows of only through the head.
        take(&here, account, now(), "third, here", false).await;
        let (_, fourth) = take(&there, account, now(), "fourth, there", false).await;
        let mut head = here.watch_head();
        tokio::time::timeout(Duration::from_secs(10), head.wait_for(|&h| h >= fourth)).await.unwrap().unwrap();
        lock.commit().await.unwrap();

        assert!(runner.wait_for(fourth, Duration::from_secs(10)).await, "the runner did not reach {fourth}");
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let messages = all_messages(&inbox, account).await;
        assert_eq!(messages.len(), 4, "a message acknowledged through the other node was skipped: {messages:?}");
        runner.stop().await;
    }

    async fn the_call_log_splits_the_last_7_days_from_the_archive_and_finds_caller_ids(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let recording = RecordingAttached {
            recording_id: RecordingId::new_v7(),
            content_type: "audio/mpeg".into(),
            bytes: 48_213,
            sha256: None,
        };
        let (voice, _) = log_call(&store, account, toronto(2026, 11, 25, 23, 30), "418-555-0142", Some(recording.clone())).await;
        log_call(&store, account, toronto(2026, 11, 19, 0, 5), "514-555-0199", None).await;
        log_call(&store, account, toronto(2026, 11, 18, 23, 50), "450-555-0110", None).await;
        log_call(&store, account, toronto(2026, 10, 1, 9, 0), "Private caller", None).await;
        log_call(&store, account, toronto(2026, 9, 20, 9, 0), "past retention", None).await;
        let (_, last) = log_call(&store, AccountId::new_v7(), toronto(2026, 11, 25, 9, 0), "another account", None).await;
        let runner = run(&store, &pool, CallLogProjection, last).await;
        let calls = CallLog::new(pool.clone(), RETENTION_DAYS);

        let search = |from: Option<(u32, u32)>, to: Option<(u32, u32)>, caller_id: Option<&str>| CallQuery {
            from: from.map(|(m, d)| NaiveDate::from_ymd_opt(2026, m, d).unwrap()),
            to: to.map(|(m, d)| NaiveDate::from_ymd_opt(2026, m, d).unwrap()),
            caller_id: caller_id.map(str::to_owned),
            ..CallQuery::new(account, Toronto, now())
        };
        let everything = calls.search(&search(None, None, None)).await.unwrap();
        assert_eq!(
            caller_ids(&everything),
            (vec!["418-555-0142", "514-555-0199"], vec!["450-555-0110", "Private caller"]),
            "the last 7 days in Toronto (from 19 November) are recent, older calls back to 60 days the archive"
        );
        let newest = &everything.recent[0];
        assert_eq!(newest.started_at.to_rfc3339(), "2026-11-25T23:30:00-05:00");
        assert_eq!((newest.kind, newest.duration_seconds, newest.call_number.as_str()), (CallKind::Voice, 95, "15319140"));
        assert_eq!((newest.recording_id, newest.content_type.as_deref(), newest.bytes), (Some(recording.recording_id), Some("audio/mpeg"), Some(48_213)));
        assert_eq!(everything.recent[1].recording_id, None, "a details call has no recording");

        assert_eq!(caller_ids(&calls.search(&search(None, None, Some("555-0142"))).await.unwrap()), (vec!["418-555-0142"], vec![]));
        assert_eq!(caller_ids(&calls.search(&search(None, None, Some("4185550142"))).await.unwrap()), (vec!["418-555-0142"], vec![]), "digits find a number however it is written");
        assert_eq!(caller_ids(&calls.search(&search(None, None, Some("private"))).await.unwrap()), (vec![], vec!["Private caller"]));
        assert_eq!(
            caller_ids(&calls.search(&search(Some((11, 18)), Some((11, 19)), None)).await.unwrap()),
            (vec!["514-555-0199"], vec!["450-555-0110"]),
            "a range of days in the account's zone"
        );
        assert!(calls.search(&search(Some((11, 19)), Some((11, 18)), None)).await.is_err(), "a range that ends before it starts");
        assert_eq!((everything.total_recent, everything.total_archive, everything.limit, everything.offset), (2, 2, 500, 0));

        // Paged, newest first: a page may end in the recent part, or straddle both; the totals stay.
        let page = |limit, offset| CallQuery { limit, offset, ..search(None, None, None) };
        let first = calls.search(&page(1, 0)).await.unwrap();
        assert_eq!((caller_ids(&first), first.total_recent, first.total_archive), ((vec!["418-555-0142"], vec![]), 2, 2));
        let straddling = calls.search(&page(2, 1)).await.unwrap();
        assert_eq!(caller_ids(&straddling), (vec!["514-555-0199"], vec!["450-555-0110"]));
        let last = calls.search(&page(2, 3)).await.unwrap();
        assert_eq!((caller_ids(&last), last.total_archive), ((vec![], vec!["Private caller"]), 2));

        let one = calls.call(account, voice, Toronto, now()).await.unwrap().expect("the call by id");
        assert_eq!(&one, newest);
        assert_eq!(calls.call(AccountId::new_v7(), voice, Toronto, now()).await.unwrap(), None, "not through another account");
        runner.stop().await;
    }

    async fn searches_ignore_case_accents_and_how_a_number_is_written(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let id = MessageId::new_v7();
        let message = from_caller(id, account, "Hôpital de l'Enfant-Jésus", Some("+1 (581) 555-0177"), "Rappeler l'infirmière de garde");
        append_message(&store, id, vec![message.into()]).await;
        take(&store, account, now(), "another message", false).await; // from 418-555-0142
        log_call(&store, account, now(), "HÔPITAL LAVAL", None).await;
        let (_, last) = log_call(&store, account, now(), "1-418-555-0142", None).await;
        let inbox_runner = run_inbox(&store, &pool, last).await;
        let call_runner = run(&store, &pool, CallLogProjection, last).await;
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let calls = CallLog::new(pool.clone(), RETENTION_DAYS);

        for wanted in ["hopital", "ENFANT-JESUS", "infirmiere", "5815550177", "581-555-0177", "+1 581 555 0177"] {
            let found = inbox_page(&inbox, &InboxQuery { text: Some(wanted.into()), ..query(account) }).await;
            assert_eq!(found, ["Rappeler l'infirmière de garde"], "the inbox searched for {wanted:?}");
        }
        let search = |wanted: &str| CallQuery { caller_id: Some(wanted.into()), ..CallQuery::new(account, Toronto, now()) };
        for (wanted, expected) in [("hôpital", "HÔPITAL LAVAL"), ("laval", "HÔPITAL LAVAL"), ("+1 (418) 555-0142", "1-418-555-0142"), ("4185550142", "1-418-555-0142")] {
            assert_eq!(caller_ids(&calls.search(&search(wanted)).await.unwrap()), (vec![expected], vec![]), "the call log searched for {wanted:?}");
        }
        assert_eq!(caller_ids(&calls.search(&search("Dr. 1")).await.unwrap()), (vec![], vec![]), "words are not searched as digits");
        inbox_runner.stop().await;
        call_runner.stop().await;
    }

    async fn a_read_model_built_by_an_older_revision_is_rebuilt_when_its_node_starts(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let id = MessageId::new_v7();
        let message = from_caller(id, account, "Hôpital Laval", None, "Rappeler");
        let last = append_message(&store, id, vec![message.into()]).await;
        run_inbox(&store, &pool, last).await.stop().await;
        // As revision 1 left it: search text in lower case, accents kept.
        vigie_projections::on_db!(&pool, |p| sqlx::query(
            "UPDATE projection_generations SET live_revision = 1 WHERE name = 'inbox'").execute(p).await.map(|_| ())).unwrap();
        vigie_projections::on_db!(&pool, |p| sqlx::query(
            "UPDATE inbox_messages SET search_text = 'hôpital laval'").execute(p).await.map(|_| ())).unwrap();
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let search = InboxQuery { text: Some("hopital".into()), ..query(account) };
        assert!(inbox_page(&inbox, &search).await.is_empty(), "rows as an older revision wrote them");
        let before = live_state(&pool, InboxProjection::NAME).await.unwrap();

        let node = SqlProjections::start(store.clone(), pool.clone(), fast());
        let mut revision = 1;
        for _ in 0..200 {
            revision = vigie_projections::on_db!(&pool, |p| sqlx::query_scalar::<_, i64>(
                "SELECT live_revision FROM projection_generations WHERE name = 'inbox'").fetch_one(p).await).unwrap();
            if revision == InboxProjection::REVISION {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(revision, InboxProjection::REVISION, "the inbox was not rebuilt at its new revision");
        assert_eq!(live_state(&pool, InboxProjection::NAME).await.unwrap().generation, before.generation + 1);
        assert_eq!(inbox_page(&inbox, &search).await, ["Rappeler"], "the rebuilt rows fold accents");
        node.stop().await;
    }

    async fn an_older_node_leaves_a_projection_that_newer_code_rebuilt(db) {
        // A rolling upgrade: a node of the next revision rebuilt the inbox and made it live.
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let id = MessageId::new_v7();
        let first = append_message(&store, id, vec![from_caller(id, account, "A", None, "first").into()]).await;
        run_inbox(&store, &pool, first).await.stop().await;
        let set_live_revision = |revision: i64| {
            let pool = pool.clone();
            async move {
                vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE projection_generations SET live_revision = $1 WHERE name = 'inbox'")
                    .bind(revision).execute(p).await.map(|_| ())).unwrap();
            }
        };
        set_live_revision(InboxProjection::REVISION + 1).await;

        // This node's older code writes none of its rows into that generation.
        let id = MessageId::new_v7();
        let second = append_message(&store, id, vec![from_caller(id, account, "B", None, "second").into()]).await;
        let runner = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, fast());
        assert!(!runner.wait_for(second, Duration::from_secs(1)).await, "older code applied events to a newer generation");
        assert_eq!(live_state(&pool, InboxProjection::NAME).await.unwrap().position, first);
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        assert_eq!(all_messages(&inbox, account).await.len(), 1);

        // It still follows the checkpoint, so it applies again once its code is current.
        set_live_revision(InboxProjection::REVISION).await;
        assert!(runner.wait_for(second, Duration::from_secs(10)).await, "the runner never came back");
        assert_eq!(all_messages(&inbox, account).await.len(), 2);
        runner.stop().await;
    }

    async fn an_event_with_a_nul_already_in_the_log_does_not_stop_the_inbox(db) {
        // Written before the API refused NULs; PostgreSQL's text cannot hold one.
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let id = MessageId::new_v7();
        append_message(&store, id, vec![from_caller(id, account, "Jean\u{0}", None, "a\u{0}b").into()]).await;
        let id = MessageId::new_v7();
        let after = append_message(&store, id, vec![from_caller(id, account, "Marie", None, "after").into()]).await;

        let runner = run_inbox(&store, &pool, after).await;
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let page = inbox.query(&InboxQuery { limit: 10, ..query(account) }).await.unwrap();
        let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["after", "a\u{FFFD}b"]);
        runner.stop().await;
    }

    async fn the_inbox_filters_by_days_of_the_accounts_time_zone(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let other = AccountId::new_v7();
        let mut last = 0;
        for (at, text, urgent) in [
            (toronto(2026, 11, 25, 23, 30), "furnace at 23:30, tomorrow in UTC", true),
            (toronto(2026, 11, 25, 0, 10), "early today", false),
            (toronto(2026, 11, 24, 23, 59), "late yesterday", false),
            (toronto(2026, 11, 20, 9, 0), "last friday", false),
            (toronto(2026, 11, 18, 9, 0), "eight days ago", false),
            (toronto(2026, 10, 28, 9, 0), "before the clocks changed", false),
            (toronto(2026, 10, 20, 9, 0), "five weeks ago", false),
            (toronto(2026, 9, 20, 9, 0), "past the retention period", false),
        ] {
            last = take(&store, account, at, text, urgent).await.1;
        }
        let (closed, _) = take(&store, other, toronto(2026, 11, 25, 12, 0), "another account's", false).await;
        let yesterday = store.read_all(0, 100).await.unwrap().into_iter()
            .find(|e| e.data.get().contains("late yesterday")).unwrap();
        let yesterday_id: MessageId = yesterday.stream_id["message-".len()..].parse().unwrap();
        last = last.max(append_message(&store, yesterday_id, vec![MessageClosed { at: now() }.into()]).await);
        last = last.max(append_message(&store, closed, vec![MessageClosed { at: now() }.into()]).await);
        let runner = run_inbox(&store, &pool, last).await;
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);

        let window = |window| InboxQuery { window, ..query(account) };
        assert_eq!(
            inbox_page(&inbox, &query(account)).await,
            ["furnace at 23:30, tomorrow in UTC", "early today", "late yesterday", "last friday", "eight days ago",
             "before the clocks changed", "five weeks ago"],
            "every message kept, newest first, and nothing of another account or past retention"
        );
        assert_eq!(inbox_page(&inbox, &window(Window::Today)).await, ["furnace at 23:30, tomorrow in UTC", "early today"]);
        assert_eq!(inbox_page(&inbox, &window(Window::Yesterday)).await, ["late yesterday"]);
        assert_eq!(
            inbox_page(&inbox, &window(Window::LastWeek)).await,
            ["furnace at 23:30, tomorrow in UTC", "early today", "late yesterday", "last friday"]
        );
        assert_eq!(inbox_page(&inbox, &window(Window::LastMonth)).await.len(), 6);
        let range = Window::Range { from: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(), to: NaiveDate::from_ymd_opt(2026, 10, 28).unwrap() };
        assert_eq!(inbox_page(&inbox, &window(range)).await, ["before the clocks changed", "five weeks ago"]);

        let closed_only = InboxQuery { status: Some(MessageStatus::Closed), ..query(account) };
        assert_eq!(inbox_page(&inbox, &closed_only).await, ["late yesterday"]);
        let open_today = InboxQuery { status: Some(MessageStatus::Open), ..window(Window::Today) };
        assert_eq!(inbox.query(&open_today).await.unwrap().total, 2);
        let urgent = InboxQuery { urgent: Some(true), ..query(account) };
        assert_eq!(inbox_page(&inbox, &urgent).await, ["furnace at 23:30, tomorrow in UTC"]);
        let search = |text: &str| InboxQuery { text: Some(text.into()), ..query(account) };
        assert_eq!(inbox_page(&inbox, &search("FURNACE")).await, ["furnace at 23:30, tomorrow in UTC"]);
        assert_eq!(inbox.query(&search("jean dup")).await.unwrap().total, 7, "the caller's name is searched too");
        assert!(inbox_page(&inbox, &search("100%")).await.is_empty(), "% is a character, not a wildcard");

        let page = inbox.query(&InboxQuery { limit: 2, offset: 1, ..query(account) }).await.unwrap();
        assert_eq!(page.total, 7);
        assert_eq!(page.messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["early today", "late yesterday"]);
        let latest = &inbox.query(&query(account)).await.unwrap().messages[0];
        assert_eq!(latest.taken_at.to_rfc3339(), "2026-11-25T23:30:00-05:00", "written in the account's zone");
        assert_eq!((latest.status, latest.urgent), (MessageStatus::Open, true));
        runner.stop().await;
    }

    async fn the_csv_export_holds_every_filtered_message_in_the_accounts_zone(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let luc = add_contact(&store, account, "Luc Lambert").await;
        let (id, _) = take(&store, account, toronto(2026, 11, 25, 23, 30), "Furnace, \"urgent\"\nplease call", true).await;
        let mut last = append_message(&store, id, vec![
            MessageDelivered { to: Recipient::Contact { contact_id: luc }, at: toronto(2026, 11, 25, 23, 35) }.into(),
            MessageDelivered { to: Recipient::Other { name: "Dr. Roy".into() }, at: toronto(2026, 11, 25, 23, 40) }.into(),
        ]).await;
        last = last.max(take(&store, account, toronto(2026, 11, 20, 9, 0), "older", false).await.1);
        let runner = run_inbox(&store, &pool, last).await;
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);

        let csv = inbox.export_csv(&InboxQuery { window: Window::Today, limit: 1, ..query(account) }).await.unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header[..3], ["id", "taken_at", "agent"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1, "only today's message");
        let field = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_owned();
        assert_eq!(field("id"), id.to_string());
        assert_eq!(field("taken_at"), "2026-11-25T23:30:00-05:00");
        assert_eq!(field("text"), "Furnace, \"urgent\"\nplease call");
        assert_eq!(field("urgent"), "yes");
        assert_eq!(field("status"), "open");
        assert_eq!(field("delivered_to"), "Luc Lambert, Dr. Roy");
        assert_eq!(field("delivered_at"), "2026-11-25T23:40:00-05:00");

        let (_, formula) = take(&store, account, toronto(2026, 11, 25, 8, 0), "=HYPERLINK(\"http://evil\")", false).await;
        assert!(runner.wait_for(formula, Duration::from_secs(10)).await);
        let today = inbox.export_csv(&InboxQuery { window: Window::Today, text: Some("hyperlink".into()), ..query(account) }).await.unwrap();
        assert!(today.contains("'=HYPERLINK"), "a spreadsheet would run the formula: {today}");

        let everything = inbox.export_csv(&InboxQuery { limit: 1, ..query(account) }).await.unwrap();
        assert_eq!(csv::Reader::from_reader(everything.as_bytes()).records().count(), 3, "the page size does not limit the export");
        runner.stop().await;
    }

    async fn expired_messages_leave_the_inbox_and_their_events_are_purged(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let real_now = Utc::now();
        let (old, _) = take(&store, account, real_now - chrono::Duration::days(61), "61 days old", false).await;
        let (recent, _) = take(&store, account, real_now - chrono::Duration::hours(1), "an hour old", false).await;
        let contact = add_contact(&store, account, "Luc Lambert").await;
        let (old_call, _) = log_call(&store, account, real_now - chrono::Duration::days(61), "418-555-0142", None).await;
        let (_, last) = log_call(&store, account, real_now - chrono::Duration::hours(1), "514-555-0199", None).await;
        let runner = run_inbox(&store, &pool, last).await;
        let call_runner = run(&store, &pool, CallLogProjection, last).await;
        let calls = CallLog::new(pool.clone(), RETENTION_DAYS);
        let calls_kept = |now| CallQuery::new(account, Toronto, now);
        assert_eq!(caller_ids(&calls.search(&calls_kept(real_now)).await.unwrap()), (vec!["514-555-0199"], vec![]));
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let kept = |now| InboxQuery::new(account, Toronto, now);
        assert_eq!(inbox_page(&inbox, &kept(real_now)).await, ["an hour old"], "the views hide what has expired");

        // Taken 61 days ago, recorded just now: the message and the call have expired, and
        // their events go with their rows, however recently they were recorded.
        let purged = purge_expired(&store, &pool, real_now, RETENTION_DAYS).await.unwrap();
        assert_eq!((purged.messages, purged.calls, purged.events), (1, 1, 2));
        for stream in [vigie_domain::inbox::stream_id(old), vigie_domain::calls::stream_id(old_call)] {
            assert!(store.read_stream(&stream, 1, Direction::Forward, 10).await.unwrap().is_empty(), "{stream} was kept");
        }
        assert_eq!(store.read_all(0, 10).await.unwrap().len(), 3, "the recent message, the contact and the recent call stay");

        // Sixty days and a bit later, the recent message has expired too, row and events.
        let later = real_now + chrono::Duration::days(60) + chrono::Duration::hours(2);
        let purged = purge_expired(&store, &pool, later, RETENTION_DAYS).await.unwrap();
        assert_eq!((purged.messages, purged.calls, purged.events), (1, 1, 2));
        let streams = [old, recent].map(vigie_domain::inbox::stream_id).into_iter().chain([vigie_domain::calls::stream_id(old_call)]);
        for stream in streams {
            assert!(store.read_stream(&stream, 1, Direction::Forward, 10).await.unwrap().is_empty(), "{stream} was not purged");
        }
        assert!(calls.search(&calls_kept(real_now)).await.unwrap().recent.is_empty());
        call_runner.stop().await;
        assert_eq!(store.stream_version(&format!("contact-{contact}")).await.unwrap(), 1, "the directory is never purged");
        assert!(inbox_page(&inbox, &kept(real_now)).await.is_empty());
        runner.stop().await;

        // A rebuild cannot bring them back: their events are gone.
        rebuild(&store, &pool, &InboxProjection, 10).await.unwrap();
        assert!(inbox_page(&inbox, &kept(real_now)).await.is_empty());
    }

    async fn each_event_is_applied_exactly_once_across_a_restart(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let options = RunnerOptions { batch_size: 7, ..fast() };
        let mut last = 0;
        for n in 0..60 {
            let id = MessageId::new_v7();
            let events = vec![
                taken(id, account, now() - chrono::Duration::minutes(n), &format!("message {n}"), false),
                MessageDelivered { to: Recipient::Other { name: "Dr. Roy".into() }, at: now() }.into(),
            ];
            last = append_message(&store, id, events).await;
        }
        let first = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, options.clone());
        assert!(first.wait_for(last / 2, Duration::from_secs(10)).await);
        first.stop().await;
        let stopped_at = live_state(&pool, InboxProjection::NAME).await.unwrap().position;
        assert!(stopped_at >= last / 2, "the checkpoint keeps what was applied");

        for n in 60..90 {
            let id = MessageId::new_v7();
            let events = vec![
                taken(id, account, now() - chrono::Duration::minutes(n), &format!("message {n}"), false),
                MessageDelivered { to: Recipient::Other { name: "Dr. Roy".into() }, at: now() }.into(),
            ];
            last = append_message(&store, id, events).await;
        }
        let second = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, options);
        assert!(second.wait_for(last, Duration::from_secs(10)).await);
        let page = Inbox::new(pool.clone(), RETENTION_DAYS).query(&InboxQuery { limit: 1000, ..query(account) }).await.unwrap();
        assert_eq!(page.total, 90, "every message once");
        assert!(
            page.messages.iter().all(|m| m.delivered_to.as_deref() == Some("Dr. Roy")),
            "a delivery applied twice would read \"Dr. Roy, Dr. Roy\""
        );
        second.stop().await;
    }

    async fn events_the_inbox_does_not_read_wait_for_its_next_write(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let (_, first) = take(&store, account, now(), "before the calls", false).await;
        // Long enough that no timed save comes during the test.
        let options = RunnerOptions { poll_interval: Duration::from_secs(30), ..fast() };
        let runner = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, options);
        assert!(runner.wait_for(first, Duration::from_secs(10)).await);

        // Calls are the call log's: the inbox reads past them at once, and writes nothing.
        let mut call = 0;
        for n in 0..3 {
            call = log_call(&store, account, now() - chrono::Duration::minutes(n), "418-555-0142", None).await.1;
        }
        assert!(runner.wait_for(call, Duration::from_secs(10)).await, "a read waiting for a call would time out");
        assert_eq!(live_state(&pool, InboxProjection::NAME).await.unwrap().position, first, "a write for nothing");

        // The next message's write carries the checkpoint past the calls too.
        let (_, message) = take(&store, account, now(), "after the calls", false).await;
        assert!(runner.wait_for(message, Duration::from_secs(10)).await);
        assert_eq!(live_state(&pool, InboxProjection::NAME).await.unwrap().position, message);

        // Stopping saves what was read since, so the next start need not read it again.
        let (_, last_call) = log_call(&store, account, now(), "418-555-0199", None).await;
        assert!(runner.wait_for(last_call, Duration::from_secs(10)).await);
        runner.stop().await;
        assert_eq!(live_state(&pool, InboxProjection::NAME).await.unwrap().position, last_call);
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        assert_eq!(all_messages(&inbox, account).await.len(), 2);
    }

    async fn a_checkpoint_left_behind_is_saved_a_poll_interval_later(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let (_, first) = take(&store, account, now(), "before the call", false).await;
        let runner = run_inbox(&store, &pool, first).await;
        let (_, call) = log_call(&store, account, now(), "418-555-0142", None).await;
        assert!(runner.wait_for(call, Duration::from_secs(10)).await);

        // Followers on other nodes read the saved checkpoint: it must not stay behind.
        let saved = async {
            while live_state(&pool, InboxProjection::NAME).await.unwrap().position < call {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        assert!(tokio::time::timeout(Duration::from_secs(5), saved).await.is_ok(), "the checkpoint stayed behind");
        runner.stop().await;
    }

    async fn a_rebuild_equals_the_incremental_rows_while_reads_keep_answering(db) {
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let luc = add_contact(&store, account, "Luc Lambert").await;
        let mut last = 0;
        for n in 0..120 {
            let id = MessageId::new_v7();
            let mut events = vec![taken(id, account, now() - chrono::Duration::hours(n), &format!("message {n}"), n % 5 == 0)];
            if n % 2 == 0 {
                events.push(MessageDelivered { to: Recipient::Contact { contact_id: luc }, at: now() }.into());
            }
            if n % 3 == 0 {
                events.push(MessageClosed { at: now() }.into());
            }
            last = append_message(&store, id, events).await;
        }
        let runner = run_inbox(&store, &pool, last).await;
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        let incremental = all_messages(&inbox, account).await;
        assert_eq!(incremental.len(), 120);
        let before = live_state(&pool, InboxProjection::NAME).await.unwrap();

        // Reads go on while the new generation is built, 5 events per transaction.
        let reading = {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let mut reads = 0;
                let query = InboxQuery { limit: 1, ..InboxQuery::new(account, Toronto, Utc::now()) };
                for _ in 0..40 {
                    assert_eq!(inbox.query(&query).await.unwrap().total, 120, "a read during the rebuild saw a partial inbox");
                    reads += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                reads
            })
        };
        let outcome = rebuild(&store, &pool, &InboxProjection, 5).await.unwrap();
        assert_eq!(reading.await.unwrap(), 40);
        assert_eq!((outcome.previous_generation, outcome.generation), (before.generation, before.generation + 1));
        assert_eq!(all_messages(&inbox, account).await, incremental, "the rebuilt rows differ from the incremental ones");

        // The runner goes on with the new generation.
        let (_, position) = take(&store, account, now(), "after the rebuild", false).await;
        assert!(runner.wait_for(position, Duration::from_secs(10)).await);
        assert_eq!(inbox.query(&InboxQuery::new(account, Toronto, Utc::now())).await.unwrap().total, 121);
        let stale_rows: i64 = vigie_projections::on_db!(&pool, |p| sqlx::query_scalar(
            "SELECT count(*) FROM inbox_messages WHERE generation <> $1").bind(outcome.generation).fetch_one(p).await).unwrap();
        assert_eq!(stale_rows, 0, "the old generation's rows are deleted");
        runner.stop().await;
    }

    async fn on_postgres_one_runner_applies_and_another_takes_over_when_it_stops(db) {
        if db.backend == Backend::Sqlite {
            return; // one SQLite file has one node: there is nobody to elect
        }
        let (store, pool) = open(&db).await;
        let account = AccountId::new_v7();
        let a = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, fast());
        let b = ProjectionRunner::spawn(store.clone(), pool.clone(), InboxProjection, fast());
        let mut last = 0;
        for n in 0..20 {
            last = take(&store, account, now() - chrono::Duration::minutes(n), &format!("message {n}"), false).await.1;
        }
        assert!(a.wait_for(last, Duration::from_secs(10)).await && b.wait_for(last, Duration::from_secs(10)).await,
            "the follower publishes the leader's position too");
        assert!(a.is_leading() ^ b.is_leading(), "exactly one runner applies events");
        let (leader, follower) = if a.is_leading() { (a, b) } else { (b, a) };
        leader.stop().await;

        for n in 20..30 {
            last = take(&store, account, now() - chrono::Duration::minutes(n), &format!("message {n}"), false).await.1;
        }
        assert!(follower.wait_for(last, Duration::from_secs(10)).await, "the other runner took over");
        assert!(follower.is_leading());
        let inbox = Inbox::new(pool.clone(), RETENTION_DAYS);
        assert_eq!(inbox.query(&query(account)).await.unwrap().total, 30);
        follower.stop().await;
    }

    async fn only_the_read_models_commit_without_waiting_for_the_disk(db) {
        let (_store, durable) = open(&db).await;
        let rebuildable = Db::connect_with(&db.url, 1, Durability::Rebuildable).await.expect("the read models' pool opens");

        // Credentials and sessions must survive a power cut; read models replay what one undoes.
        assert!(commits_wait_for_the_disk(&durable).await, "the durable pool waits for the disk");
        assert!(!commits_wait_for_the_disk(&rebuildable).await, "the read models' pool does not");
    }
}

/// Whether a commit on `db` returns only once it is on disk (SQLite's
/// `synchronous` FULL, PostgreSQL's `synchronous_commit` on).
async fn commits_wait_for_the_disk(db: &Db) -> bool {
    match db {
        Db::Sqlite(pool) => {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            level >= 2
        }
        Db::Postgres(pool) => {
            let setting: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(pool).await.unwrap();
            setting == "on"
        }
    }
}
