//! Writes a group-commit batch to SQLite in two round trips to the driver.
//!
//! The driver runs SQLite on a thread of its own, so every statement costs a
//! hand-over between threads; a statement per event would cost more than the
//! fsync. Instead the batch is read and written in two multi-statement calls:
//! the first takes the write lock and reads what the decisions depend on (the
//! head, the batch's event ids already stored, its streams' versions); Rust
//! decides each append; the second writes every accepted event at once from a
//! JSON array and commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use futures_util::TryStreamExt;
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use super::micros_to_time;
use crate::error::StoreError;
use crate::group_commit::{BatchOutcome, BatchWriter};
use crate::model::{AppendOutcome, AppendRequest};
use crate::store::advance_head;
use crate::validate::category_of;

/// Takes the write lock, then reads the head, the stored event ids and the
/// stream versions as rows of one shape: (kind, key, a, b, c).
const READ_PHASE: &str = "
    BEGIN IMMEDIATE;
    SELECT 'head', NULL, position, recorded_at, NULL FROM log_head WHERE id = 1;
    SELECT 'event', lower(hex(event_id)), position, stream_version, recorded_at FROM events
     WHERE event_id IN (SELECT unhex(value) FROM json_each(?1));
    SELECT 'stream', stream_id, version, NULL, NULL FROM streams
     WHERE stream_id IN (SELECT value FROM json_each(?2));";

/// Writes the accepted events (?1), the record time (?2), the streams' new
/// versions (?3) and the new head (?4), then commits.
const WRITE_PHASE: &str = "
    INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version,
                        data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at)
    SELECT value->>0, unhex(value->>1), value->>2, value->>3, value->>4, value->>5, value->>6,
           value->>7, unhex(value->>8), value->>9, unhex(value->>10), unhex(value->>11), value->>12, ?2
      FROM json_each(?1);
    INSERT INTO streams (stream_id, version, max_age_seconds)
    SELECT value->>0, value->>1, value->>2 FROM json_each(?3) WHERE true
        ON CONFLICT (stream_id) DO UPDATE
       SET version = excluded.version,
           max_age_seconds = coalesce(excluded.max_age_seconds, streams.max_age_seconds);
    UPDATE log_head SET position = ?4, recorded_at = ?2 WHERE id = 1;
    COMMIT;";

/// Writes group-commit batches through the single writer connection.
pub(super) struct SqliteBatchWriter {
    pool: SqlitePool,
    head: Arc<watch::Sender<u64>>,
}

impl SqliteBatchWriter {
    pub(super) fn new(pool: SqlitePool, head: Arc<watch::Sender<u64>>) -> Self {
        Self { pool, head }
    }
}

impl BatchWriter for SqliteBatchWriter {
    async fn write_batch(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match write_in_transaction(&mut conn, batch).await {
            Ok((outcomes, new_head)) => {
                advance_head(&self.head, new_head);
                Ok(outcomes)
            }
            Err(error) => {
                // Leave the connection clean for the next batch; a failed
                // ROLLBACK means there was no transaction left to undo.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(error)
            }
        }
    }
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

async fn write_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[AppendRequest],
) -> Result<(BatchOutcome, u64), StoreError> {
    let mut snapshot = read_snapshot(conn, batch).await?;
    let recorded_at = Utc::now().timestamp_micros().max(snapshot.last_recorded_at);
    let plan = plan_batch(batch, &mut snapshot, recorded_at)?;
    if plan.events.is_empty() {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        return Ok((plan.outcomes, snapshot.head));
    }
    sqlx::query(WRITE_PHASE)
        .bind(serde_json::to_string(&plan.events).map_err(StoreError::Serialization)?)
        .bind(recorded_at)
        .bind(serde_json::to_string(&plan.streams).map_err(StoreError::Serialization)?)
        .bind(plan.new_head as i64)
        .execute(&mut *conn)
        .await?;
    Ok((plan.outcomes, plan.new_head))
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

/// One row of the events table, as a JSON array for `WRITE_PHASE`.
type EventRow<'a> = (
    u64,
    String,
    &'a str,
    &'a str,
    u64,
    &'a str,
    u32,
    &'a str,
    Option<String>,
    Option<&'a str>,
    Option<String>,
    Option<String>,
    Option<&'a str>,
);

#[derive(Default)]
struct BatchPlan<'a> {
    outcomes: BatchOutcome,
    events: Vec<EventRow<'a>>,
    /// Each touched stream's new version and max age, as `[stream, version, max_age]`.
    streams: Vec<(&'a str, u64, Option<u64>)>,
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
            let hex = |id: Option<Uuid>| id.map(|id| id.simple().to_string());
            plan.events.push((
                position,
                event.event_id.simple().to_string(),
                &request.stream_id,
                category,
                version,
                &event.event_type,
                event.schema_version,
                event.data.get(),
                hex(m.actor_id),
                m.actor_name.as_deref(),
                hex(m.correlation_id),
                hex(m.causation_id),
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
    plan.streams = touched.into_iter().map(|(stream, (version, age))| (stream, version, age)).collect();
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
