//! SQL read models: checkpointed, exactly-once, rebuildable projections of the log into tables.
//!
//! - [`SqlProjection`]: what a projection is (a name, its categories, how an
//!   event changes its rows), written once for SQLite and PostgreSQL.
//! - [`ProjectionRunner`]: the task that keeps one current, in batches whose
//!   rows and checkpoint commit together; on PostgreSQL one node at a time
//!   runs each projection, under an advisory lock.
//! - [`rebuild`]: builds a new generation from the start of the log beside the
//!   live one, then switches reads to it.
//! - [`purge_expired`]: the retention of messages and calls, in the log and in
//!   the read models.
//!
//! The projections themselves are [`crate::inbox`] and [`crate::call_log`].

mod checkpoint;
mod conditions;
pub(crate) mod days;
mod error;
mod leadership;
mod projection;
mod rebuild;
mod retention;
mod runner;

use std::time::Duration;

use tokio::task::JoinHandle;

use vigie_eventstore::EventLog;

pub use checkpoint::{LiveState, live_state};
pub(crate) use conditions::{Conditions, contains_pattern};
pub use error::ProjectionError;
pub use projection::{SqlProjection, SqlValue, Tx, decode_event, stream_entity_id};
pub(crate) use projection::{bind_values, without_nul};
pub use rebuild::{RebuildOutcome, rebuild, rebuild_if_outdated};
pub use retention::{PurgeOutcome, purge_expired, retention_max_age};
pub use runner::{ProjectionRunner, RunnerOptions};

use crate::call_log::CallLogProjection;
use crate::db::Db;
use crate::inbox::InboxProjection;

/// The names `vigie projections rebuild NAME` accepts.
pub const SQL_PROJECTIONS: &[&str] = &[InboxProjection::NAME, CallLogProjection::NAME];

/// The runners of every SQL projection on this node.
#[derive(Debug)]
pub struct SqlProjections {
    pub inbox: ProjectionRunner,
    pub call_log: ProjectionRunner,
    /// Rebuilds of projections whose live generation an older revision built.
    upgrades: JoinHandle<()>,
}

impl SqlProjections {
    /// Starts a runner per SQL projection (on PostgreSQL, each leads only
    /// where it holds the lock), and rebuilds in the background any whose
    /// live generation an older revision of its code built: reads keep
    /// answering from that generation until the new one is complete.
    pub fn start<L: EventLog>(store: L, db: Db, options: RunnerOptions) -> Self {
        let upgrades = tokio::spawn(rebuild_outdated(store.clone(), db.clone(), options.batch_size));
        Self {
            inbox: ProjectionRunner::spawn(store.clone(), db.clone(), InboxProjection, options.clone()),
            call_log: ProjectionRunner::spawn(store, db, CallLogProjection, options),
            upgrades,
        }
    }

    /// Waits until every SQL read model reflects `position`; false if `timeout` passes first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let (inbox, call_log) =
            tokio::join!(self.inbox.wait_for(position, timeout), self.call_log.wait_for(position, timeout));
        inbox && call_log
    }

    pub async fn stop(self) {
        // A rebuild cut short leaves a generation that is not live; the next one starts afresh.
        self.upgrades.abort();
        tokio::join!(self.inbox.stop(), self.call_log.stop());
    }
}

async fn rebuild_outdated<L: EventLog>(store: L, db: Db, batch_size: usize) {
    if let Err(error) = rebuild_if_outdated(&store, &db, &InboxProjection, batch_size).await {
        tracing::error!(%error, projection = InboxProjection::NAME, "could not rebuild at the new revision");
    }
    if let Err(error) = rebuild_if_outdated(&store, &db, &CallLogProjection, batch_size).await {
        tracing::error!(%error, projection = CallLogProjection::NAME, "could not rebuild at the new revision");
    }
}

/// Rebuilds the SQL projection named `name`, or every one when `None`, one after the other.
pub async fn rebuild_named<L: EventLog>(
    store: &L,
    db: &Db,
    name: Option<&str>,
    batch_size: usize,
) -> Result<Vec<RebuildOutcome>, ProjectionError> {
    if let Some(unknown) = name.filter(|name| !SQL_PROJECTIONS.contains(name)) {
        return Err(ProjectionError::UnknownProjection(unknown.to_owned()));
    }
    let wanted = |projection: &str| name.is_none_or(|name| name == projection);
    let mut outcomes = Vec::new();
    if wanted(InboxProjection::NAME) {
        outcomes.push(rebuild(store, db, &InboxProjection, batch_size).await?);
    }
    if wanted(CallLogProjection::NAME) {
        outcomes.push(rebuild(store, db, &CallLogProjection, batch_size).await?);
    }
    Ok(outcomes)
}
