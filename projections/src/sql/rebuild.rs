//! Rebuilding a projection from the start of the log while the live one keeps serving.
//!
//! The new rows are written as generation g+1 beside the live generation g,
//! which reads keep using. Once g+1 has caught up with the log (and with the
//! live generation's own checkpoint, so that no position already published
//! goes missing), one transaction makes g+1 live and drops g's checkpoint;
//! a runner still applying g then finds its checkpoint gone, reloads and goes
//! on with g+1. Finally g's rows are deleted.

use vigie_eventstore::EventLog;

use super::checkpoint::{self, in_transaction, to_position, to_sql};
use super::error::ProjectionError;
use super::leadership::Leadership;
use super::projection::{SqlProjection, Tx};
use crate::db::Db;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildOutcome {
    pub name: &'static str,
    /// The generation that was live before, now deleted.
    pub previous_generation: i64,
    /// The generation built, now live.
    pub generation: i64,
    /// The log position the new generation had applied when it went live.
    pub position: u64,
}

/// Rebuilds `projection` from position 0 as a new generation, then makes it live.
///
/// Reads keep answering from the old generation until the switch. Only one
/// rebuild of a projection runs at a time (on PostgreSQL, across nodes:
/// another answers [`ProjectionError::RebuildInProgress`]). Starting a rebuild
/// throws away whatever an interrupted one had written.
pub async fn rebuild<L: EventLog, P: SqlProjection>(
    store: &L,
    db: &Db,
    projection: &P,
    batch_size: usize,
) -> Result<RebuildOutcome, ProjectionError> {
    checkpoint::register::<P>(db).await?;
    let lock = format!("projection-rebuild:{}", P::NAME);
    let Some(leadership) = Leadership::try_acquire(db, &lock).await? else {
        return Err(ProjectionError::RebuildInProgress(P::NAME));
    };
    let outcome = build_and_switch(store, db, projection, batch_size.max(1)).await;
    leadership.release().await;
    outcome
}

async fn build_and_switch<L: EventLog, P: SqlProjection>(
    store: &L,
    db: &Db,
    projection: &P,
    batch_size: usize,
) -> Result<RebuildOutcome, ProjectionError> {
    let live = in_transaction!(db, |tx| start_building(&mut tx, P::NAME, P::TABLES).await)?;
    let building = live + 1;
    tracing::info!(projection = P::NAME, generation = building, "rebuilding");
    let mut position = 0;
    // The live generation's checkpoint, as last seen by a refused switch.
    let mut live_position = 0;
    loop {
        let page = store.read_all(position, batch_size).await?;
        if let Some(last) = page.last() {
            checkpoint::apply_batch(db, projection, building, position, last.position, &page).await?;
            position = last.position;
        }
        if page.len() == batch_size {
            continue;
        }
        if live_position > position {
            // Every event up to `live_position` was committed before this read
            // began, so the read returned all of them that still exist: the
            // ones it did not return have been purged since the live
            // generation applied them.
            in_transaction!(db, |tx| {
                checkpoint::move_checkpoint(&mut tx, P::NAME, building, position, live_position).await
            })?;
            position = live_position;
        }
        match in_transaction!(db, |tx| switch(&mut tx, P::NAME, P::REVISION, live, position).await)? {
            Switch::Done => break,
            Switch::Behind(at) => live_position = at,
        }
    }
    for table in P::TABLES {
        let delete = format!("DELETE FROM {table} WHERE generation = $1");
        crate::on_db!(db, |pool| sqlx::query(&delete).bind(live).execute(pool).await.map(|_| ()))?;
    }
    tracing::info!(projection = P::NAME, generation = building, position, "rebuilt; the new generation is live");
    Ok(RebuildOutcome { name: P::NAME, previous_generation: live, generation: building, position })
}

/// Rebuilds `projection` if its live generation was built by an older revision
/// of its code ([`SqlProjection::REVISION`]); answers what the rebuild did, or
/// `None` when there was nothing to do, or another node is already at it.
pub async fn rebuild_if_outdated<L: EventLog, P: SqlProjection>(
    store: &L,
    db: &Db,
    projection: &P,
    batch_size: usize,
) -> Result<Option<RebuildOutcome>, ProjectionError> {
    match checkpoint::live_revision(db, P::NAME).await? {
        Some(revision) if revision < P::REVISION => {
            tracing::info!(projection = P::NAME, from = revision, to = P::REVISION, "rebuilding at a new revision");
        }
        // Never run (its first run builds it at this revision), current, or newer (a later node's code).
        _ => return Ok(None),
    }
    match rebuild(store, db, projection, batch_size).await {
        Ok(outcome) => Ok(Some(outcome)),
        Err(ProjectionError::RebuildInProgress(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Marks generation live+1 as building, empty and at position 0; answers the live generation.
async fn start_building(tx: &mut Tx<'_>, name: &'static str, tables: &[&str]) -> Result<i64, ProjectionError> {
    let live = tx
        .fetch_optional_i64(
            "UPDATE projection_generations SET building_generation = live_generation + 1
              WHERE name = $1 RETURNING live_generation",
            &[name.into()],
        )
        .await?
        .ok_or(ProjectionError::Superseded(name))?;
    // Whatever is neither live nor about to be built is left over from an
    // interrupted rebuild (or a switch whose clean-up did not finish).
    for table in tables {
        tx.execute(&format!("DELETE FROM {table} WHERE generation <> $1"), &[live.into()]).await?;
    }
    tx.execute("DELETE FROM projection_checkpoints WHERE name = $1 AND generation <> $2", &[name.into(), live.into()])
        .await?;
    tx.execute(
        "INSERT INTO projection_checkpoints (name, generation, position) VALUES ($1, $2, 0)",
        &[name.into(), (live + 1).into()],
    )
    .await?;
    Ok(live)
}

enum Switch {
    Done,
    /// The live generation has applied more than the new one: read on first.
    Behind(u64),
}

/// Makes generation live+1 (at `position`) the live one, unless the live one is further on.
async fn switch(
    tx: &mut Tx<'_>,
    name: &'static str,
    revision: i64,
    live: i64,
    position: u64,
) -> Result<Switch, ProjectionError> {
    // A write that changes nothing, to hold the live checkpoint still (a
    // runner's batch waits for it) until this transaction ends.
    let live_position = tx
        .fetch_optional_i64(
            "UPDATE projection_checkpoints SET position = position
              WHERE name = $1 AND generation = $2 RETURNING position",
            &[name.into(), live.into()],
        )
        .await?
        .map_or(0, to_position);
    if live_position > position {
        return Ok(Switch::Behind(live_position));
    }
    let switched = tx
        .execute(
            "UPDATE projection_generations SET live_generation = $1, building_generation = NULL, live_revision = $4
              WHERE name = $2 AND live_generation = $3 AND building_generation = $1",
            &[(live + 1).into(), name.into(), live.into(), revision.into()],
        )
        .await?;
    if switched != 1 {
        return Err(ProjectionError::Superseded(name));
    }
    let at_position = tx
        .fetch_optional_i64(
            "SELECT position FROM projection_checkpoints WHERE name = $1 AND generation = $2 AND position = $3",
            &[name.into(), (live + 1).into(), to_sql(position)],
        )
        .await?;
    if at_position.is_none() {
        return Err(ProjectionError::Superseded(name));
    }
    tx.execute("DELETE FROM projection_checkpoints WHERE name = $1 AND generation = $2", &[name.into(), live.into()])
        .await?;
    Ok(Switch::Done)
}
