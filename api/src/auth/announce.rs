//! Ended sessions announced to every node sharing a PostgreSQL database, so a logout is at once a logout everywhere.
//!
//! Each node trusts a session it checked for a few seconds (see
//! [`cache`](super::cache)). A logout through one node deletes the session
//! and tells that node's memory; without this, every other node would go on
//! accepting the token until its memory of it aged out. So the ending node
//! announces the session's hash on [`CHANNEL`], and every node listening
//! forgets it. A node that stops listening (its connection lost) may have
//! missed announcements, so it forgets every session it remembers then.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::cache::SessionCache;

/// The channel ended sessions' token hashes are announced on.
pub const CHANNEL: &str = "vigie_sessions";

/// How long a node waits before listening again after its connection failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Listens for ended sessions and forgets them, until dropped.
#[derive(Debug)]
pub struct SessionEnds {
    task: JoinHandle<()>,
}

impl SessionEnds {
    /// Starts listening through a connection of `pool` (a pool of its own: the listener keeps it).
    pub fn listen(pool: PgPool, cache: Arc<SessionCache>) -> Self {
        Self { task: tokio::spawn(forget_announced(pool, cache)) }
    }
}

impl Drop for SessionEnds {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forget_announced(pool: PgPool, cache: Arc<SessionCache>) {
    loop {
        if let Err(error) = listen(&pool, &cache).await {
            tracing::warn!(%error, "not hearing of sessions ended through other nodes; trying again");
        }
        cache.clear();
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// Forgets each announced session for as long as the connection lasts.
async fn listen(pool: &PgPool, cache: &SessionCache) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // What was remembered before listening began may have ended unheard.
    cache.clear();
    // `try_recv` answers `None` when the connection was lost, where `recv`
    // would connect again and carry on as if nothing had been missed.
    while let Some(announcement) = listener.try_recv().await? {
        cache.forget(announcement.payload());
    }
    Ok(())
}
