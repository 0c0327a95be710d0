//! Reads a page of events as one JSON row, so the driver hands over one value instead of a thousand rows.
//!
//! sqlx runs SQLite on a worker thread and sends each row across to the
//! caller; for the long reads of the log (catch-up, rebuilds) that hand-over
//! costs more than SQLite's own work. SQLite builds the page as a JSON array
//! instead, and serde reads it back in one pass.

use serde::Deserialize;
use serde_json::value::RawValue;
use sqlx::SqlitePool;
use uuid::Uuid;

use super::micros_to_time;
use crate::error::StoreError;
use crate::model::{Metadata, StoredEvent};

/// Each event as a JSON array, in the order of [`PageRow`]; `hex(NULL)` is ''.
const EVENT_AS_JSON: &str = "json_array(position, lower(hex(event_id)), stream_id, stream_version, event_type, \
     schema_version, data, lower(hex(actor_id)), actor_name, lower(hex(correlation_id)), \
     lower(hex(causation_id)), idempotency_key, recorded_at)";

#[derive(Deserialize)]
struct PageRow(
    u64,
    String,
    String,
    u64,
    String,
    u32,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

/// Events after `after` (all, or one category's), in position order.
pub(super) async fn read_page(
    pool: &SqlitePool,
    category: Option<&str>,
    after: u64,
    limit: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let filter = if category.is_some() { "category = ?3 AND position > ?1" } else { "position > ?1" };
    let sql = format!(
        "SELECT json_group_array({EVENT_AS_JSON}) FROM \
         (SELECT * FROM events WHERE {filter} ORDER BY position LIMIT ?2)"
    );
    let query = sqlx::query_scalar::<_, String>(&sql)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let query = match category {
        Some(category) => query.bind(category),
        None => query,
    };
    let page = query.fetch_one(pool).await?;
    let rows: Vec<PageRow> = serde_json::from_str(&page).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut events = rows.into_iter().map(into_event).collect::<Result<Vec<_>, _>>()?;
    // SQLite aggregates the subquery in its order, but nothing promises it.
    if !events.is_sorted_by_key(|e| e.position) {
        events.sort_by_key(|e| e.position);
    }
    Ok(events)
}

fn into_event(row: PageRow) -> Result<StoredEvent, StoreError> {
    let PageRow(
        position,
        event_id,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        data,
        actor_id,
        actor_name,
        correlation_id,
        causation_id,
        idempotency_key,
        recorded_at,
    ) = row;
    Ok(StoredEvent {
        position,
        event_id: uuid(&event_id)?.ok_or_else(|| StoreError::Corrupt("an event without an id".into()))?,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        data: RawValue::from_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: Metadata {
            actor_id: uuid(&actor_id)?,
            actor_name,
            correlation_id: uuid(&correlation_id)?,
            causation_id: uuid(&causation_id)?,
            idempotency_key,
        },
        recorded_at: micros_to_time(recorded_at)?,
    })
}

fn uuid(hex: &str) -> Result<Option<Uuid>, StoreError> {
    if hex.is_empty() {
        return Ok(None);
    }
    Uuid::try_parse(hex).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}
