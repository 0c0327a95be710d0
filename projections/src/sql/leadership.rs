//! Which node runs a projection: on PostgreSQL, the one holding its advisory lock; on SQLite, the only node.
//!
//! The lock is a session-level advisory lock held on a connection of its own,
//! taken out of the pool: if the node dies or loses its connection, the
//! session ends, PostgreSQL releases the lock and another node takes over.
//! The lock only saves work; correctness does not rest on it, because every
//! batch also checks the checkpoint it started from (see `checkpoint`).

use sqlx::{Connection, PgConnection};

use crate::db::Db;

/// The first key of every projection lock, so they never collide with the
/// log's own advisory lock (a single-key lock, a separate key space anyway).
const LOCK_CLASS: i32 = 1_986_619_242;

/// The right to run one projection (or one rebuild) until released.
#[derive(Debug)]
pub(crate) enum Leadership {
    /// SQLite: one node, nobody to compete with.
    Sole,
    /// PostgreSQL: the connection whose session holds the lock.
    Postgres { connection: PgConnection, lock_name: String },
}

impl Leadership {
    /// Takes the lock named `lock_name` if nobody holds it; `None` if somebody does.
    pub(crate) async fn try_acquire(db: &Db, lock_name: &str) -> Result<Option<Self>, sqlx::Error> {
        let Db::Postgres(pool) = db else { return Ok(Some(Self::Sole)) };
        let mut connection = pool.acquire().await?;
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(lock_name)
            .fetch_one(&mut *connection)
            .await?;
        if acquired {
            // The session now holds the lock: it must never serve other
            // queries from the pool, nor go back to it.
            Ok(Some(Self::Postgres { connection: connection.detach(), lock_name: lock_name.to_owned() }))
        } else {
            // Holding nothing, the connection goes back to the pool as it came.
            Ok(None)
        }
    }

    /// Whether the lock's session is still alive (and so the lock still held).
    pub(crate) async fn is_held(&mut self) -> bool {
        match self {
            Self::Sole => true,
            Self::Postgres { connection, .. } => connection.ping().await.is_ok(),
        }
    }

    /// Gives the lock up at once, so another node need not wait for a timeout.
    pub(crate) async fn release(self) {
        if let Self::Postgres { mut connection, lock_name } = self {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
                .bind(LOCK_CLASS)
                .bind(&lock_name)
                .execute(&mut connection)
                .await;
            if let Err(error) = unlocked {
                tracing::debug!(%error, lock_name, "could not unlock; closing the session releases it");
            }
            let _ = connection.close().await;
        }
    }
}
