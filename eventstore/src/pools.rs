//! Connection pool settings shared by the log and the read models beside it.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;

/// How long a pooled PostgreSQL connection may sit unused before it is tested again.
const TEST_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// A PostgreSQL pool that tests a connection before lending it only if it sat idle a while.
///
/// sqlx pings a connection when it is given back (the ping also flushes
/// whatever a cancelled query left behind) and, by default, again before
/// lending it: a second round trip ahead of every query. Without the second
/// one, a lone change over HTTP took 1.5 ms instead of 1.9-2.4 (BENCHMARKS.md,
/// session 9). A connection given back moments ago passed the first ping;
/// one idle for longer may have been cut (a server restart, a firewall's
/// idle timeout), so it is still tested.
pub fn postgres_pool() -> PgPoolOptions {
    PgPoolOptions::new().test_before_acquire(false).before_acquire(|connection, metadata| {
        Box::pin(async move {
            if metadata.idle_for >= TEST_WHEN_IDLE_FOR {
                connection.ping().await?;
            }
            Ok(true)
        })
    })
}

/// A SQLite pool that lends connections without testing them first.
///
/// A SQLite connection cannot break the way a network one can, and each
/// test is a round trip to the thread sqlx runs the connection on: without
/// them, a lone change over HTTP took 1.4 ms instead of 1.9 (medians), and an
/// inbox read 0.57-0.65 ms instead of 0.66-0.83 (BENCHMARKS.md, session 9).
pub fn sqlite_pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// Whether an error says the database could not be reached (restarting, a
/// lost connection, no free connection in time), rather than that it refused
/// the request. After PostgreSQL restarts, each connection a pool holds fails
/// its next query this way once, since pools do not test every connection
/// before lending it (above).
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's classes 08 (connection exception) and 57P (the server
        // shutting down, restarting or not yet accepting connections).
        sqlx::Error::Database(refusal) => {
            refusal.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}
