//! Retention: messages and calls hold callers' personal data, so past the retention period they leave the log and the views.
//!
//! Message and call streams must be appended with
//! `AppendRequest::with_max_age(retention_max_age(days))`: the log purges only
//! streams that carry a max age. The views already hide anything older than
//! the retention period; [`purge_expired`] also deletes the events and rows.
//!
//! A message's age counts from when it was taken (a call's from when it
//! started), not from when it was recorded: one entered days late still goes
//! when DOMAIN.md says, events and all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use vigie_domain::{Aggregate, Call, Message};
use vigie_eventstore::EventLog;

use super::days::retention_cutoff;
use super::error::ProjectionError;
use crate::db::{Db, to_micros};

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeOutcome {
    pub events: u64,
    pub messages: u64,
    pub calls: u64,
}

/// The max age to append message and call streams with, for a retention of `retention_days`.
pub fn retention_max_age(retention_days: u32) -> Duration {
    Duration::from_secs(u64::from(retention_days) * 24 * 60 * 60)
}

/// Purges expired events from the log (those of streams appended with a max
/// age, see [`retention_max_age`]) and deletes messages taken and calls started
/// more than `retention_days` before `now` from the read models, every
/// generation included.
pub async fn purge_expired<L: EventLog>(
    store: &L,
    db: &Db,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<PurgeOutcome, ProjectionError> {
    // Events first: a rebuild running meanwhile then cannot bring the rows back. Under the
    // retention in force, which may be shorter than when the streams were written.
    store.retain_for(retention_max_age(retention_days)).await?;
    let cutoff = to_micros(retention_cutoff(now, retention_days));
    let mut events = 0;
    for streams in expired_streams(db, cutoff).await?.chunks(500) {
        events += store.purge_streams(streams).await?;
    }
    events += store.purge_expired(now).await?;
    let messages = delete_before(db, "DELETE FROM inbox_messages WHERE taken_at < $1", cutoff).await?;
    let calls = delete_before(db, "DELETE FROM call_log WHERE started_at < $1", cutoff).await?;
    Ok(PurgeOutcome { events, messages, calls })
}

/// The streams of the messages taken and calls started before `cutoff`, as the rows of any
/// generation know them, whenever their events were recorded.
async fn expired_streams(db: &Db, cutoff: i64) -> Result<Vec<String>, ProjectionError> {
    let ids: Vec<(String, String)> = crate::on_db!(db, |pool| sqlx::query_as(
        "SELECT DISTINCT $2, message_id FROM inbox_messages WHERE taken_at < $1
         UNION SELECT DISTINCT $3, call_id FROM call_log WHERE started_at < $1"
    )
    .bind(cutoff)
    .bind(Message::CATEGORY)
    .bind(Call::CATEGORY)
    .fetch_all(pool)
    .await)?;
    Ok(ids.into_iter().map(|(category, id)| format!("{category}-{id}")).collect())
}

async fn delete_before(db: &Db, sql: &str, cutoff: i64) -> Result<u64, ProjectionError> {
    let done = crate::on_db!(db, |pool| sqlx::query(sql).bind(cutoff).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
