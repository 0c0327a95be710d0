//! The log on PostgreSQL: several server processes may share one database.
//!
//! Each group-commit batch is one statement (see `writer`), so a batch costs
//! one round trip and one commit. Every append takes one advisory lock until
//! commit, which makes positions commit in order across every process.
//! Commits are announced with NOTIFY, and each store's writer LISTENs on its
//! own connection, so that it hears other processes' commits and its own
//! come back with the answer to its statement, with no other connection or
//! process to wake.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::postgres::{PgConnectOptions, PgListener, PgRow};
use sqlx::{PgPool, Row};
use tokio::sync::watch;
use uuid::Uuid;

mod writer;

use writer::PostgresBatchWriter;

use crate::error::StoreError;
use crate::group_commit::{Followers, GroupCommit};
use crate::hand_off::HandOff;
use crate::model::{AppendOutcome, AppendRequest, Direction, Metadata, StoredEvent};
use crate::store::{EventLog, StoreOptions};
use crate::subscription::{self, Subscription};
use crate::validate::{check_append, redact_url};

const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, event_type, schema_version, data::text, \
     actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at";

/// The NOTIFY channel that carries the newest committed position.
const CHANNEL: &str = "vigie_events";

/// The log in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    group_commit: GroupCommit,
    head: Arc<watch::Sender<u64>>,
    /// The events this process committed last, for its followers.
    hand_off: Arc<HandOff>,
    options: StoreOptions,
}

impl PostgresEventStore {
    /// Deletes the events of streams with a max age that `condition` (SQL over the event `e`
    /// and its stream `s`, taking `bind` as $1) selects.
    async fn purge<T>(&self, condition: &str, bind: T) -> Result<u64, StoreError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        // Remember each stream's version at the purge, so its versions go on
        // from there rather than restarting when all its events are gone.
        let sql = format!(
            "WITH purged AS (
                 DELETE FROM events e USING streams s
                  WHERE s.stream_id = e.stream_id
                    AND s.max_age_seconds IS NOT NULL
                    AND {condition}
                 RETURNING e.position, e.stream_id, e.stream_version),
             marked AS (
                 UPDATE streams s SET purged_version = greatest(s.purged_version, p.version)
                   FROM (SELECT stream_id, max(stream_version) AS version FROM purged GROUP BY stream_id) p
                  WHERE s.stream_id = p.stream_id),
             noted AS (
                 UPDATE log_purged SET position = greatest(position, (SELECT max(position) FROM purged))
                  WHERE EXISTS (SELECT 1 FROM purged))
             SELECT count(*) FROM purged"
        );
        let (removed,): (i64,) = sqlx::query_as(&sql).bind(bind).fetch_one(&self.inner.pool).await?;
        self.inner.hand_off.forget();
        Ok(removed as u64)
    }

    /// Connects, applies the migrations (under sqlx's advisory lock, so several
    /// processes may start at once) and starts listening for commits.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let unreachable = |source| StoreError::Unreachable { url: redact_url(url), source };
        let connect: PgConnectOptions = url.parse().map_err(unreachable)?;
        let pool = crate::pools::postgres_pool()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect.clone())
            .await
            .map_err(unreachable)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;

        // The writer's statements are prepared once, often while the log is
        // nearly empty; a plan made then would scan the events table whole on
        // every append as it grows. Every lookup the writer makes has an
        // index, so its connection is told to use one.
        let writer_connect = connect.options([("enable_seqscan", "off")]);
        let writer_pool =
            crate::pools::postgres_pool().max_connections(1).connect_with(writer_connect).await.map_err(unreachable)?;
        // Listening before reading the head, so no commit falls in between.
        let mut listener = PgListener::connect_with(&writer_pool).await.map_err(unreachable)?;
        listener.listen(CHANNEL).await?;
        let head = Arc::new(watch::Sender::new(read_head(&pool).await?));
        let batch_writer = PostgresBatchWriter::new(writer_pool, listener);
        let hand_off = Arc::new(HandOff::new(options.hand_off_window));
        let followers = Followers { head: head.clone(), hand_off: hand_off.clone() };
        let group_commit = GroupCommit::spawn(batch_writer, options.max_batch_events, followers);
        Ok(Self { inner: Arc::new(Inner { pool, group_commit, head, hand_off, options }) })
    }

    /// The connection pool, for the read models that live in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    async fn fetch_events(
        &self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = query.fetch_all(&self.inner.pool).await?;
        rows.iter().map(decode_event).collect()
    }
}

impl EventLog for PostgresEventStore {
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
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
                 ORDER BY stream_version LIMIT $3"
            ),
            Direction::Backward => format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version <= $2 \
                 ORDER BY stream_version DESC LIMIT $3"
            ),
        };
        let query = sqlx::query(&sql).bind(stream_id).bind(clamp(from_version)).bind(clamp(limit as u64));
        self.fetch_events(query).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
        self.fetch_events(sqlx::query(&sql).bind(clamp(after)).bind(clamp(limit as u64))).await
    }

    async fn read_new(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.hand_off.events_after_or(after, limit, self.read_all(after, limit)).await
    }

    async fn read_category(&self, category: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE category = $1 AND position > $2 ORDER BY position LIMIT $3"
        );
        self.fetch_events(sqlx::query(&sql).bind(category).bind(clamp(after)).bind(clamp(limit as u64))).await
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let (version,): (i64,) = sqlx::query_as(
            "SELECT greatest(coalesce((SELECT max(stream_version) FROM events WHERE stream_id = $1), 0),
                             coalesce((SELECT purged_version FROM streams WHERE stream_id = $1), 0))",
        )
        .bind(stream_id)
        .fetch_one(&self.inner.pool)
        .await?;
        Ok(version as u64)
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let position: Option<(i64,)> = sqlx::query_as("SELECT position FROM events WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.inner.pool)
            .await?;
        Ok(position.map(|(position,)| position as u64))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        read_head(&self.inner.pool).await
    }

    async fn retain_for(&self, max_age: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE streams SET max_age_seconds = $1 WHERE max_age_seconds IS NOT NULL AND max_age_seconds <> $1",
        )
        .bind(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX))
        .execute(&self.inner.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.purge("e.recorded_at < $1 - make_interval(secs => s.max_age_seconds)", now).await
    }

    async fn purge_streams(&self, stream_ids: &[String]) -> Result<u64, StoreError> {
        if stream_ids.is_empty() {
            return Ok(0);
        }
        self.purge("e.stream_id = ANY($1)", stream_ids).await
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    fn subscribe(&self, after: u64) -> Subscription {
        subscription::spawn(self.clone(), after, self.watch_head(), self.inner.options.poll_interval)
    }
}

/// The newest committed position: the newest event's, or the newest one a purge removed; 0 for
/// an empty log. Not the sequence's value, which counts appends still running or failed.
async fn read_head(pool: &PgPool) -> Result<u64, StoreError> {
    let (position,): (i64,) = sqlx::query_as(
        "SELECT greatest(coalesce((SELECT max(position) FROM events), 0), (SELECT position FROM log_purged))",
    )
    .fetch_one(pool)
    .await?;
    Ok(position as u64)
}

fn decode_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let data: String = row.try_get(6)?;
    Ok(StoredEvent {
        position: row.try_get::<i64, _>(0)? as u64,
        event_id: row.try_get(1)?,
        stream_id: row.try_get(2)?,
        stream_version: row.try_get::<i64, _>(3)? as u64,
        event_type: row.try_get(4)?,
        schema_version: row.try_get::<i32, _>(5)? as u32,
        data: RawValue::from_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: Metadata {
            actor_id: row.try_get(7)?,
            actor_name: row.try_get(8)?,
            correlation_id: row.try_get(9)?,
            causation_id: row.try_get(10)?,
            idempotency_key: row.try_get(11)?,
        },
        recorded_at: row.try_get(12)?,
    })
}

/// PostgreSQL integers are signed; `u64::MAX` means "no bound".
pub(super) fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
