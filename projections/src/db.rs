//! A connection pool to the database that holds the log, for the read models and credentials beside it.
//!
//! Read models use the same SQL on both back ends where they can: sqlx accepts
//! `$1`-style parameters on SQLite too. Ids are stored as text and instants as
//! microseconds since the Unix epoch, which both back ends sort and compare
//! the same way. [`on_db!`] runs one expression against whichever pool this is.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use vigie_eventstore::redact_url;

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

impl Db {
    /// Connects to the database at `url` (the same URL as the event store's,
    /// which must have been opened first: it applies the migrations).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                // SQLite's default 2 MiB page cache per connection, times ten connections, is
                // 20 MiB of the server's memory for pages the operating system caches anyway.
                .pragma("cache_size", "-256");
            Ok(Db::Sqlite(SqlitePoolOptions::new().max_connections(max_connections).connect_with(options).await?))
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|e| sqlx::Error::Configuration(format!("{}: {e}", redact_url(url)).into()))?;
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
