//! The raw SQLite reference loop of `sqlite_raw.py`, written through sqlx.
//!
//! One INSERT per commit into the same one-index table, WAL with
//! `synchronous=FULL`, with nothing of Vigie's in between. Beside the Python
//! loop it shows what sqlx's SQLite driver, which runs every connection on a
//! thread of its own, costs a lone writer by itself: the part of the gap to
//! the raw rate that no change inside the event log can remove.
//!
//! `cargo bench -p vigie-eventstore --bench sqlite_sqlx_raw -- [SECONDS] [--current-thread]`

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = args.iter().find_map(|a| a.parse::<f64>().ok()).unwrap_or(5.0);
    // A runtime of one thread takes the runtime's own hand-overs out, to show
    // what is left: the driver's thread.
    let mut runtime = if args.iter().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = runtime.enable_all().build().expect("a runtime");
    let flavor = if args.iter().any(|a| a == "--current-thread") { "current-thread" } else { "multi-thread" };
    let (rows, elapsed) = runtime.block_on(insert_loop(Duration::from_secs_f64(seconds)));
    println!(
        "sqlx sqlite insert loop into one table, 1 per commit (WAL, synchronous=FULL, {flavor} runtime): \
         {rows} rows in {:.2} s = {:.0} rows/s",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
}

async fn insert_loop(length: Duration) -> (u64, Duration) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut conn = SqliteConnectOptions::new()
        .filename(dir.path().join("raw.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .expect("a SQLite file");
    sqlx::query(
        "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL,
                              type TEXT NOT NULL, data TEXT NOT NULL, recorded_at INTEGER NOT NULL,
                              UNIQUE (stream_id, version))",
    )
    .execute(&mut conn)
    .await
    .expect("the table");
    let insert =
        "INSERT INTO events (stream_id, version, type, data, recorded_at) VALUES (?, 1, 'ContactCommented', ?, ?)";
    // Random stream names, as the Python loop's uuid4, so the index takes them anywhere.
    let random = std::hash::RandomState::new();
    let (start, mut rows) = (Instant::now(), 0u64);
    while start.elapsed() < length {
        let stream = uuid::Uuid::from_u64_pair(random.hash_one(rows), random.hash_one(!rows));
        let data =
            serde_json::json!({"shift_id": uuid::Uuid::now_v7(), "contact_id": uuid::Uuid::now_v7(), "comment": null});
        // Autocommit: the statement is its own transaction, one fsync each, as
        // the Python loop's BEGIN, INSERT, COMMIT.
        sqlx::query(insert)
            .bind(format!("shift-{stream}"))
            .bind(data.to_string())
            .bind(chrono::Utc::now().timestamp_micros())
            .execute(&mut conn)
            .await
            .expect("an insert");
        rows += 1;
    }
    let elapsed = start.elapsed();
    conn.close().await.expect("a clean close");
    (rows, elapsed)
}
