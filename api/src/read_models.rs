//! The server's SQL read models (inbox and call log): their runners, the periodic retention purge, and waiting for a position.

use std::future::Future;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use tokio::task::JoinHandle;
use vigie_eventstore::{EventLog, EventStore, StoreOptions};
use vigie_projections::call_log::CallLog;
use vigie_projections::db::Db;
use vigie_projections::inbox::Inbox;
use vigie_projections::sql::{RebuildOutcome, RunnerOptions, SqlProjections, purge_expired, rebuild_named};

use crate::error::{ApiError, ApiResult};

/// How often expired messages and calls are purged. An hour late is harmless:
/// the views already hide what has expired.
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);

/// How long a read with `min_position` waits before answering 503.
const FRESHNESS_WAIT: Duration = Duration::from_secs(2);

/// The inbox and call log of this node, kept current from the log.
#[derive(Debug)]
pub struct ReadModels {
    store: EventStore,
    runners: SqlProjections,
    inbox: Inbox,
    call_log: CallLog,
    retention_days: u32,
    purge: JoinHandle<()>,
}

impl ReadModels {
    /// Starts a runner per SQL projection, writing through `projection_db`,
    /// and the hourly purge of what is older than `retention_days`.
    pub fn start(store: &EventStore, db: &Db, projection_db: Db, retention_days: u32) -> Self {
        let runners = SqlProjections::start(store.clone(), projection_db, RunnerOptions::default());
        let purge = tokio::spawn(purge_periodically(store.clone(), db.clone(), retention_days));
        Self {
            store: store.clone(),
            runners,
            inbox: Inbox::new(db.clone(), retention_days),
            call_log: CallLog::new(db.clone(), retention_days),
            retention_days,
            purge,
        }
    }

    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    pub fn call_log(&self) -> &CallLog {
        &self.call_log
    }

    /// How many days messages and calls are kept.
    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Waits until the read models reflect `position` (read your writes), or answers 503 with Retry-After.
    pub async fn ensure_fresh(&self, min_position: Option<u64>) -> ApiResult<()> {
        let Some(position) = min_position else { return Ok(()) };
        let applied = |timeout| self.runners.wait_for(position, timeout);
        wait_until_applied(&self.store, position, "The inbox and call log have", applied).await
    }

    /// Waits briefly for the read models to show a change just made; a slow
    /// runner only delays the change's answer, it does not fail it.
    pub async fn settle(&self, position: u64) {
        self.runners.wait_for(position, Duration::from_secs(5)).await;
    }
}

/// Waits until `applied` reports `position`, for at most [`FRESHNESS_WAIT`], then answers 503
/// with Retry-After, naming `reader`. A position past the end of the log is refused at once
/// with 400: no wait would bring it, and a client following Retry-After would never stop.
pub async fn wait_until_applied<Waited>(
    store: &impl EventLog,
    position: u64,
    reader: &str,
    applied: impl Fn(Duration) -> Waited,
) -> ApiResult<()>
where
    Waited: Future<Output = bool>,
{
    // The usual case, a position already applied, costs no look at the log's head.
    if applied(Duration::ZERO).await {
        return Ok(());
    }
    let head = store.head_position().await?;
    if position > head {
        return Err(ApiError::bad_request(format!(
            "min_position {position} is past the end of the log: no change has it."
        )));
    }
    if applied(FRESHNESS_WAIT).await {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_caught_up",
        format!("{reader} not yet applied position {position}; try again shortly."),
    )
    .retry_after(1))
}

impl Drop for ReadModels {
    fn drop(&mut self) {
        self.purge.abort();
    }
}

/// Purges expired messages and calls now, then every [`PURGE_EVERY`]. Every
/// node may do it: the deletes are idempotent.
async fn purge_periodically(store: EventStore, db: Db, retention_days: u32) {
    let mut ticks = tokio::time::interval(PURGE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Recordings first: they are found by their calls' rows, which the next purge removes.
        match crate::routes::purge_recordings(&db, retention_days).await {
            Ok(0) => {}
            Ok(recordings) => tracing::info!(recordings, retention_days, "purged expired call recordings"),
            Err(error) => tracing::warn!(%error, "could not purge expired recordings; will try again"),
        }
        match purge_expired(&store, &db, Utc::now(), retention_days).await {
            Ok(purged) if purged == Default::default() => {}
            Ok(purged) => tracing::info!(
                events = purged.events,
                messages = purged.messages,
                calls = purged.calls,
                retention_days,
                "purged expired messages and calls"
            ),
            Err(error) => tracing::warn!(%error, "could not purge expired messages and calls; will try again"),
        }
    }
}

/// Rebuilds the SQL projection `name` (every one when `None`) of the database
/// at `database_url` from the start of the log. A server running on the same
/// database keeps serving the old generation until each new one is complete,
/// then reads switch to it at once.
pub async fn rebuild(database_url: &str, name: Option<&str>, batch_size: usize) -> anyhow::Result<Vec<RebuildOutcome>> {
    let store = EventStore::open(database_url, StoreOptions::default()).await?;
    let db = Db::connect(database_url, 2).await?;
    Ok(rebuild_named(&store, &db, name, batch_size).await?)
}
