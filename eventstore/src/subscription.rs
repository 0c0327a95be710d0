//! Catch-up subscriptions: read the log from a position, then follow it live.
//!
//! The log commits in position order (see the migrations), so paging by
//! "position > last delivered" never skips an event and never repeats one.
//! Live delivery waits on the store's head position, which moves when this
//! process commits or (PostgreSQL) when another process's NOTIFY arrives; a
//! slow poll covers what no notification reaches, such as another process
//! writing the same SQLite file or a dropped LISTEN connection. What this
//! process has just committed comes from memory (`EventLog::read_new`).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::StoredEvent;
use crate::store::EventLog;

/// How many events one read of the log fetches.
const PAGE_SIZE: usize = 1000;

/// A live, ordered feed of the log's events, starting after a position.
#[derive(Debug)]
pub struct Subscription {
    pages: mpsc::Receiver<Page>,
    buffered: VecDeque<StoredEvent>,
    /// How far the pages received so far reach.
    through: u64,
    reader: JoinHandle<()>,
}

/// Events read from the log, and how far the log is read with them: past the last event when
/// the newest positions hold none (purged, or handed to an append that failed).
#[derive(Debug, Default)]
pub struct Page {
    pub events: Vec<StoredEvent>,
    pub through: u64,
}

impl Subscription {
    /// The next event. Waits for one when the subscription has caught up;
    /// `None` only once the store is gone.
    pub async fn next(&mut self) -> Option<StoredEvent> {
        while self.buffered.is_empty() {
            self.buffered = self.receive().await?.events.into();
        }
        self.buffered.pop_front()
    }

    /// The events already fetched but not yet taken, and then the next page,
    /// for consumers that apply events in batches.
    pub async fn next_batch(&mut self) -> Option<Vec<StoredEvent>> {
        loop {
            let page = self.next_page().await?;
            if !page.events.is_empty() {
                return Some(page.events);
            }
        }
    }

    /// [`next_batch`](Self::next_batch), with how far the log is read: a page may hold no
    /// events at all, only the news that the positions up to `through` will never hold any.
    pub async fn next_page(&mut self) -> Option<Page> {
        if !self.buffered.is_empty() {
            return Some(Page { events: self.buffered.drain(..).collect(), through: self.through });
        }
        self.receive().await
    }

    async fn receive(&mut self) -> Option<Page> {
        let page = self.pages.recv().await?;
        self.through = self.through.max(page.through);
        Some(page)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

pub(crate) fn spawn(log: impl EventLog, after: u64, head: watch::Receiver<u64>, poll: Duration) -> Subscription {
    // A few pages in flight let reading and applying overlap without letting a
    // slow consumer buffer the whole log in memory.
    let (pages, receiver) = mpsc::channel(4);
    let reader = tokio::spawn(follow(log, after, head, poll, pages));
    Subscription { pages: receiver, buffered: VecDeque::new(), through: after, reader }
}

async fn follow(
    log: impl EventLog,
    mut last: u64,
    mut head: watch::Receiver<u64>,
    poll: Duration,
    pages: mpsc::Sender<Page>,
) {
    let mut told_through = last;
    while !pages.is_closed() {
        // Note the head before reading, so a commit that lands during the read
        // still ends the wait below at once.
        let known_head = *head.borrow_and_update();
        let events = match log.read_new(last, PAGE_SIZE).await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, after = last, "subscription could not read the log; retrying");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        // An empty read always waits, even below the head: the head may name
        // a position no read will ever return, such as a purged event.
        let caught_up = events.len() < PAGE_SIZE && events.last().is_none_or(|e| e.position >= known_head);
        if let Some(newest) = events.last() {
            last = newest.position;
        }
        // The head was committed before the read began, and the log commits in position
        // order, so what the read did not return up to the head will never be there.
        let through = if caught_up { last.max(known_head) } else { last };
        if !events.is_empty() || through > told_through {
            told_through = through;
            if pages.send(Page { events, through }).await.is_err() {
                return; // the subscriber is gone
            }
        }
        if caught_up {
            wait_for_news(&mut head, poll, &pages).await;
        }
    }
}

/// Waits until the head moves, the poll interval passes, or the subscriber leaves.
async fn wait_for_news(head: &mut watch::Receiver<u64>, poll: Duration, pages: &mpsc::Sender<Page>) {
    tokio::select! {
        changed = head.changed() => {
            if changed.is_err() {
                // The store is gone; polling still finds what other processes write.
                tokio::time::sleep(poll).await;
            }
        }
        _ = tokio::time::sleep(poll) => {}
        _ = pages.closed() => {}
    }
}
