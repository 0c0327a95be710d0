//! A child process for the event log's tests: many writers appending at once,
//! printing a line for every append the log acknowledged.
//!
//! `log-writer URL LABEL WRITERS APPENDS_PER_WRITER EVENTS_PER_APPEND`
//! prints `ack STREAM_ID FIRST_POSITION LAST_POSITION` per acknowledged append,
//! flushed at once, so a parent that kills this process knows exactly which
//! appends were acknowledged before it died.

use std::io::Write;

use vigie_eventstore::{AppendRequest, EventLog, EventStore, ExpectedVersion, NewEvent, StoreOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, label, writers, appends, events] = args.as_slice() else {
        anyhow::bail!("usage: log-writer URL LABEL WRITERS APPENDS_PER_WRITER EVENTS_PER_APPEND");
    };
    let (writers, appends, events): (usize, usize, usize) = (writers.parse()?, appends.parse()?, events.parse()?);
    let store = EventStore::open(url, StoreOptions::default()).await?;

    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        let label = label.clone();
        tasks.push(tokio::spawn(async move {
            for append in 0..appends {
                let stream_id = format!("test-{label}.{writer}.{append}");
                let batch = (0..events)
                    .map(|n| {
                        NewEvent::new("Written", 1, &serde_json::json!({ "writer": writer, "append": append, "n": n }))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let outcome = store.append(AppendRequest::new(&stream_id, ExpectedVersion::NoStream, batch)).await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "ack {stream_id} {} {}", outcome.first_position, outcome.last_position)?;
                out.flush()?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
