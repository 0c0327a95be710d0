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

impl Page {
    /// The page that `events`, read with `read_new(after, limit)`, make, with `known_head` the
    /// head noted before the read began; and whether the reader has caught up with the log.
    ///
    /// A short read caught up only if it reached the head: `read_new` answers from memory with
    /// this process's own commits, which stop short of another process's commits the head
    /// already counts. A short read that did reach it (or came back empty, which only the log
    /// answers) read everything committed up to the head, so the positions up to it that hold
    /// no event never will, and are read past.
    pub fn read(after: u64, events: Vec<StoredEvent>, limit: usize, known_head: u64) -> (Self, bool) {
        let last = events.last().map_or(after, |event| event.position);
        let reached_the_head = events.last().is_none_or(|event| event.position >= known_head);
        let caught_up = events.len() < limit && reached_the_head;
        let through = if caught_up { last.max(known_head) } else { last };
        (Page { events, through }, caught_up)
    }
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
        let (page, caught_up) = Page::read(last, events, PAGE_SIZE, known_head);
        if let Some(newest) = page.events.last() {
            last = newest.position;
        }
        if !page.events.is_empty() || page.through > told_through {
            told_through = page.through;
            if pages.send(page).await.is_err() {
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::value::RawValue;
    use uuid::Uuid;

    use super::Page;
    use crate::model::{Metadata, StoredEvent};

    fn at(position: u64) -> StoredEvent {
        StoredEvent {
            position,
            event_id: Uuid::now_v7(),
            stream_id: "schedule-1".into(),
            stream_version: position,
            event_type: "ShiftCommented".into(),
            schema_version: 1,
            data: RawValue::from_string("{}".into()).unwrap(),
            metadata: Metadata::default(),
            recorded_at: Utc::now(),
        }
    }

    fn read(after: u64, positions: &[u64], limit: usize, known_head: u64) -> (u64, bool) {
        let (page, caught_up) = Page::read(after, positions.iter().copied().map(at).collect(), limit, known_head);
        (page.through, caught_up)
    }

    #[test]
    fn a_short_read_that_reaches_the_head_reads_past_the_empty_positions_up_to_it() {
        assert_eq!(read(1, &[2, 3, 6], 10, 6), (6, true), "4 and 5 were purged: nothing will ever be read there");
        assert_eq!(read(5, &[], 10, 7), (7, true), "an empty read came from the log, which holds nothing up to 7");
    }

    #[test]
    fn a_short_read_that_stops_before_the_head_reads_on_from_its_last_event() {
        // This process committed 2 and 3 and answers them from memory; the head counts
        // another process's 4 and 5, which memory does not hold. Skipping to 5 would lose them.
        assert_eq!(read(1, &[2, 3], 10, 5), (3, false));
        assert_eq!(read(3, &[4, 5], 10, 5), (5, true));
    }

    #[test]
    fn a_full_page_is_never_caught_up() {
        assert_eq!(read(0, &[1, 2], 2, 2), (2, false));
        assert_eq!(read(0, &[1, 2], 2, 9), (2, false));
    }
}
