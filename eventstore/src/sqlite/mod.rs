//! The log on SQLite: one file in WAL mode, fsynced at every commit.
//!
//! One writer connection takes every group-commit batch under `BEGIN
//! IMMEDIATE`, which also serialises writers in other processes sharing the
//! file; readers use their own pool and never block the writer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::group_commit::{BatchOutcome, BatchWriter, GroupCommit};
use crate::model::{AppendOutcome, AppendRequest, Direction, Metadata, StoredEvent};
use crate::store::{EventLog, StoreOptions};
use crate::subscription::{self, Subscription};
use crate::validate::{category_of, check_append, redact_url};

const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, schema_version, data, \
     actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at";

/// The log in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    readers: SqlitePool,
    writer: SqlitePool,
    group_commit: GroupCommit,
    head: Arc<watch::Sender<u64>>,
    options: StoreOptions,
}

impl SqliteEventStore {
    /// Opens or creates the file at `sqlite://PATH` and applies the migrations.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let unreachable = |source| StoreError::Unreachable { url: redact_url(url), source };
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(unreachable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL fsyncs the WAL at every commit: an acknowledged append survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await.map_err(unreachable)?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(connect.read_only(true))
            .await
            .map_err(unreachable)?;

        let (head_position,): (i64,) =
            sqlx::query_as("SELECT position FROM log_head WHERE id = 1").fetch_one(&writer).await?;
        let head = Arc::new(watch::Sender::new(head_position as u64));
        let batch_writer = SqliteBatchWriter { pool: writer.clone(), head: head.clone() };
        let group_commit = GroupCommit::spawn(batch_writer, options.max_batch_events);
        Ok(Self { inner: Arc::new(Inner { readers, writer, group_commit, head, options }) })
    }

    async fn fetch_events<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = query.fetch_all(&self.inner.readers).await?;
        rows.iter().map(decode_event).collect()
    }
}

impl EventLog for SqliteEventStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        check_append(&request, self.inner.options.max_event_bytes)?;
        self.inner.group_commit.append(request).await
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = match direction {
            Direction::Forward => format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ?1 AND stream_version >= ?2 \
                 ORDER BY stream_version LIMIT ?3"
            ),
            Direction::Backward => format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ?1 AND stream_version <= ?2 \
                 ORDER BY stream_version DESC LIMIT ?3"
            ),
        };
        let query = sqlx::query(&sql).bind(stream_id).bind(clamp(from_version)).bind(clamp(limit as u64));
        self.fetch_events(query).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2");
        self.fetch_events(sqlx::query(&sql).bind(clamp(after)).bind(clamp(limit as u64))).await
    }

    async fn read_category(&self, category: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE category = ?1 AND position > ?2 ORDER BY position LIMIT ?3"
        );
        self.fetch_events(sqlx::query(&sql).bind(category).bind(clamp(after)).bind(clamp(limit as u64))).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let version: Option<(i64,)> = sqlx::query_as("SELECT version FROM streams WHERE stream_id = ?1")
            .bind(stream_id)
            .fetch_optional(&self.inner.readers)
            .await?;
        Ok(version.map_or(0, |(v,)| v as u64))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        let (position,): (i64,) =
            sqlx::query_as("SELECT position FROM log_head WHERE id = 1").fetch_one(&self.inner.readers).await?;
        Ok(position as u64)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM events WHERE position IN (
                 SELECT e.position FROM events e JOIN streams s ON s.stream_id = e.stream_id
                  WHERE s.max_age_seconds IS NOT NULL
                    AND e.recorded_at < ?1 - s.max_age_seconds * 1000000)",
        )
        .bind(now.timestamp_micros())
        .execute(&self.inner.writer)
        .await?;
        Ok(result.rows_affected())
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    fn subscribe(&self, after: u64) -> Subscription {
        subscription::spawn(self.clone(), after, self.watch_head(), self.inner.options.poll_interval)
    }
}

/// Writes group-commit batches through the single writer connection.
struct SqliteBatchWriter {
    pool: SqlitePool,
    head: Arc<watch::Sender<u64>>,
}

impl BatchWriter for SqliteBatchWriter {
    async fn write_batch(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // IMMEDIATE takes the write lock now, so the head read below is the
        // head we will write after, even with another process on the file.
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let written = write_batch_in_transaction(&mut conn, batch).await;
        let committed = match written {
            Ok(outcome) => sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| outcome).map_err(StoreError::from),
            Err(error) => Err(error),
        };
        match committed {
            Ok((outcomes, new_head)) => {
                self.head.send_if_modified(|head| advance(head, new_head));
                Ok(outcomes)
            }
            Err(error) => {
                // Leave the connection clean for the next batch; a failed
                // ROLLBACK means the transaction is already gone.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(error)
            }
        }
    }
}

async fn write_batch_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[AppendRequest],
) -> Result<(BatchOutcome, u64), StoreError> {
    let (head, last_recorded): (i64, i64) =
        sqlx::query_as("SELECT position, recorded_at FROM log_head WHERE id = 1").fetch_one(&mut *conn).await?;
    let recorded_at = Utc::now().timestamp_micros().max(last_recorded);
    let mut position = head as u64;
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        outcomes.push(append_one(conn, request, &mut position, recorded_at).await?);
    }
    if position > head as u64 {
        sqlx::query("UPDATE log_head SET position = ?1, recorded_at = ?2 WHERE id = 1")
            .bind(position as i64)
            .bind(recorded_at)
            .execute(&mut *conn)
            .await?;
    }
    Ok((outcomes, position))
}

/// Appends one request inside the batch's transaction. The outer `Err` is a
/// storage failure that dooms the batch; the inner one refuses only this append.
async fn append_one(
    conn: &mut SqliteConnection,
    request: &AppendRequest,
    head: &mut u64,
    recorded_at: i64,
) -> Result<Result<AppendOutcome, StoreError>, StoreError> {
    let ids: Vec<String> = request.events.iter().map(|e| e.event_id.simple().to_string()).collect();
    let ids_json = serde_json::to_string(&ids).map_err(StoreError::Serialization)?;
    let stored: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT position, stream_version, recorded_at FROM events
          WHERE event_id IN (SELECT unhex(value) FROM json_each(?1))",
    )
    .bind(ids_json)
    .fetch_all(&mut *conn)
    .await?;
    if stored.len() == ids.len() {
        return Ok(Ok(duplicate_outcome(&stored)));
    }
    if !stored.is_empty() {
        return Ok(Err(StoreError::PartialDuplicate { stream_id: request.stream_id.clone() }));
    }

    let current: Option<(i64,)> = sqlx::query_as("SELECT version FROM streams WHERE stream_id = ?1")
        .bind(&request.stream_id)
        .fetch_optional(&mut *conn)
        .await?;
    let current = current.map_or(0, |(v,)| v as u64);
    if request.expected.required().is_some_and(|expected| expected != current) {
        return Ok(Err(StoreError::WrongExpectedVersion {
            stream_id: request.stream_id.clone(),
            expected: request.expected,
            actual: current,
        }));
    }

    let category = category_of(&request.stream_id)?;
    let first_position = *head + 1;
    for (offset, event) in request.events.iter().enumerate() {
        let m = &event.metadata;
        sqlx::query(
            "INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type,
                                 schema_version, data, actor_id, actor_name, correlation_id,
                                 causation_id, idempotency_key, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .bind((first_position + offset as u64) as i64)
        .bind(event.event_id)
        .bind(&request.stream_id)
        .bind(category)
        .bind((current + 1 + offset as u64) as i64)
        .bind(&event.event_type)
        .bind(event.schema_version as i64)
        .bind(event.data.get())
        .bind(m.actor_id)
        .bind(m.actor_name.as_deref())
        .bind(m.correlation_id)
        .bind(m.causation_id)
        .bind(m.idempotency_key.as_deref())
        .bind(recorded_at)
        .execute(&mut *conn)
        .await?;
    }
    let count = request.events.len() as u64;
    sqlx::query(
        "INSERT INTO streams (stream_id, version, max_age_seconds) VALUES (?1, ?2, ?3)
         ON CONFLICT (stream_id) DO UPDATE
            SET version = excluded.version,
                max_age_seconds = coalesce(excluded.max_age_seconds, streams.max_age_seconds)",
    )
    .bind(&request.stream_id)
    .bind((current + count) as i64)
    .bind(request.max_age.map(|age| age.as_secs() as i64))
    .execute(&mut *conn)
    .await?;
    *head += count;
    Ok(Ok(AppendOutcome {
        stream_version: current + count,
        first_position,
        last_position: *head,
        recorded_at: micros_to_time(recorded_at)?,
        was_duplicate: false,
    }))
}

fn duplicate_outcome(stored: &[(i64, i64, i64)]) -> AppendOutcome {
    let first = stored.iter().map(|s| s.0).min().unwrap_or_default();
    let last = stored.iter().map(|s| s.0).max().unwrap_or_default();
    let version = stored.iter().map(|s| s.1).max().unwrap_or_default();
    let at = stored.iter().map(|s| s.2).min().unwrap_or_default();
    AppendOutcome {
        stream_version: version as u64,
        first_position: first as u64,
        last_position: last as u64,
        recorded_at: DateTime::from_timestamp_micros(at).unwrap_or_default(),
        was_duplicate: true,
    }
}

fn decode_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let data: String = row.try_get(6)?;
    Ok(StoredEvent {
        position: row.try_get::<i64, _>(0)? as u64,
        event_id: row.try_get(1)?,
        stream_id: row.try_get(2)?,
        stream_version: row.try_get::<i64, _>(3)? as u64,
        event_type: row.try_get(4)?,
        schema_version: row.try_get::<i64, _>(5)? as u32,
        data: RawValue::from_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: Metadata {
            actor_id: row.try_get::<Option<Uuid>, _>(7)?,
            actor_name: row.try_get(8)?,
            correlation_id: row.try_get(9)?,
            causation_id: row.try_get(10)?,
            idempotency_key: row.try_get(11)?,
        },
        recorded_at: micros_to_time(row.try_get(12)?)?,
    })
}

fn micros_to_time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("record time {micros} is out of range")))
}

/// SQLite integers are signed; `u64::MAX` means "no bound".
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Moves the head forward, never back; answers whether it moved.
pub(crate) fn advance(head: &mut u64, to: u64) -> bool {
    if to > *head {
        *head = to;
        true
    } else {
        false
    }
}
