//! Checkpoints and generations: how far each projection has read the log, and which of its builds is live.
//!
//! `projection_generations` names, per projection, the generation reads use
//! (`live_generation`) and the one a rebuild is writing, if any.
//! `projection_checkpoints` holds the position applied by each generation.
//!
//! A batch's rows and its checkpoint are written in one transaction, and the
//! checkpoint only moves from the position the writer read it at (a
//! compare-and-set). So a crash never applies an event twice or skips one,
//! and a runner that lost its lock without knowing it (or whose generation a
//! rebuild replaced) writes nothing: its transaction finds the checkpoint
//! moved and rolls back.

use vigie_eventstore::{StoredEvent, category_of};

use super::error::ProjectionError;
use super::projection::{SqlProjection, SqlValue, Tx};
use crate::db::Db;

/// Runs `$body` (which uses `$tx`, a [`Tx`]) in a transaction on `$db`:
/// committed if it answers `Ok`, rolled back otherwise.
macro_rules! in_transaction {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let mut transaction = pool.begin().await?;
                let result = {
                    let mut $tx = $crate::sql::Tx::Sqlite(&mut *transaction);
                    $body
                };
                match result {
                    Ok(value) => transaction.commit().await.map(|()| value).map_err(Into::into),
                    Err(error) => {
                        transaction.rollback().await?;
                        Err(error)
                    }
                }
            }
            $crate::db::Db::Postgres(pool) => {
                let mut transaction = pool.begin().await?;
                let result = {
                    let mut $tx = $crate::sql::Tx::Postgres(&mut *transaction);
                    $body
                };
                match result {
                    Ok(value) => transaction.commit().await.map(|()| value).map_err(Into::into),
                    Err(error) => {
                        transaction.rollback().await?;
                        Err(error)
                    }
                }
            }
        }
    };
}
pub(crate) use in_transaction;

/// The generation reads use, the position it has applied, and the revision of the code that built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveState {
    pub generation: i64,
    pub position: u64,
    pub revision: i64,
}

/// Makes sure the projection has a live generation (1 at first, built by
/// this revision of its code) and a checkpoint for it.
pub(crate) async fn register<P: SqlProjection>(db: &Db) -> Result<(), ProjectionError> {
    in_transaction!(db, |tx| register_in(&mut tx, P::NAME, P::REVISION).await)
}

async fn register_in(tx: &mut Tx<'_>, name: &str, revision: i64) -> Result<(), ProjectionError> {
    tx.execute(
        "INSERT INTO projection_generations (name, live_generation, live_revision) VALUES ($1, 1, $2)
         ON CONFLICT (name) DO NOTHING",
        &[name.into(), revision.into()],
    )
    .await?;
    let name = [SqlValue::from(name)];
    tx.execute(
        "INSERT INTO projection_checkpoints (name, generation, position)
         SELECT name, live_generation, 0 FROM projection_generations WHERE name = $1
         ON CONFLICT (name, generation) DO NOTHING",
        &name,
    )
    .await?;
    Ok(())
}

/// The live generation of a projection and its checkpoint; generation 1 at
/// position 0 for a projection that has never run.
pub async fn live_state(db: &Db, name: &str) -> Result<LiveState, ProjectionError> {
    let row: Option<(i64, i64, i64)> =
        crate::on_db!(db, |pool| sqlx::query_as(LIVE_STATE).bind(name).fetch_optional(pool).await)?;
    Ok(row.map_or(LiveState { generation: 1, position: 0, revision: 0 }, live_state_from))
}

/// [`live_state`], registering the projection first if it has never run.
pub(crate) async fn live_state_of<P: SqlProjection>(db: &Db) -> Result<LiveState, ProjectionError> {
    let row: Option<(i64, i64, i64)> =
        crate::on_db!(db, |pool| sqlx::query_as(LIVE_STATE).bind(P::NAME).fetch_optional(pool).await)?;
    match row {
        Some(row) => Ok(live_state_from(row)),
        None => {
            register::<P>(db).await?;
            live_state(db, P::NAME).await
        }
    }
}

fn live_state_from((generation, position, revision): (i64, i64, i64)) -> LiveState {
    LiveState { generation, position: to_position(position), revision }
}

const LIVE_STATE: &str = "SELECT g.live_generation, c.position, g.live_revision
                            FROM projection_generations g
                            JOIN projection_checkpoints c ON c.name = g.name AND c.generation = g.live_generation
                           WHERE g.name = $1";

/// The revision of the code that built the projection's live generation; `None` if it has never run.
pub(crate) async fn live_revision(db: &Db, name: &str) -> Result<Option<i64>, ProjectionError> {
    let sql = "SELECT live_revision FROM projection_generations WHERE name = $1";
    Ok(crate::on_db!(db, |pool| sqlx::query_scalar(sql).bind(name).fetch_optional(pool).await)?)
}

/// Applies `events` (those of the projection's categories among a page read
/// from the log) to `generation`, and moves its checkpoint from `from` to
/// `to`, the last position read, all in one transaction.
///
/// Answers [`ProjectionError::Superseded`] when the checkpoint is no longer at
/// `from`: someone else applied these events, so nothing is written.
pub(crate) async fn apply_batch<P: SqlProjection>(
    db: &Db,
    projection: &P,
    generation: i64,
    from: u64,
    to: u64,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    in_transaction!(db, |tx| apply_in(&mut tx, projection, generation, from, to, events).await)
}

async fn apply_in<P: SqlProjection>(
    tx: &mut Tx<'_>,
    projection: &P,
    generation: i64,
    from: u64,
    to: u64,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    // The checkpoint first: on PostgreSQL its row lock makes a competing
    // writer wait here and then find it moved; on SQLite it takes the write
    // lock at the start rather than upgrading a read transaction later.
    move_checkpoint(tx, P::NAME, generation, from, to).await?;
    for event in events.iter().filter(|event| is_read_by::<P>(event)) {
        projection.apply(tx, event, generation).await?;
    }
    Ok(())
}

/// Moves a checkpoint from `from` to `to`, or fails if it is not at `from`.
pub(crate) async fn move_checkpoint(
    tx: &mut Tx<'_>,
    name: &'static str,
    generation: i64,
    from: u64,
    to: u64,
) -> Result<(), ProjectionError> {
    let moved = tx
        .execute(
            "UPDATE projection_checkpoints SET position = $1
              WHERE name = $2 AND generation = $3 AND position = $4",
            &[to_sql(to), name.into(), generation.into(), to_sql(from)],
        )
        .await?;
    if moved == 1 { Ok(()) } else { Err(ProjectionError::Superseded(name)) }
}

/// Whether the projection reads this event's stream.
pub(crate) fn is_read_by<P: SqlProjection>(event: &StoredEvent) -> bool {
    category_of(&event.stream_id).is_ok_and(|category| P::CATEGORIES.contains(&category))
}

pub(crate) fn to_sql(position: u64) -> SqlValue {
    SqlValue::Int(Some(i64::try_from(position).unwrap_or(i64::MAX)))
}

pub(crate) fn to_position(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or_default()
}
