//! Writes group-commit batches to PostgreSQL, usually as one plain statement.
//!
//! `vigie_append` (see the migrations) decides every append of a batch on its
//! own: duplicates, conflicts, appends that expect any version. That takes a
//! PL/pgSQL loop whose set-up costs several times an INSERT. Most batches need
//! none of it: every append names the version it expects, no event id is
//! stored yet, and no append sets a max age. The writer sends those as one
//! prepared statement that takes the same lock, checks that the batch's
//! assumptions hold and inserts only if they all do: `GUARDED_APPEND_ONE` for
//! the commonest batch, a single event, and `GUARDED_APPEND` for the rest.
//! When the assumptions do not hold, or the statement fails, the batch goes
//! through `vigie_append`.
//!
//! The writer's connection also listens for the announcements of commits
//! (`CHANNEL`). A separate listening connection made each commit wake one
//! more server process and one more task, for an announcement of what this
//! process already knew: measured, a lone writer lost 4–9 % to it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgListener, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::clamp;
use crate::error::StoreError;
use crate::group_commit::{BatchOutcome, BatchWriter};
use crate::model::{AppendOutcome, AppendRequest, NewEvent};
use crate::validate::category_of;

/// Takes `vigie_append`'s lock, then inserts the events ($1..$12) at the
/// positions after the head only if each stream is at the version the batch
/// assumed ($13, $14). A stored event id needs no check of its own: the
/// unique index refuses the insert (measured: 32 writers +8 %, every one of
/// six alternating pairs faster; PostgreSQL logs the refusal, which only a
/// retry that the API's idempotency keys did not answer meets). Under the lock it
/// moves the sequence and announces the new head, as `vigie_append` does.
/// Answers how many events it inserted, the head before them and their
/// record time.
///
/// The statement reads with the snapshot it started with, before the lock:
/// an append another process committed in between is invisible to the
/// checks, but not to the unique indexes, so the insert then fails and the
/// batch goes the careful way.
const GUARDED_APPEND: &str = "
    WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(1986619241)),
    head AS MATERIALIZED (
        SELECT coalesce(pg_sequence_last_value('event_positions'), 0) AS position,
               greatest(clock_timestamp(), (SELECT e.recorded_at FROM events e ORDER BY e.position DESC LIMIT 1)) AS at
          FROM locked),
    checked AS MATERIALIZED (
        SELECT NOT EXISTS (
                   SELECT 1 FROM unnest($13::TEXT[], $14::BIGINT[]) AS a(stream, version)
                    WHERE greatest(coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = a.stream), 0),
                                   coalesce((SELECT s.purged_version FROM streams s WHERE s.stream_id = a.stream), 0))
                          <> a.version) AS holds
          FROM head),
    inserted AS (
        INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version,
                            data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at)
        SELECT head.position + u.ord, u.id, u.stream, u.category, u.version, u.type, u.schema, u.data::json,
               u.actor_id, u.actor_name, u.correlation_id, u.causation_id, u.idempotency, head.at
          FROM head, checked,
               unnest($1::UUID[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::INTEGER[], $7::TEXT[],
                      $8::UUID[], $9::TEXT[], $10::UUID[], $11::UUID[], $12::TEXT[])
               WITH ORDINALITY AS u(id, stream, category, version, type, schema, data, actor_id, actor_name,
                                    correlation_id, causation_id, idempotency, ord)
         WHERE checked.holds
        RETURNING position),
    moved AS (SELECT setval('event_positions', max(position)) AS head FROM inserted HAVING count(*) > 0)
    SELECT (SELECT count(*) FROM inserted) AS inserted, head.position AS head, head.at AS at,
           (SELECT pg_notify('vigie_events', moved.head::TEXT) IS NULL FROM moved) AS notified
      FROM head";

/// `GUARDED_APPEND` for a batch of one event, as a plain INSERT: it takes the
/// lock, then inserts the event ($1..$12) as the version after $4 of its
/// stream only if its id is not stored and the stream is at $4. Answers the
/// event's position and record time, or no row if the checks failed.
///
/// Measured with pgbench, the general statement's CTEs and arrays cost a lone
/// append about a fifth of its rate; this one runs within a few percent of a
/// bare INSERT. It takes the position from the sequence under the lock, so an
/// insert that fails after that (the unique indexes catching an append another
/// process committed since this statement's snapshot) leaves a position
/// unused. Readers already expect that: a purge leaves the same kind of hole.
const GUARDED_APPEND_ONE: &str = "
    WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(1986619241))
    INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version,
                        data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at)
    SELECT nextval('event_positions'), $1, $2, $3, $4 + 1, $5, $6, $7::json, $8, $9, $10, $11, $12,
           greatest(clock_timestamp(), (SELECT e.recorded_at FROM events e ORDER BY e.position DESC LIMIT 1))
      FROM locked
     WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = $1)
       AND greatest(coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = $2), 0),
                    coalesce((SELECT s.purged_version FROM streams s WHERE s.stream_id = $2), 0)) = $4
    RETURNING position, recorded_at, pg_notify('vigie_events', position::TEXT) IS NULL AS notified";

/// Writes group-commit batches through a connection of its own.
///
/// It holds its connection for as long as it works rather than borrowing one
/// for each batch: sqlx pings a pooled connection when it is taken and again
/// when it is given back, two extra round trips per batch that a lone writer felt.
pub(super) struct PostgresBatchWriter {
    /// A pool of one connection, with the writer's settings, for `listener` to take it from.
    pool: PgPool,
    /// The writer's connection, which also listens on `CHANNEL` (see
    /// `heard`); `None` after it failed, and the next batch connects again.
    listener: Option<PgListener>,
    /// The newest position announced on `CHANNEL`, by any process, that the writer heard.
    announced: u64,
}

impl PostgresBatchWriter {
    /// Passes a statement's answer on, dropping the connection if the error
    /// may have left it unusable. (The server refusing the statement leaves
    /// it fine, unless the refusal is that the server is ending it.)
    fn unless_broken<T>(&mut self, answer: Result<T, sqlx::Error>) -> Result<T, StoreError> {
        answer.map_err(|error| {
            if !matches!(error, sqlx::Error::Database(_)) || crate::pools::is_unreachable(&error) {
                self.listener = None;
            }
            error.into()
        })
    }

    pub(super) fn new(pool: PgPool, listener: PgListener) -> Self {
        Self { pool, listener: Some(listener), announced: 0 }
    }

    async fn connection(&mut self) -> Result<&mut PgListener, StoreError> {
        if self.listener.is_none() {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(super::CHANNEL).await?;
            self.listener = Some(listener);
        }
        self.listener.as_mut().ok_or(StoreError::WriterStopped)
    }

    /// Notes the announcements that arrived while a statement ran, this
    /// process's own among them.
    fn note_announcements(&mut self) {
        while let Some(notification) = self.listener.as_mut().and_then(PgListener::next_buffered) {
            self.note(notification.payload());
        }
    }

    fn note(&mut self, payload: &str) {
        if let Ok(position) = payload.parse::<u64>() {
            self.announced = self.announced.max(position);
        }
    }
}

/// The batch flattened to one entry per event, as `vigie_append` takes it.
#[derive(Default)]
struct FlatBatch {
    append: Vec<i32>,
    stream: Vec<String>,
    category: Vec<String>,
    expected: Vec<i64>,
    max_age: Vec<Option<i64>>,
    event_id: Vec<Uuid>,
    event_type: Vec<String>,
    schema: Vec<i32>,
    data: Vec<String>,
    actor_id: Vec<Option<Uuid>>,
    actor_name: Vec<Option<String>>,
    correlation_id: Vec<Option<Uuid>>,
    causation_id: Vec<Option<Uuid>>,
    idempotency_key: Vec<Option<String>>,
}

impl FlatBatch {
    fn new(batch: &[AppendRequest]) -> Result<Self, StoreError> {
        let mut flat = FlatBatch::default();
        for (index, request) in batch.iter().enumerate() {
            let category = category_of(&request.stream_id)?;
            for event in &request.events {
                flat.append.push(index as i32);
                flat.stream.push(request.stream_id.clone());
                flat.category.push(category.to_owned());
                flat.expected.push(request.expected.required().map_or(-1, clamp));
                flat.max_age.push(request.max_age.map(|age| clamp(age.as_secs())));
                flat.event_id.push(event.event_id);
                flat.event_type.push(event.event_type.clone());
                flat.schema.push(event.schema_version as i32);
                flat.data.push(event.data.get().to_owned());
                let m = &event.metadata;
                flat.actor_id.push(m.actor_id);
                flat.actor_name.push(m.actor_name.clone());
                flat.correlation_id.push(m.correlation_id);
                flat.causation_id.push(m.causation_id);
                flat.idempotency_key.push(m.idempotency_key.clone());
            }
        }
        Ok(flat)
    }
}

impl BatchWriter for PostgresBatchWriter {
    const KEEPS_AWAKE_FOR_A_LONE_APPEND: bool = false;

    async fn write_batch(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let written = self.write(batch).await;
        self.note_announcements();
        written
    }

    fn head_seen(&self) -> Option<u64> {
        Some(self.announced)
    }

    async fn heard(&mut self) -> Option<u64> {
        let listener = match self.connection().await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot reach PostgreSQL to listen for commits; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                return None;
            }
        };
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                self.note(notification.payload());
                self.note_announcements();
                Some(self.announced)
            }
            // The connection was lost and made again: what was announced
            // meanwhile is lost, and subscribers' polls find it.
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "lost the LISTEN connection to PostgreSQL; reconnecting");
                self.listener = None;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                None
            }
        }
    }
}

impl PostgresBatchWriter {
    async fn write(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let guarded = if let [lone] = batch
            && let Some((expected, event)) = plain_single_event(lone)
        {
            let written = self.write_one_guarded(lone, expected, event).await;
            written.map(|outcome| outcome.map(|outcome| vec![Ok(outcome)]))
        } else if let Some(guarded) = GuardedBatch::new(batch)? {
            let written = self.write_guarded(&guarded).await;
            written.map(|head_and_time| head_and_time.map(|(head, at)| guarded.outcomes(head, at)))
        } else {
            Ok(None)
        };
        match guarded {
            Ok(Some(outcomes)) => Ok(outcomes),
            Ok(None) => self.write_carefully(batch).await,
            Err(error) => {
                tracing::debug!(%error, "guarded append failed; deciding each append on its own");
                self.write_carefully(batch).await
            }
        }
    }
}

impl PostgresBatchWriter {
    /// Sends a lone append of one event as `GUARDED_APPEND_ONE`; `None` if
    /// its assumptions did not hold and nothing was written.
    async fn write_one_guarded(
        &mut self,
        request: &AppendRequest,
        expected: u64,
        event: &NewEvent,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let category = category_of(&request.stream_id)?;
        let m = &event.metadata;
        let connection = self.connection().await?;
        let row = sqlx::query(GUARDED_APPEND_ONE)
            .bind(event.event_id)
            .bind(&request.stream_id)
            .bind(category)
            .bind(clamp(expected))
            .bind(&event.event_type)
            .bind(event.schema_version as i32)
            .bind(event.data.get())
            .bind(m.actor_id)
            .bind(&m.actor_name)
            .bind(m.correlation_id)
            .bind(m.causation_id)
            .bind(&m.idempotency_key)
            .fetch_optional(&mut *connection)
            .await;
        let Some(row) = self.unless_broken(row)? else { return Ok(None) };
        let position = row.try_get::<i64, _>("position")? as u64;
        Ok(Some(AppendOutcome {
            stream_version: expected + 1,
            first_position: position,
            last_position: position,
            recorded_at: row.try_get("recorded_at")?,
            was_duplicate: false,
        }))
    }

    /// Sends the guarded batch and answers the head before it and its record
    /// time; `None` if its assumptions did not hold and nothing was written.
    async fn write_guarded(&mut self, guarded: &GuardedBatch) -> Result<Option<(u64, DateTime<Utc>)>, StoreError> {
        let flat = &guarded.events;
        let connection = self.connection().await?;
        let row = sqlx::query(GUARDED_APPEND)
            .bind(&flat.event_id)
            .bind(&flat.stream)
            .bind(&flat.category)
            .bind(&guarded.versions)
            .bind(&flat.event_type)
            .bind(&flat.schema)
            .bind(&flat.data)
            .bind(&flat.actor_id)
            .bind(&flat.actor_name)
            .bind(&flat.correlation_id)
            .bind(&flat.causation_id)
            .bind(&flat.idempotency_key)
            .bind(&guarded.assumed_streams)
            .bind(&guarded.assumed_versions)
            .fetch_one(&mut *connection)
            .await;
        let row = match row {
            // An event id of the batch is stored already (a retry's): the
            // unique index refused the insert, and nothing was written.
            Err(sqlx::Error::Database(refusal)) if refusal.is_unique_violation() => return Ok(None),
            answer => self.unless_broken(answer)?,
        };
        let inserted: i64 = row.try_get("inserted")?;
        if inserted != flat.event_id.len() as i64 {
            return Ok(None);
        }
        Ok(Some((row.try_get::<i64, _>("head")? as u64, row.try_get("at")?)))
    }
}

/// The expected version and the event of an append that can go as
/// `GUARDED_APPEND_ONE`: one event, an expected version, no max age.
fn plain_single_event(request: &AppendRequest) -> Option<(u64, &NewEvent)> {
    match (request.expected.required(), request.events.as_slice(), request.max_age) {
        (Some(expected), [event], None) => Some((expected, event)),
        _ => None,
    }
}

/// A batch decided before it is sent, on the assumption that each stream is
/// where its first append in the batch expects it.
struct GuardedBatch {
    events: FlatBatch,
    /// Each event's stream version.
    versions: Vec<i64>,
    /// The streams and the versions the batch assumes them to be at.
    assumed_streams: Vec<String>,
    assumed_versions: Vec<i64>,
    /// Per append: the ordinals of its first and last event in the batch, and the stream's version after it.
    planned: Vec<(u64, u64, u64)>,
}

impl GuardedBatch {
    /// `None` for a batch that only `vigie_append` can decide: an append that
    /// expects any version, sets a max age, or expects a version other than
    /// the one an earlier append of the batch leaves its stream at.
    fn new(batch: &[AppendRequest]) -> Result<Option<Self>, StoreError> {
        let mut versions = Vec::new();
        let mut reached: HashMap<&str, u64> = HashMap::new();
        let (mut assumed_streams, mut assumed_versions, mut planned) = (Vec::new(), Vec::new(), Vec::new());
        for request in batch {
            let Some(expected) = request.expected.required() else { return Ok(None) };
            if request.max_age.is_some() {
                return Ok(None);
            }
            match reached.get(request.stream_id.as_str()) {
                Some(&version) if version != expected => return Ok(None),
                Some(_) => {}
                None => {
                    assumed_streams.push(request.stream_id.clone());
                    assumed_versions.push(clamp(expected));
                }
            }
            let first = versions.len() as u64 + 1;
            versions.extend((1..=request.events.len() as u64).map(|n| clamp(expected + n)));
            let after = expected + request.events.len() as u64;
            reached.insert(&request.stream_id, after);
            planned.push((first, versions.len() as u64, after));
        }
        let events = FlatBatch::new(batch)?;
        Ok(Some(Self { events, versions, assumed_streams, assumed_versions, planned }))
    }

    /// The answers once the batch is written after `head`, recorded `at`.
    fn outcomes(&self, head: u64, at: DateTime<Utc>) -> BatchOutcome {
        let outcome = |&(first, last, version): &(u64, u64, u64)| {
            Ok(AppendOutcome {
                stream_version: version,
                first_position: head + first,
                last_position: head + last,
                recorded_at: at,
                was_duplicate: false,
            })
        };
        self.planned.iter().map(outcome).collect()
    }
}

impl PostgresBatchWriter {
    /// The batch through `vigie_append`, which decides each append on its own.
    async fn write_carefully(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let flat = FlatBatch::new(batch)?;
        let connection = self.connection().await?;
        // Runs as its own transaction: the answer arrives after the commit.
        let rows =
            sqlx::query("SELECT * FROM vigie_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                .bind(flat.append)
                .bind(flat.stream)
                .bind(flat.category)
                .bind(flat.expected)
                .bind(flat.max_age)
                .bind(flat.event_id)
                .bind(flat.event_type)
                .bind(flat.schema)
                .bind(flat.data)
                .bind(flat.actor_id)
                .bind(flat.actor_name)
                .bind(flat.correlation_id)
                .bind(flat.causation_id)
                .bind(flat.idempotency_key)
                .fetch_all(&mut *connection)
                .await;
        let rows = self.unless_broken(rows)?;

        let mut outcomes: BatchOutcome = Vec::with_capacity(batch.len());
        for (request, row) in batch.iter().zip(&rows) {
            outcomes.push(decode_outcome(request, row)?);
        }
        if outcomes.len() != batch.len() {
            return Err(StoreError::Corrupt(format!(
                "vigie_append answered {} outcomes for {} appends",
                outcomes.len(),
                batch.len()
            )));
        }
        Ok(outcomes)
    }
}

fn decode_outcome(request: &AppendRequest, row: &PgRow) -> Result<Result<AppendOutcome, StoreError>, StoreError> {
    let outcome: String = row.try_get("o_outcome")?;
    let version: Option<i64> = row.try_get("o_version")?;
    let version = version.unwrap_or_default() as u64;
    let appended = |was_duplicate| -> Result<AppendOutcome, StoreError> {
        Ok(AppendOutcome {
            stream_version: version,
            first_position: row.try_get::<i64, _>("o_first_position")? as u64,
            last_position: row.try_get::<i64, _>("o_last_position")? as u64,
            recorded_at: row.try_get("o_recorded_at")?,
            was_duplicate,
        })
    };
    Ok(match outcome.as_str() {
        "appended" => Ok(appended(false)?),
        "duplicate" => Ok(appended(true)?),
        "conflict" => Err(StoreError::WrongExpectedVersion {
            stream_id: request.stream_id.clone(),
            expected: request.expected,
            actual: version,
        }),
        "partial_duplicate" => Err(StoreError::PartialDuplicate { stream_id: request.stream_id.clone() }),
        other => return Err(StoreError::Corrupt(format!("vigie_append answered an unknown outcome {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    //! The single-event statement must carry the appends it was built for; the
    //! careful path would give the same answers, only slower, so the contract
    //! suite cannot tell them apart. Runs when `VIGIE_TEST_POSTGRES_URL` names
    //! a server, in a database of its own.

    use sqlx::{Connection, Executor, PgConnection};

    use super::*;
    use crate::model::ExpectedVersion;
    use crate::postgres::PostgresEventStore;
    use crate::store::{EventLog, StoreOptions};

    fn append(stream: &str, expected: ExpectedVersion) -> AppendRequest {
        let event = NewEvent::new("ContactCommented", 1, &serde_json::json!({"comment": null})).unwrap();
        AppendRequest::new(stream, expected, vec![event])
    }

    /// A throw-away database holding one event in `shift-1`, with a writer and a store on it.
    async fn one_event_log() -> Option<(PostgresBatchWriter, PostgresEventStore, ThrowAwayDatabase)> {
        let Ok(server) = std::env::var("VIGIE_TEST_POSTGRES_URL") else {
            assert_ne!(std::env::var("VIGIE_TEST_REQUIRE_POSTGRES").as_deref(), Ok("1"), "no PostgreSQL configured");
            eprintln!("skipped: set VIGIE_TEST_POSTGRES_URL to run it");
            return None;
        };
        let database = ThrowAwayDatabase::create(&server).await;
        let store = PostgresEventStore::open(&database.url, StoreOptions::default()).await.unwrap();
        store.append(append("shift-1", ExpectedVersion::NoStream)).await.unwrap();
        let pool = PgPool::connect(&database.url).await.unwrap();
        let listener = PgListener::connect_with(&pool).await.unwrap();
        let writer = PostgresBatchWriter::new(pool, listener);
        Some((writer, store, database))
    }

    #[tokio::test]
    async fn a_lone_event_goes_in_one_statement() {
        let Some((mut writer, store, _database)) = one_event_log().await else { return };
        let request = append("shift-1", ExpectedVersion::Exactly(1));

        let outcome = writer.write_one_guarded(&request, 1, &request.events[0]).await.unwrap();

        let outcome = outcome.expect("the one-statement path");
        assert_eq!((outcome.stream_version, outcome.first_position, outcome.last_position), (2, 2, 2));
        assert_eq!(store.stream_version("shift-1").await.unwrap(), 2);
        let stored = store.read_all(0, 10).await.unwrap();
        assert_eq!(
            stored.last().map(|e| (e.event_id, e.recorded_at)),
            Some((request.events[0].event_id, outcome.recorded_at))
        );
        assert!(stored[0].recorded_at <= stored[1].recorded_at);
    }

    #[tokio::test]
    async fn a_stale_version_or_a_stored_id_writes_nothing_and_uses_no_position() {
        let Some((mut writer, store, _database)) = one_event_log().await else { return };
        let stale = append("shift-1", ExpectedVersion::NoStream);
        assert!(writer.write_one_guarded(&stale, 0, &stale.events[0]).await.unwrap().is_none());
        let stored = store.read_all(0, 10).await.unwrap()[0].event_id;
        let retried = append("shift-2", ExpectedVersion::NoStream);
        let retried_event = retried.events[0].clone().with_id(stored);
        assert!(writer.write_one_guarded(&retried, 0, &retried_event).await.unwrap().is_none());

        assert_eq!(store.head_position().await.unwrap(), 1);
        let next = writer.write_batch(&[append("shift-2", ExpectedVersion::NoStream)]).await.unwrap();
        assert_eq!(next[0].as_ref().unwrap().first_position, 2, "a refused append took a position");
    }

    #[tokio::test]
    async fn a_batch_holding_a_stored_id_writes_nothing_and_is_decided_carefully() {
        let Some((mut writer, store, _database)) = one_event_log().await else { return };
        let stored = store.read_all(0, 10).await.unwrap()[0].event_id;
        let mut retried = append("shift-3", ExpectedVersion::NoStream);
        retried.events[0] = retried.events[0].clone().with_id(stored);
        let batch = [append("shift-2", ExpectedVersion::NoStream), retried];

        let guarded = GuardedBatch::new(&batch).unwrap().expect("a batch the statement can decide");
        assert!(writer.write_guarded(&guarded).await.unwrap().is_none());

        assert_eq!(store.head_position().await.unwrap(), 1);
        let outcomes = writer.write_batch(&batch).await.unwrap();
        assert_eq!(outcomes[0].as_ref().unwrap().first_position, 2, "a refused batch took a position");
        assert!(outcomes[1].as_ref().is_ok_and(|o| o.was_duplicate && o.first_position == 1), "{outcomes:?}");
        assert_eq!(store.stream_version("shift-3").await.unwrap(), 0);
    }

    /// A database of its own on the test server, dropped afterwards.
    struct ThrowAwayDatabase {
        server: String,
        name: String,
        url: String,
    }

    impl ThrowAwayDatabase {
        async fn create(server: &str) -> Self {
            let name = format!("vigie_unit_{}", Uuid::now_v7().simple());
            let mut admin = PgConnection::connect(server).await.unwrap();
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let mut url = url::Url::parse(server).unwrap();
            url.set_path(&name);
            Self { server: server.to_owned(), name, url: url.to_string() }
        }
    }

    impl Drop for ThrowAwayDatabase {
        fn drop(&mut self) {
            // Drop cannot await inside the test's runtime, so the clean-up runs on a thread of its own.
            let (server, name) = (self.server.clone(), self.name.clone());
            let cleanup = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let mut admin = PgConnection::connect(&server).await.ok()?;
                    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()
                })
            });
            let _ = cleanup.join();
        }
    }
}
