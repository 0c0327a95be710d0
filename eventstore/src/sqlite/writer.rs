//! Writes a group-commit batch to SQLite, usually in one round trip to the driver.
//!
//! The driver runs SQLite on a thread of its own, so every statement costs a
//! hand-over between threads; a statement per event would cost more than the
//! fsync. The writer remembers the head and the versions of the streams it
//! wrote, so it can usually decide the batch before touching the database and
//! send it in one call that checks those assumptions under the write lock and
//! writes only if they hold (`guarded_insert`). When they do not
//! (another process wrote, an event id is already stored, a stream it does not
//! know is appended to with any version, an append is rejected, the batch is
//! large) it falls back to two calls: the first
//! takes the write lock and reads what the decisions depend on; Rust decides
//! each append; the second writes every accepted event and commits.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use futures_util::TryStreamExt;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::micros_to_time;
use crate::error::StoreError;
use crate::group_commit::{BatchOutcome, BatchWriter};
use crate::model::{AppendOutcome, AppendRequest};
use crate::validate::category_of;

/// Takes the write lock, then reads the head, the stored event ids and the
/// stream versions as rows of one shape: (kind, key, a, b, c). A stream's
/// version, like the head (`log_position`, migration 0008), is the higher of
/// what the events say and what a purge recorded before it removed the newest
/// of them.
const READ_PHASE: &str = concat!(
    "
    BEGIN IMMEDIATE;
    SELECT 'head', NULL, position, recorded_at, NULL FROM log_position;
    SELECT 'event', lower(hex(event_id)), position, stream_version, recorded_at FROM events
     WHERE event_id IN (SELECT unhex(value) FROM json_each(?1));
    SELECT 'stream', asked.value, ",
    stream_version_of!("asked.value"),
    ", NULL, NULL FROM json_each(?2) AS asked;"
);

/// Inserts the accepted events (?1, one JSON array per event, in the order of
/// `EventRow`, recorded at ?2), sets the max ages the appends carried (?3,
/// `[stream, seconds]`), then commits.
const WRITE_PHASE: &str = "
    INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version,
                        data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at)
    SELECT e->>0, unhex(e->>1, '-'), e->>2, e->>3, e->>4, e->>5, e->>6,
           e->>7, unhex(e->>8, '-'), e->>9, unhex(e->>10, '-'), unhex(e->>11, '-'), e->>12, ?2
      FROM (SELECT jsonb(value) AS e FROM json_each(?1) ORDER BY key);
    INSERT INTO streams (stream_id, version, max_age_seconds)
    SELECT value->>0, 0, value->>1 FROM json_each(?3) WHERE true
        ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = excluded.max_age_seconds;
    COMMIT;";

/// The largest batch written with its fields bound one by one; a larger one
/// goes the careful way. Each row takes 14 parameters (SQLite allows 32,766),
/// and each batch size is a statement of its own in the driver's cache.
const BOUND_ROWS_MAX: usize = 128;

/// The columns of one bound row: those of `EventRow`, then the record time.
const BOUND_COLUMNS: usize = 14;

/// The append as one call of four statements over `rows` rows bound field by
/// field (no JSON for SQLite to parse: measured, a lone append +10 %, batches
/// of 50 events +25 %, 32 concurrent writers +35 %). Under the write lock it
/// first checks the decisions taken without reading: the head is still what
/// the writer knew (nobody else wrote since), and each stream the writer did
/// not know is at the version the batch assumed (?, `[stream, version]`
/// pairs). If they hold, it inserts and commits; if not, `append_guard`
/// (migration 0009) aborts the call. A stored event id needs no check of its
/// own: the unique index refuses it, and the insert with it.
fn guarded_insert(rows: usize) -> String {
    // Anonymous parameters, numbered in the order they appear: SQLite finds
    // the name of a numbered one by a linear search, which the driver does
    // for each parameter (measured: 53 % of the time for 50 rows).
    let row = format!("({})", vec!["?"; BOUND_COLUMNS].join(", "));
    let values = vec![row; rows];
    format!(
        "
    BEGIN IMMEDIATE;
    INSERT INTO append_guard (holds)
    SELECT (SELECT position FROM log_position) = ? -- the head the writer knew
           AND NOT EXISTS (SELECT 1 FROM json_each(?) AS assumed
                            WHERE {version} IS NOT assumed.value ->> 1);
    INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version,
                        data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at)
    VALUES {values};
    COMMIT;",
        values = values.join(",\n           "),
        version = stream_version_of!("assumed.value ->> 0"),
    )
}

/// How the message that `append_guard`'s trigger raises begins (migration 0009).
const GUARD_REFUSAL: &str = "append guard:";

/// The streams whose versions the writer remembers, at most this many; past
/// it the memory starts over, which only costs a slower batch or two.
const REMEMBERED_STREAMS: usize = 100_000;

/// Writes group-commit batches through a connection of its own.
///
/// The writer keeps its connection rather than borrowing one from a pool for
/// each batch: sqlx pings a pooled connection on its worker thread every time
/// it goes back, which would cost a lone append one more round trip.
pub(super) struct SqliteBatchWriter {
    conn: SqliteConnection,
    /// What the last batch left in the log, as far as this writer knows.
    known: Option<Known>,
    /// `guarded_insert` for each batch size met so far.
    statements: HashMap<usize, String>,
}

/// The head, the last record time and the versions of the streams this writer wrote.
#[derive(Debug, Default)]
struct Known {
    head: u64,
    last_recorded_at: i64,
    versions: HashMap<String, u64>,
}

impl SqliteBatchWriter {
    pub(super) fn new(conn: SqliteConnection) -> Self {
        Self { conn, known: None, statements: HashMap::new() }
    }

    async fn write(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let conn = &mut self.conn;
        if let Some(known) = &mut self.known {
            match write_guarded(conn, &mut self.statements, batch, known).await {
                Ok(Some(outcomes)) => return Ok(outcomes),
                Ok(None) => {}
                // Another process took the write lock between the check and
                // the insert, say; the careful path below sorts it out.
                Err(error) => tracing::debug!(%error, "guarded append failed; reading the log first"),
            }
        }
        let (outcomes, snapshot) = write_in_transaction(conn, batch).await?;
        let known = self.known.get_or_insert_with(Known::default);
        if known.versions.len() > REMEMBERED_STREAMS {
            known.versions.clear();
        }
        known.head = snapshot.head;
        known.last_recorded_at = snapshot.last_recorded_at;
        known.versions.extend(snapshot.versions);
        Ok(outcomes)
    }
}

impl BatchWriter for SqliteBatchWriter {
    const KEEPS_AWAKE_FOR_A_LONE_APPEND: bool = true;

    fn head_seen(&self) -> Option<u64> {
        self.known.as_ref().map(|known| known.head)
    }

    async fn write_batch(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        match self.write(batch).await {
            Ok(outcomes) => Ok(outcomes),
            Err(error) => {
                // What the writer knew may be wrong now; read it afresh next time.
                self.known = None;
                // Leave the connection clean for the next batch; a failed
                // ROLLBACK means there was no transaction left to undo.
                let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                Err(error)
            }
        }
    }
}

/// Decides the batch on what the writer knows and writes it in one call, if
/// that knowledge still holds. `None`: it did not, and nothing was written.
async fn write_guarded(
    conn: &mut SqliteConnection,
    statements: &mut HashMap<usize, String>,
    batch: &[AppendRequest],
    known: &mut Known,
) -> Result<Option<BatchOutcome>, StoreError> {
    if batch.iter().map(|request| request.events.len()).sum::<usize>() > BOUND_ROWS_MAX {
        return Ok(None);
    }
    // A stream the writer does not know is assumed to be where the append
    // expects it; an append that expects nothing in particular cannot be decided.
    let mut assumed: BTreeMap<&str, u64> = BTreeMap::new();
    for request in batch {
        if request.max_age.is_some() {
            return Ok(None); // the insert alone cannot set a stream's max age
        }
        if !known.versions.contains_key(&request.stream_id) && !assumed.contains_key(request.stream_id.as_str()) {
            let Some(expected) = request.expected.required() else { return Ok(None) };
            assumed.insert(&request.stream_id, expected);
        }
    }
    let mut snapshot = Snapshot {
        head: known.head,
        last_recorded_at: known.last_recorded_at,
        stored: HashMap::new(),
        versions: assumed.iter().map(|(stream, version)| (stream.to_string(), *version)).collect(),
    };
    for request in batch {
        if let Some(&version) = known.versions.get(&request.stream_id) {
            snapshot.versions.insert(request.stream_id.clone(), version);
        }
    }
    let recorded_at = Utc::now().timestamp_micros().max(known.last_recorded_at);
    let plan = plan_batch(batch, &mut snapshot, recorded_at)?;
    // The statement checks the ids and the assumed versions of the rows it
    // writes, which is all an accepted append rests on; a rejection may rest
    // on something it does not check (a stored id, an assumed version), so
    // the careful path decides a batch that holds one.
    if plan.events.is_empty() || plan.outcomes.iter().any(Result::is_err) {
        return Ok(None);
    }
    let sql = statements.entry(plan.events.len()).or_insert_with(|| guarded_insert(plan.events.len()));
    let assumed: Vec<(&str, u64)> = assumed.into_iter().collect();
    let mut insert = sqlx::query(sql.as_str())
        .bind(known.head as i64)
        .bind(serde_json::to_string(&assumed).map_err(StoreError::Serialization)?);
    for row in &plan.events {
        insert = insert
            .bind(row.0 as i64)
            .bind(row.1)
            .bind(row.2)
            .bind(row.3)
            .bind(row.4 as i64)
            .bind(row.5)
            .bind(row.6)
            .bind(row.7)
            .bind(row.8)
            .bind(row.9)
            .bind(row.10)
            .bind(row.11)
            .bind(row.12)
            .bind(recorded_at);
    }
    if let Err(error) = insert.execute(&mut *conn).await {
        // The call stopped at the statement that failed, inside its
        // transaction; a failed ROLLBACK means there was none left to undo.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return match error {
            // The log moved, or an event id (a retry's) is stored already.
            sqlx::Error::Database(refusal)
                if refusal.message().starts_with(GUARD_REFUSAL) || refusal.is_unique_violation() =>
            {
                Ok(None)
            }
            other => Err(other.into()),
        };
    }
    known.head = plan.new_head;
    known.last_recorded_at = recorded_at;
    if known.versions.len() > REMEMBERED_STREAMS {
        known.versions.clear();
    }
    known.versions.extend(plan.streams.iter().map(|&(stream, version)| (stream.to_string(), version)));
    Ok(Some(plan.outcomes))
}

/// What the log holds that the batch's decisions depend on.
#[derive(Debug, Default)]
struct Snapshot {
    head: u64,
    last_recorded_at: i64,
    /// Event ids of the batch already stored: position, stream version, record time.
    stored: HashMap<Uuid, (u64, u64, i64)>,
    versions: HashMap<String, u64>,
}

/// Reads what the batch's decisions depend on, then decides and writes it.
/// Answers the outcomes and the log as the batch left it.
async fn write_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[AppendRequest],
) -> Result<(BatchOutcome, Snapshot), StoreError> {
    let mut snapshot = read_snapshot(conn, batch).await?;
    let recorded_at = Utc::now().timestamp_micros().max(snapshot.last_recorded_at);
    let plan = plan_batch(batch, &mut snapshot, recorded_at)?;
    if plan.events.is_empty() {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        return Ok((plan.outcomes, snapshot));
    }
    sqlx::query(WRITE_PHASE)
        .bind(serde_json::to_string(&plan.events).map_err(StoreError::Serialization)?)
        .bind(recorded_at)
        .bind(serde_json::to_string(&plan.max_ages).map_err(StoreError::Serialization)?)
        .execute(&mut *conn)
        .await?;
    snapshot.head = plan.new_head;
    snapshot.last_recorded_at = recorded_at;
    Ok((plan.outcomes, snapshot))
}

async fn read_snapshot(conn: &mut SqliteConnection, batch: &[AppendRequest]) -> Result<Snapshot, StoreError> {
    let ids: Vec<String> = batch.iter().flat_map(|r| &r.events).map(|e| e.event_id.simple().to_string()).collect();
    let streams: Vec<&str> = batch.iter().map(|r| r.stream_id.as_str()).collect();
    let mut rows = sqlx::query(READ_PHASE)
        .bind(serde_json::to_string(&ids).map_err(StoreError::Serialization)?)
        .bind(serde_json::to_string(&streams).map_err(StoreError::Serialization)?)
        .fetch(&mut *conn);
    let mut snapshot = Snapshot::default();
    while let Some(row) = rows.try_next().await? {
        let kind: &str = row.try_get(0)?;
        let key: Option<String> = row.try_get(1)?;
        let a: i64 = row.try_get(2)?;
        let b: Option<i64> = row.try_get(3)?;
        let c: Option<i64> = row.try_get(4)?;
        match (kind, key) {
            ("head", _) => (snapshot.head, snapshot.last_recorded_at) = (a as u64, b.unwrap_or_default()),
            ("event", Some(id)) => {
                let id = Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                snapshot.stored.insert(id, (a as u64, b.unwrap_or_default() as u64, c.unwrap_or_default()));
            }
            ("stream", Some(stream)) => {
                snapshot.versions.insert(stream, a as u64);
            }
            (other, _) => return Err(StoreError::Corrupt(format!("unexpected row {other} while appending"))),
        }
    }
    Ok(snapshot)
}

/// One row of the events table: bound field by field, or a JSON array for `WRITE_PHASE`.
type EventRow<'a> = (
    u64,
    Uuid,
    &'a str,
    &'a str,
    u64,
    &'a str,
    u32,
    &'a str,
    Option<Uuid>,
    Option<&'a str>,
    Option<Uuid>,
    Option<Uuid>,
    Option<&'a str>,
);

#[derive(Default)]
struct BatchPlan<'a> {
    outcomes: BatchOutcome,
    events: Vec<EventRow<'a>>,
    /// Each touched stream's new version.
    streams: Vec<(&'a str, u64)>,
    /// The max ages the appends set, in seconds.
    max_ages: Vec<(&'a str, u64)>,
    new_head: u64,
}

/// Decides each append of the batch in order, as if they had come one by one.
fn plan_batch<'a>(
    batch: &'a [AppendRequest],
    snapshot: &mut Snapshot,
    recorded_at: i64,
) -> Result<BatchPlan<'a>, StoreError> {
    let mut plan = BatchPlan { new_head: snapshot.head, ..Default::default() };
    let mut touched: BTreeMap<&str, (u64, Option<u64>)> = BTreeMap::new();
    for request in batch {
        let already: Vec<(u64, u64, i64)> =
            request.events.iter().filter_map(|e| snapshot.stored.get(&e.event_id).copied()).collect();
        if already.len() == request.events.len() {
            plan.outcomes.push(Ok(duplicate_outcome(&already)?));
            continue;
        }
        if !already.is_empty() {
            plan.outcomes.push(Err(StoreError::PartialDuplicate { stream_id: request.stream_id.clone() }));
            continue;
        }
        let current = snapshot.versions.get(&request.stream_id).copied().unwrap_or(0);
        if request.expected.required().is_some_and(|expected| expected != current) {
            plan.outcomes.push(Err(StoreError::WrongExpectedVersion {
                stream_id: request.stream_id.clone(),
                expected: request.expected,
                actual: current,
            }));
            continue;
        }

        let category = category_of(&request.stream_id)?;
        let first_position = plan.new_head + 1;
        for (offset, event) in request.events.iter().enumerate() {
            let (position, version) = (first_position + offset as u64, current + 1 + offset as u64);
            let m = &event.metadata;
            plan.events.push((
                position,
                event.event_id,
                &request.stream_id,
                category,
                version,
                &event.event_type,
                event.schema_version,
                event.data.get(),
                m.actor_id,
                m.actor_name.as_deref(),
                m.correlation_id,
                m.causation_id,
                m.idempotency_key.as_deref(),
            ));
            snapshot.stored.insert(event.event_id, (position, version, recorded_at));
        }
        let count = request.events.len() as u64;
        let new_version = current + count;
        snapshot.versions.insert(request.stream_id.clone(), new_version);
        let max_age = request.max_age.map(|age| age.as_secs());
        touched
            .entry(&request.stream_id)
            .and_modify(|(version, age)| (*version, *age) = (new_version, max_age.or(*age)))
            .or_insert((new_version, max_age));
        plan.new_head += count;
        plan.outcomes.push(Ok(AppendOutcome {
            stream_version: new_version,
            first_position,
            last_position: plan.new_head,
            recorded_at: micros_to_time(recorded_at)?,
            was_duplicate: false,
        }));
    }
    plan.max_ages = touched.iter().filter_map(|(&stream, &(_, age))| Some((stream, age?))).collect();
    plan.streams = touched.into_iter().map(|(stream, (version, _))| (stream, version)).collect();
    Ok(plan)
}

fn duplicate_outcome(stored: &[(u64, u64, i64)]) -> Result<AppendOutcome, StoreError> {
    let first = stored.iter().map(|s| s.0).min().unwrap_or_default();
    let last = stored.iter().map(|s| s.0).max().unwrap_or_default();
    let version = stored.iter().map(|s| s.1).max().unwrap_or_default();
    let at = stored.iter().map(|s| s.2).min().unwrap_or_default();
    Ok(AppendOutcome {
        stream_version: version,
        first_position: first,
        last_position: last,
        recorded_at: micros_to_time(at)?,
        was_duplicate: true,
    })
}

#[cfg(test)]
mod tests {
    //! The one-statement path must carry the appends it was built for; the
    //! careful path would give the same answers, only slower, so the contract
    //! suite cannot tell them apart.

    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;
    use crate::model::{ExpectedVersion, NewEvent};
    use crate::sqlite::SqliteEventStore;
    use crate::store::{EventLog, StoreOptions};

    fn append(stream: &str, expected: ExpectedVersion) -> AppendRequest {
        let event = NewEvent::new("ContactCommented", 1, &serde_json::json!({"comment": null})).unwrap();
        AppendRequest::new(stream, expected, vec![event])
    }

    /// A writer that has written one batch, so it knows the log, and the store beside it.
    async fn warmed_up_writer(dir: &tempfile::TempDir) -> (SqliteBatchWriter, SqliteEventStore) {
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let store = SqliteEventStore::open(&url, StoreOptions::default()).await.unwrap();
        let conn = url.parse::<SqliteConnectOptions>().unwrap().connect().await.unwrap();
        let mut writer = SqliteBatchWriter::new(conn);
        writer.write_batch(&[append("shift-1", ExpectedVersion::NoStream)]).await.unwrap();
        (writer, store)
    }

    /// Another writer (another process, say) creates `stream` at version 1;
    /// this one learns the new head but not the stream. Answers the head.
    async fn created_behind_its_back(writer: &mut SqliteBatchWriter, store: &SqliteEventStore, stream: &str) -> u64 {
        store.append(append(stream, ExpectedVersion::NoStream)).await.unwrap();
        let head = store.head_position().await.unwrap();
        writer.known.as_mut().unwrap().head = head;
        head
    }

    #[tokio::test]
    async fn a_new_stream_expected_empty_goes_in_one_statement() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, store) = warmed_up_writer(&dir).await;
        let batch = [append("shift-2", ExpectedVersion::NoStream), append("shift-1", ExpectedVersion::Exactly(1))];
        let known = writer.known.as_mut().unwrap();

        let outcomes = write_guarded(&mut writer.conn, &mut writer.statements, &batch, known)
            .await
            .unwrap()
            .expect("the one-statement path");

        assert_eq!(outcomes.iter().map(|o| o.as_ref().unwrap().last_position).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(store.stream_version("shift-2").await.unwrap(), 1);
        assert_eq!(store.stream_version("shift-1").await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_lone_event_goes_in_one_statement_unless_its_id_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, store) = warmed_up_writer(&dir).await;
        // A stream the writer knows, then one it does not.
        for (stream, expected, position) in
            [("shift-1", ExpectedVersion::Exactly(1), 2), ("shift-2", ExpectedVersion::NoStream, 3)]
        {
            let known = writer.known.as_mut().unwrap();
            let outcomes = write_guarded(&mut writer.conn, &mut writer.statements, &[append(stream, expected)], known)
                .await
                .unwrap();
            let outcomes = outcomes.expect("the one-statement path");
            assert_eq!(outcomes[0].as_ref().unwrap().last_position, position);
        }
        assert_eq!(store.stream_version("shift-1").await.unwrap(), 2);
        assert_eq!(store.stream_version("shift-2").await.unwrap(), 1);

        // A retry of a stored event: nothing written, and the careful path answers it.
        let stored = store.read_all(0, 1).await.unwrap()[0].event_id;
        let mut retry = append("shift-3", ExpectedVersion::NoStream);
        retry.events[0] = retry.events[0].clone().with_id(stored);
        let known = writer.known.as_mut().unwrap();
        assert!(
            write_guarded(&mut writer.conn, &mut writer.statements, std::slice::from_ref(&retry), known)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.head_position().await.unwrap(), 3);
        let outcomes = writer.write_batch(&[retry]).await.unwrap();
        assert!(outcomes[0].as_ref().is_ok_and(|o| o.was_duplicate && o.first_position == 1), "{outcomes:?}");
    }

    #[tokio::test]
    async fn a_stale_assumption_writes_nothing_and_leaves_it_to_the_careful_path() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, store) = warmed_up_writer(&dir).await;
        let head = created_behind_its_back(&mut writer, &store, "shift-2").await;
        // The stale stream's rows come after those of a stream the writer knows.
        let mut known_stream = append("shift-1", ExpectedVersion::Exactly(1));
        known_stream.events.push(known_stream.events[0].clone().with_id(Uuid::now_v7()));
        let mut stale = append("shift-2", ExpectedVersion::NoStream);
        stale.events.push(stale.events[0].clone().with_id(Uuid::now_v7()));
        let batch = [known_stream, stale];
        let known = writer.known.as_mut().unwrap();

        let answer = write_guarded(&mut writer.conn, &mut writer.statements, &batch, known).await;

        assert!(answer.unwrap().is_none());
        assert_eq!(store.head_position().await.unwrap(), head);
        let outcomes = writer.write_batch(&batch).await.unwrap();
        assert_eq!(outcomes[0].as_ref().unwrap().stream_version, 3);
        assert!(matches!(outcomes[1], Err(StoreError::WrongExpectedVersion { actual: 1, .. })));
    }

    #[tokio::test]
    async fn an_assumed_version_the_stream_has_not_reached_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, store) = warmed_up_writer(&dir).await;
        // Not knowing the stream, the writer takes the append's word that it
        // is at version 3. Version 4 collides with no stored row, so only the
        // guard can tell.
        let head = created_behind_its_back(&mut writer, &store, "shift-2").await;
        let batch = [append("shift-2", ExpectedVersion::Exactly(3))];
        let known = writer.known.as_mut().unwrap();

        let answer = write_guarded(&mut writer.conn, &mut writer.statements, &batch, known).await;

        assert!(answer.unwrap().is_none());
        assert_eq!(store.head_position().await.unwrap(), head);
        let outcomes = writer.write_batch(&batch).await.unwrap();
        assert!(matches!(outcomes[0], Err(StoreError::WrongExpectedVersion { actual: 1, .. })), "{outcomes:?}");
        assert_eq!(store.stream_version("shift-2").await.unwrap(), 1);

        // The call that stopped halfway is whole again for the next batch.
        let next = [append("shift-2", ExpectedVersion::Exactly(1))];
        let known = writer.known.as_mut().unwrap();
        let outcomes = write_guarded(&mut writer.conn, &mut writer.statements, &next, known).await.unwrap();
        assert_eq!(outcomes.expect("the one-call path")[0].as_ref().unwrap().last_position, head + 1);
        assert_eq!(store.stream_version("shift-2").await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_batch_holding_a_rejection_is_left_to_the_careful_path() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, store) = warmed_up_writer(&dir).await;
        // A retry of the stored event, with an expected version that no longer
        // holds: it is a duplicate, which only a read of the stored ids can tell.
        let stored = store.read_all(0, 1).await.unwrap()[0].event_id;
        let mut retry = append("shift-1", ExpectedVersion::NoStream);
        retry.events[0] = retry.events[0].clone().with_id(stored);
        let batch = [append("shift-2", ExpectedVersion::NoStream), retry];
        let known = writer.known.as_mut().unwrap();

        let answer = write_guarded(&mut writer.conn, &mut writer.statements, &batch, known).await;

        assert!(answer.unwrap().is_none());
        assert_eq!(store.head_position().await.unwrap(), 1);
        let outcomes = writer.write_batch(&batch).await.unwrap();
        assert_eq!(outcomes[0].as_ref().unwrap().last_position, 2);
        assert!(outcomes[1].as_ref().is_ok_and(|o| o.was_duplicate && o.first_position == 1), "{outcomes:?}");
    }
}
