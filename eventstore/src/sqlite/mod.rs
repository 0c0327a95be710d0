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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteRow, SqliteSynchronous};
use sqlx::{ConnectOptions, Row, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::group_commit::{Followers, GroupCommit};
use crate::hand_off::HandOff;
use crate::model::{AppendOutcome, AppendRequest, Direction, Metadata, StoredEvent};
use crate::store::{EventLog, StoreOptions};
use crate::subscription::{self, Subscription};
use crate::validate::{check_append, redact_url};

/// SQL for the version of the stream named by the SQL expression `$stream`:
/// the higher of its newest event's and what a purge recorded before it
/// removed the newest of them. A macro, so that each statement needing the
/// rule can still be a `const` string while the rule is written once.
macro_rules! stream_version_of {
    ($stream:literal) => {
        concat!(
            "max(ifnull((SELECT version FROM streams WHERE stream_id = ",
            $stream,
            "), 0), ifnull((SELECT max(stream_version) FROM events WHERE stream_id = ",
            $stream,
            "), 0))"
        )
    };
}

mod pages;
mod readers;
mod writer;

use readers::Readers;
use writer::SqliteBatchWriter;

const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, schema_version, data, \
     actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at";

/// The version of stream ?1.
const STREAM_VERSION: &str = concat!("SELECT ", stream_version_of!("?1"));

/// The positions of the events a purge at ?1 (microseconds) removes.
const EXPIRED: &str = "
    SELECT e.position FROM events e JOIN streams s ON s.stream_id = e.stream_id
     WHERE s.max_age_seconds IS NOT NULL AND e.recorded_at < ?1 - s.max_age_seconds * 1000000";

/// The positions of the events of the streams in the JSON array ?1 that have a max age.
const OF_STREAMS: &str = "
    SELECT e.position FROM events e JOIN streams s ON s.stream_id = e.stream_id
     WHERE s.max_age_seconds IS NOT NULL AND e.stream_id IN (SELECT value FROM json_each(?1))";

/// The log in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    readers: Readers,
    /// Migrations and purges; appends go through the group-commit writer's own connection.
    writer: SqlitePool,
    group_commit: GroupCommit,
    head: Arc<watch::Sender<u64>>,
    /// The events this process committed last, for its followers.
    hand_off: Arc<HandOff>,
    options: StoreOptions,
}

impl SqliteEventStore {
    /// Deletes the events at the positions that `positions` (SQL taking `bind` as ?1) selects.
    async fn purge<T>(&self, positions: &str, bind: T) -> Result<u64, StoreError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Clone + Send,
    {
        let mut tx = self.inner.writer.begin_with("BEGIN IMMEDIATE").await?;
        // The head and the versions are read off the events, so before the
        // newest of them go, remember where they stood.
        sqlx::query("UPDATE log_head SET (position, recorded_at) = (SELECT position, recorded_at FROM log_position)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO streams (stream_id, version)
             SELECT e.stream_id, max(e.stream_version) FROM events e WHERE e.position IN ({positions}) GROUP BY e.stream_id
                 ON CONFLICT (stream_id) DO UPDATE SET version = max(version, excluded.version)"
        ))
        .bind(bind.clone())
        .execute(&mut *tx)
        .await?;
        let result = sqlx::query(&format!("DELETE FROM events WHERE position IN ({positions})"))
            .bind(bind)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.inner.hand_off.forget();
        Ok(result.rows_affected())
    }

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
        // The pool is for purges; readers and the group-commit writer keep connections of their own.
        let writer =
            crate::pools::sqlite_pool().max_connections(1).connect_with(connect.clone()).await.map_err(unreachable)?;
        migrate(&writer).await?;
        let readers = Readers::new(connect.clone(), options.max_connections);
        drop(readers.acquire().await?);

        let head = Arc::new(watch::Sender::new(read_head(&mut *writer.acquire().await?).await?));
        let batch_writer = SqliteBatchWriter::new(connect.connect().await.map_err(unreachable)?);
        let hand_off = Arc::new(HandOff::new(options.hand_off_window));
        let followers = Followers { head: head.clone(), hand_off: hand_off.clone() };
        let group_commit = GroupCommit::spawn(batch_writer, options.max_batch_events, followers);
        Ok(Self { inner: Arc::new(Inner { readers, writer, group_commit, head, hand_off, options }) })
    }

    async fn fetch_events<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = query.fetch_all(&mut *self.inner.readers.acquire().await?).await?;
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
        pages::read_page(&self.inner.readers, None, after, limit as u64).await
    }

    async fn read_new(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.hand_off.events_after_or(after, limit, self.read_all(after, limit)).await
    }

    async fn read_category(&self, category: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        pages::read_page(&self.inner.readers, Some(category), after, limit as u64).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let mut reader = self.inner.readers.acquire().await?;
        let (version,): (i64,) = sqlx::query_as(STREAM_VERSION).bind(stream_id).fetch_one(&mut *reader).await?;
        Ok(version as u64)
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let mut reader = self.inner.readers.acquire().await?;
        let position: Option<(i64,)> = sqlx::query_as("SELECT position FROM events WHERE event_id = ?1")
            .bind(event_id)
            .fetch_optional(&mut *reader)
            .await?;
        Ok(position.map(|(position,)| position as u64))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        read_head(&mut *self.inner.readers.acquire().await?).await
    }

    async fn retain_for(&self, max_age: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE streams SET max_age_seconds = ?1 WHERE max_age_seconds IS NOT NULL AND max_age_seconds <> ?1",
        )
        .bind(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX))
        .execute(&self.inner.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge(EXPIRED, now.timestamp_micros()).await
    }

    async fn purge_streams(&self, stream_ids: &[String]) -> Result<u64, StoreError> {
        if stream_ids.is_empty() {
            return Ok(0);
        }
        self.purge(OF_STREAMS, serde_json::to_string(stream_ids).map_err(StoreError::Serialization)?).await
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    fn subscribe(&self, after: u64) -> Subscription {
        subscription::spawn(self.clone(), after, self.watch_head(), self.inner.options.poll_interval)
    }
}

/// The last position handed out: the newest event's, or what a purge recorded.
async fn read_head(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let (position,): (i64,) = sqlx::query_as("SELECT position FROM log_position").fetch_one(conn).await?;
    Ok(position as u64)
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

pub(super) fn micros_to_time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("record time {micros} is out of range")))
}

/// SQLite integers are signed; `u64::MAX` means "no bound".
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Applies the migrations. Nodes started together on a new file may both try
/// one: SQLite offers the migrator no lock to take, so the loser's transaction
/// fails and rolls back whole; it then reads what is applied again and goes on.
async fn migrate(pool: &sqlx::SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut attempts = 0;
    loop {
        match sqlx::migrate!("../migrations/sqlite").run(pool).await {
            Err(
                sqlx::migrate::MigrateError::Execute(error) | sqlx::migrate::MigrateError::ExecuteMigration(error, _),
            ) if attempts < 20 => {
                attempts += 1;
                tracing::debug!(%error, "a migration raced another node's; reading the applied ones again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            done => return done,
        }
    }
}
