//! Read-only connections kept ready for reads, without sqlx's pool round trips.
//!
//! sqlx's pool pings a SQLite connection on its worker thread every time the
//! connection goes back, from a task it spawns for the purpose: a round trip
//! between threads per query, which a page of the log (a handful of queries)
//! and a point lookup both pay. A connection to a local file has nothing to
//! test, so these are simply handed out and put back.

use std::sync::Mutex;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::StoreError;

/// Up to `max` read-only connections, opened as they are first needed.
#[derive(Debug)]
pub(super) struct Readers {
    connect: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
}

/// A connection lent to one read; it goes back to the set when dropped.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    conn: Option<SqliteConnection>,
    readers: &'a Readers,
    _permit: SemaphorePermit<'a>,
}

impl Readers {
    pub(super) fn new(connect: SqliteConnectOptions, max: u32) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        Self {
            connect: connect.read_only(true),
            idle: Mutex::new(Vec::with_capacity(max)),
            permits: Semaphore::new(max),
        }
    }

    /// Waits for a free connection, opening one if none is idle.
    pub(super) async fn acquire(&self) -> Result<Reader<'_>, StoreError> {
        let permit = self.permits.acquire().await.expect("the readers' semaphore is never closed");
        let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect.connect().await?,
        };
        Ok(Reader { conn: Some(conn), readers: self, _permit: permit })
    }
}

impl std::ops::Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("a lent connection is only taken back on drop")
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("a lent connection is only taken back on drop")
    }
}

impl Drop for Reader<'_> {
    /// A read dropped halfway leaves at most a query the connection's worker
    /// is still stepping; the next command queues behind it, and that query's
    /// rows go nowhere, so the connection can be lent again at once.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(conn);
        }
    }
}
