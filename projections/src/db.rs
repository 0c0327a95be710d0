//! A connection pool to the database that holds the log, for the read models and credentials beside it.
//!
//! Read models use the same SQL on both back ends where they can: sqlx accepts
//! `$1`-style parameters on SQLite too. Ids are stored as text and instants as
//! microseconds since the Unix epoch, which both back ends sort and compare
//! the same way. [`on_db!`] runs one expression against whichever pool this is.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use vigie_eventstore::{pools, redact_url};

/// A pool on the log's database.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool of `$db`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Whether a pool's commits wait for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A commit is on disk before it is acknowledged: credentials, sessions, recordings.
    Durable,
    /// A power cut may undo the last commits, never corrupt the database: for
    /// read models, which write the position they applied in the same
    /// transaction as their rows, and so replay from the log whatever was
    /// undone. Their commits then cost no fsync of their own (SQLite:
    /// `synchronous=NORMAL` in WAL mode; PostgreSQL: `synchronous_commit=off`),
    /// which matters because every event the log takes is one of their
    /// commits too, on the same disk.
    Rebuildable,
}

impl Db {
    /// Connects to the database at `url` (the same URL as the event store's,
    /// which must have been opened first: it applies the migrations).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        Self::connect_with(url, max_connections, Durability::Durable).await
    }

    /// Connects as [`connect`](Self::connect) does, with commits as durable as `durability` says.
    pub async fn connect_with(url: &str, max_connections: u32, durability: Durability) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let synchronous = match durability {
                Durability::Durable => SqliteSynchronous::Full,
                Durability::Rebuildable => SqliteSynchronous::Normal,
            };
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(Duration::from_secs(30))
                // SQLite's default 2 MiB page cache per connection, times ten connections, is
                // 20 MiB of the server's memory for pages the operating system caches anyway.
                .pragma("cache_size", "-256");
            Ok(Db::Sqlite(pools::sqlite_pool().max_connections(max_connections).connect_with(options).await?))
        } else {
            let unreachable = |e: sqlx::Error| sqlx::Error::Configuration(format!("{}: {e}", redact_url(url)).into());
            let mut options = PgConnectOptions::from_str(url).map_err(unreachable)?;
            if durability == Durability::Rebuildable {
                options = options.options([("synchronous_commit", "off")]);
            }
            let pool = pools::postgres_pool()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            Ok(Db::Postgres(pool))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

/// Microseconds since the Unix epoch, as the read models store instants.
pub fn to_micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

/// The instant stored as microseconds since the Unix epoch.
pub fn from_micros(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
