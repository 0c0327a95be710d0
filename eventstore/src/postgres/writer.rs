//! Writes group-commit batches to PostgreSQL, usually as one plain statement.
//!
//! `vigie_append` (see the migrations) decides every append of a batch on its
//! own: duplicates, conflicts, appends that expect any version. That takes a
//! PL/pgSQL loop whose set-up costs several times an INSERT. Most batches need
//! none of it: every append names the version it expects, no event id is
//! stored yet, and no append sets a max age. The writer sends those as one
//! prepared statement (`GUARDED_APPEND`) that takes the same lock, checks that
//! the batch's assumptions hold and inserts only if they all do. When they do
//! not, or the statement fails, the batch goes through `vigie_append`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::watch;
use uuid::Uuid;

use super::clamp;
use crate::error::StoreError;
use crate::group_commit::{BatchOutcome, BatchWriter};
use crate::model::{AppendOutcome, AppendRequest};
use crate::store::advance_head;
use crate::validate::category_of;

/// Takes `vigie_append`'s lock, then inserts the events ($1..$12) at the
/// positions after the head only if none of their ids is stored and each
/// stream is at the version the batch assumed ($13, $14). Under the lock it
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
        SELECT NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY ($1))
               AND NOT EXISTS (
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

/// Writes group-commit batches through a connection of its own.
///
/// It keeps a connection of its own rather than borrowing one from the pool:
/// sqlx pings a pooled connection when it is taken and again when it is
/// given back, two extra round trips per batch that a lone writer felt.
pub(super) struct PostgresBatchWriter {
    connect: PgConnectOptions,
    /// `None` after the connection failed; the next batch connects again.
    connection: Option<PgConnection>,
    head: Arc<watch::Sender<u64>>,
}

impl PostgresBatchWriter {
    /// Passes a statement's answer on, dropping the connection if the error
    /// may have left it unusable. (The server refusing the statement leaves it fine.)
    fn unless_broken<T>(&mut self, answer: Result<T, sqlx::Error>) -> Result<T, StoreError> {
        answer.map_err(|error| {
            if !matches!(error, sqlx::Error::Database(_)) {
                self.connection = None;
            }
            error.into()
        })
    }

    pub(super) fn new(connect: PgConnectOptions, connection: PgConnection, head: Arc<watch::Sender<u64>>) -> Self {
        Self { connect, connection: Some(connection), head }
    }

    async fn connection(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.connection.is_none() {
            self.connection = Some(PgConnection::connect_with(&self.connect).await?);
        }
        self.connection.as_mut().ok_or(StoreError::WriterStopped)
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
    async fn write_batch(&mut self, batch: &[AppendRequest]) -> Result<BatchOutcome, StoreError> {
        let outcomes = match GuardedBatch::new(batch)? {
            Some(guarded) => match self.write_guarded(&guarded).await {
                Ok(Some((head, at))) => guarded.outcomes(head, at),
                Ok(None) => self.write_carefully(batch).await?,
                Err(error) => {
                    tracing::debug!(%error, "guarded append failed; deciding each append on its own");
                    self.write_carefully(batch).await?
                }
            },
            None => self.write_carefully(batch).await?,
        };
        if let Some(newest) = outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|o| o.last_position).max() {
            advance_head(&self.head, newest);
        }
        Ok(outcomes)
    }
}

impl PostgresBatchWriter {
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
        let row = self.unless_broken(row)?;
        let inserted: i64 = row.try_get("inserted")?;
        if inserted != flat.event_id.len() as i64 {
            return Ok(None);
        }
        Ok(Some((row.try_get::<i64, _>("head")? as u64, row.try_get("at")?)))
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
