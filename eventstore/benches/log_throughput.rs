//! Throughput of the event log on each back end: durable appends, batches,
//! reading the whole log, and a catch-up subscription.
//!
//! `cargo bench -p vigie-eventstore --bench log_throughput -- [sqlite|postgres] [--seconds N] [--cases a,b,...] [--current-thread]`
//! Cases: `append1` (1 writer, 1 event per append), `append16` and `append32`
//! (concurrent writers), `batch50` (1 writer, 50 events per append), `read`
//! (the whole global log in pages of 1000, at least 200,000 events, the
//! median of five passes) and
//! `catchup` (a subscription from 0 over at least 1,000,000 events).
//! PostgreSQL: `VIGIE_BENCH_POSTGRES_URL` names the server (default: the local
//! unix socket as user postgres); the bench creates and drops `vigie_bench`.
//! The runtime has a worker per core, as the server's does; `--current-thread`
//! runs everything on one thread, as a program with a lone writer might.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use vigie_eventstore::{AppendRequest, EventLog, EventStore, ExpectedVersion, NewEvent, StoreOptions};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
struct Settings {
    backends: Vec<Backend>,
    seconds: f64,
    cases: Vec<String>,
    current_thread: bool,
}

fn settings() -> Settings {
    let mut settings = Settings {
        backends: vec![],
        seconds: 5.0,
        current_thread: false,
        cases: ["append1", "append16", "append32", "batch50", "read", "catchup"].map(String::from).to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "sqlite" => settings.backends.push(Backend::Sqlite),
            "postgres" => settings.backends.push(Backend::Postgres),
            "--seconds" => settings.seconds = args.next().and_then(|s| s.parse().ok()).expect("--seconds N"),
            "--current-thread" => settings.current_thread = true,
            "--cases" => settings.cases = args.next().expect("--cases a,b").split(',').map(String::from).collect(),
            _ => {} // cargo bench passes --bench
        }
    }
    if settings.backends.is_empty() {
        settings.backends = vec![Backend::Sqlite, Backend::Postgres];
    }
    settings
}

/// An event shaped like the peers' benchmark event.
fn event() -> NewEvent {
    NewEvent::new(
        "ContactCommented",
        1,
        &json!({"shift_id": Uuid::now_v7(), "contact_id": Uuid::now_v7(), "comment": null}),
    )
    .expect("a small JSON event")
}

/// A fresh, empty log; the guard removes it afterwards.
async fn fresh_store(backend: Backend) -> (EventStore, Box<dyn std::any::Any>) {
    let options = StoreOptions::default();
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir_in(std::env::var("VIGIE_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
                .expect("a folder for the bench database");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (EventStore::open(&url, options).await.expect("open SQLite"), Box::new(dir))
        }
        Backend::Postgres => {
            let server = std::env::var("VIGIE_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@localhost/postgres?host=/var/run/postgresql".into());
            let admin = sqlx::PgPool::connect(&server).await.expect("reach PostgreSQL");
            sqlx::query("DROP DATABASE IF EXISTS vigie_bench WITH (FORCE)").execute(&admin).await.unwrap();
            sqlx::query("CREATE DATABASE vigie_bench").execute(&admin).await.unwrap();
            let mut url = url::Url::parse(&server).expect("a PostgreSQL URL");
            url.set_path("vigie_bench");
            (EventStore::open(url.as_str(), options).await.expect("open PostgreSQL"), Box::new(admin))
        }
    }
}

/// `writers` tasks appending `per_append` events to new streams until time is up.
async fn timed_appends(
    store: &EventStore,
    writers: usize,
    per_append: usize,
    seconds: f64,
) -> (u64, Duration, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut written = 0u64;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let events = (0..per_append).map(|_| event()).collect();
                    let request =
                        AppendRequest::new(format!("shift-{}", Uuid::now_v7()), ExpectedVersion::NoStream, events);
                    let t = Instant::now();
                    store.append(request).await.expect("append");
                    latencies.push(t.elapsed());
                    written += per_append as u64;
                }
                (written, latencies)
            })
        })
        .collect();
    let mut total = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (written, mut l) = task.await.unwrap();
        total += written;
        latencies.append(&mut l);
    }
    latencies.sort();
    (total, started.elapsed(), latencies)
}

/// Fills the log up to `target` events with batches of 100.
async fn top_up(store: &EventStore, target: u64) {
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                while store.head_position().await.unwrap() < target {
                    let events = (0..100).map(|_| event()).collect();
                    let request =
                        AppendRequest::new(format!("shift-{}", Uuid::now_v7()), ExpectedVersion::NoStream, events);
                    store.append(request).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let settings = settings();
    let mut runtime = if settings.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = runtime.enable_all().build().expect("a runtime");
    let workers = runtime.metrics().num_workers();
    println!("runtime: {workers} worker thread(s)");
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    for &backend in &settings.backends {
        let (store, guard) = fresh_store(backend).await;
        let name = format!("{backend:?}").to_lowercase();
        for case in &settings.cases {
            let (writers, per_append) = match case.as_str() {
                "append1" => (1, 1),
                "append16" => (16, 1),
                "append32" => (32, 1),
                "batch50" => (1, 50),
                "read" => {
                    top_up(&store, 200_000).await;
                    // One pass takes a fraction of a second, so take the median of five.
                    let mut rates = Vec::new();
                    for _ in 0..5 {
                        let started = Instant::now();
                        let (mut after, mut count) = (0, 0u64);
                        loop {
                            let page = store.read_all(after, 1000).await.unwrap();
                            let Some(last) = page.last() else { break };
                            after = last.position;
                            count += page.len() as u64;
                        }
                        rates.push((count, count as f64 / started.elapsed().as_secs_f64()));
                    }
                    rates.sort_by(|a, b| a.1.total_cmp(&b.1));
                    let (count, median) = rates[2];
                    println!(
                        "{name} read: {count} events, median of 5 passes = {median:.0} events/s (slowest {:.0}, fastest {:.0})",
                        rates[0].1, rates[4].1
                    );
                    continue;
                }
                "catchup" => {
                    top_up(&store, 1_000_000).await;
                    let head = store.head_position().await.unwrap();
                    let started = Instant::now();
                    let mut subscription = store.subscribe(0);
                    let mut count = 0u64;
                    while let Some(batch) = subscription.next_batch().await {
                        count += batch.len() as u64;
                        if batch.last().is_some_and(|e| e.position >= head) {
                            break;
                        }
                    }
                    let elapsed = started.elapsed().as_secs_f64();
                    println!(
                        "{name} catchup: {count} events in {elapsed:.2} s = {:.0} events/s",
                        count as f64 / elapsed
                    );
                    continue;
                }
                other => panic!("unknown case {other}"),
            };
            let (events, elapsed, latencies) = timed_appends(&store, writers, per_append, settings.seconds).await;
            let rate = events as f64 / elapsed.as_secs_f64();
            println!(
                "{name} {case}: {events} events in {:.2} s = {rate:.0} events/s; append latency p50 {:.2} ms, p99 {:.2} ms",
                elapsed.as_secs_f64(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
            );
        }
        drop(store);
        drop(guard);
    }
}
