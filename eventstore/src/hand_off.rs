//! The events this process has just committed, handed to its followers without a query.
//!
//! Every commit wakes the followers of the log (the live model, the read
//! models' runners), and each of them used to read the new events back from
//! the database at once: on SQLite, 0.4–0.5 ms of a lone change's 1.5 ms,
//! and one query per follower per commit. The group-commit writer already
//! holds those events, so it keeps the last of them here before it moves the
//! head, and a follower asking for what comes after a position it has reached
//! gets them from memory.
//!
//! Memory may only answer for a stretch of positions it holds *whole*: the
//! log commits in position order under its write lock, so the events a batch
//! committed at positions `prev + 1 ..= last` (with `prev` the last position
//! handed out before it) are the only ones the log will ever hold there. A
//! run of such batches, each starting where the one before ended, is
//! complete; a batch that starts anywhere else (another process wrote in
//! between, a refused insert left a hole) starts a new run. Anything else,
//! a follower behind the run, or one that has read all of it, reads the log.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::group_commit::BatchOutcome;
use crate::model::{AppendRequest, StoredEvent};

/// The most events kept; a follower further behind reads the log.
const KEPT_EVENTS: usize = 4096;

/// The most bytes of event text kept (events may be up to 1 MiB each).
const KEPT_BYTES: usize = 16 * 1024 * 1024;

/// The last events this process committed, shared by its writer and its followers.
#[derive(Debug)]
pub(crate) struct HandOff {
    run: RwLock<Run>,
    /// How long a kept event may answer a follower (`StoreOptions::hand_off_window`).
    fresh_for: Duration,
}

/// Every event of the log at a position in `complete_after + 1 ..= end` is in `events`.
#[derive(Debug, Default)]
struct Run {
    events: VecDeque<Kept>,
    complete_after: u64,
    end: u64,
    bytes: usize,
}

#[derive(Debug)]
struct Kept {
    event: StoredEvent,
    kept_at: Instant,
    bytes: usize,
}

impl HandOff {
    pub(crate) fn new(fresh_for: Duration) -> Self {
        Self { run: RwLock::new(Run::default()), fresh_for }
    }

    /// Keeps the events a batch just committed. Call it before the head moves
    /// past them, so a follower woken by the head finds them here.
    pub(crate) fn keep_committed(&self, batch: Vec<AppendRequest>, outcomes: &BatchOutcome, now: Instant) {
        if let Some((prev, events)) = committed_events(batch, outcomes) {
            self.write().keep(prev, events, now);
        }
    }

    /// Up to `limit` events after `after`, or `None` when memory cannot answer
    /// for all of them and the log must be read.
    pub(crate) fn events_after(&self, after: u64, limit: usize, now: Instant) -> Option<Vec<StoredEvent>> {
        let run = self.run.read().unwrap_or_else(|e| e.into_inner());
        if after < run.complete_after || after >= run.end {
            return None;
        }
        let first = run.events.partition_point(|kept| kept.event.position <= after);
        let oldest_served = run.events.get(first)?;
        if now.saturating_duration_since(oldest_served.kept_at) > self.fresh_for {
            return None;
        }
        Some(run.events.range(first..).take(limit).map(|kept| kept.event.clone()).collect())
    }

    /// The events after `after` from memory, or else from `read_log`.
    pub(crate) async fn events_after_or(
        &self,
        after: u64,
        limit: usize,
        read_log: impl Future<Output = Result<Vec<StoredEvent>, StoreError>>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        match self.events_after(after, limit, Instant::now()) {
            Some(events) => Ok(events),
            None => read_log.await,
        }
    }

    /// Drops everything kept, for after a purge: no event it removed may be served again.
    pub(crate) fn forget(&self) {
        let mut run = self.write();
        let end = run.end;
        *run = Run { complete_after: end, end, ..Run::default() };
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Run> {
        self.run.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Run {
    /// Adds the events committed at `prev + 1 ..`, starting a new run unless they follow this one.
    fn keep(&mut self, prev: u64, events: Vec<StoredEvent>, now: Instant) {
        let Some(last) = events.last().map(|event| event.position) else { return };
        if prev != self.end {
            *self = Run { complete_after: prev, end: prev, ..Run::default() };
        }
        self.end = last;
        for event in events {
            let bytes = size_of(&event);
            self.events.push_back(Kept { event, kept_at: now, bytes });
            self.bytes += bytes;
        }
        while self.events.len() > KEPT_EVENTS || self.bytes > KEPT_BYTES {
            let Some(oldest) = self.events.pop_front() else { break };
            self.complete_after = oldest.event.position;
            self.bytes -= oldest.bytes;
        }
    }
}

/// The bytes an event's text takes, roughly: enough to bound memory.
fn size_of(event: &StoredEvent) -> usize {
    let m = &event.metadata;
    128 + event.stream_id.len()
        + event.event_type.len()
        + event.data.get().len()
        + m.actor_name.as_deref().map_or(0, str::len)
        + m.idempotency_key.as_deref().map_or(0, str::len)
}

/// The events a batch wrote, as the log now holds them, and the position
/// before the first of them. `None` when it wrote nothing, or (never
/// expected) when its accepted appends do not follow one another.
fn committed_events(batch: Vec<AppendRequest>, outcomes: &BatchOutcome) -> Option<(u64, Vec<StoredEvent>)> {
    let mut prev = None;
    let mut events: Vec<StoredEvent> = Vec::new();
    for (request, outcome) in batch.into_iter().zip(outcomes) {
        let Ok(outcome) = outcome else { continue };
        if outcome.was_duplicate {
            continue;
        }
        let count = request.events.len() as u64;
        let follows = events.last().map_or(outcome.first_position, |last| last.position + 1);
        if count == 0 || outcome.first_position != follows || outcome.last_position != follows + count - 1 {
            return None;
        }
        prev.get_or_insert(outcome.first_position - 1);
        let first_version = outcome.stream_version + 1 - count;
        for (offset, event) in (0..).zip(request.events) {
            events.push(StoredEvent {
                position: outcome.first_position + offset,
                event_id: event.event_id,
                stream_id: request.stream_id.clone(),
                stream_version: first_version + offset,
                event_type: event.event_type,
                schema_version: event.schema_version,
                data: event.data,
                metadata: event.metadata,
                recorded_at: outcome.recorded_at,
            });
        }
    }
    Some((prev?, events))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::{AppendOutcome, ExpectedVersion, NewEvent};

    const FRESH_FOR: Duration = Duration::from_secs(1);

    fn append(stream: &str, events: usize) -> AppendRequest {
        let events =
            (0..events).map(|n| NewEvent::new("ShiftCommented", 1, &serde_json::json!({ "n": n })).unwrap()).collect();
        AppendRequest::new(stream, ExpectedVersion::Any, events)
    }

    fn appended(first_position: u64, events: u64, stream_version: u64) -> Result<AppendOutcome, StoreError> {
        Ok(AppendOutcome {
            stream_version,
            first_position,
            last_position: first_position + events - 1,
            recorded_at: Utc::now(),
            was_duplicate: false,
        })
    }

    /// A hand-off holding events committed one by one at these positions, each after the one before.
    fn kept(positions: impl IntoIterator<Item = u64>, now: Instant) -> HandOff {
        let hand_off = HandOff::new(FRESH_FOR);
        for position in positions {
            hand_off.keep_committed(vec![append("schedule-1", 1)], &vec![appended(position, 1, position)], now);
        }
        hand_off
    }

    fn positions(events: Option<Vec<StoredEvent>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|e| e.position).collect())
    }

    #[test]
    fn a_follower_inside_the_run_gets_exactly_the_events_after_its_position() {
        let now = Instant::now();
        let hand_off = kept(11..=15, now);

        assert_eq!(positions(hand_off.events_after(10, 100, now)), Some(vec![11, 12, 13, 14, 15]));
        assert_eq!(positions(hand_off.events_after(12, 2, now)), Some(vec![13, 14]));
        assert_eq!(positions(hand_off.events_after(9, 100, now)), None, "10 was never kept");
        assert_eq!(positions(hand_off.events_after(15, 100, now)), None, "the log may hold more");
    }

    #[test]
    fn a_batch_that_does_not_follow_the_run_starts_a_new_one() {
        let now = Instant::now();
        // Another process committed 14 and 15 between this one's 13 and 16.
        let hand_off = kept([11, 12, 13, 16, 17], now);

        assert_eq!(positions(hand_off.events_after(12, 100, now)), None);
        assert_eq!(positions(hand_off.events_after(15, 100, now)), Some(vec![16, 17]));
    }

    #[test]
    fn a_batch_becomes_the_events_the_log_holds() {
        let now = Instant::now();
        let hand_off = HandOff::new(FRESH_FOR);
        let batch = vec![append("schedule-1", 2), append("schedule-2", 1), append("schedule-1", 3)];
        let ids: Vec<_> = batch.iter().flat_map(|r| &r.events).map(|e| e.event_id).collect();
        let recorded_at = Utc::now();
        let duplicate =
            AppendOutcome { stream_version: 1, first_position: 3, last_position: 3, recorded_at, was_duplicate: true };
        // The first append goes to 21–22 (versions 4–5); the second was
        // stored before (a retry); the third was refused.
        let outcomes = vec![
            Ok(AppendOutcome { recorded_at, ..appended(21, 2, 5).unwrap() }),
            Ok(duplicate),
            Err(StoreError::WriterStopped),
        ];

        hand_off.keep_committed(batch, &outcomes, now);

        let events = hand_off.events_after(20, 100, now).expect("kept");
        let fields: Vec<_> = events.iter().map(|e| (e.position, e.stream_id.as_str(), e.stream_version)).collect();
        assert_eq!(fields, [(21, "schedule-1", 4), (22, "schedule-1", 5)]);
        assert_eq!(events.iter().map(|e| e.event_id).collect::<Vec<_>>(), ids[..2]);
        assert_eq!(events.iter().map(|e| e.data.get()).collect::<Vec<_>>(), [r#"{"n":0}"#, r#"{"n":1}"#]);
        assert!(events.iter().all(|e| e.recorded_at == recorded_at && e.event_type == "ShiftCommented"));
    }

    #[test]
    fn a_stale_or_purged_event_is_read_from_the_log() {
        let now = Instant::now();
        let hand_off = kept(1..=3, now);
        assert!(hand_off.events_after(0, 100, now + FRESH_FOR).is_some());
        assert_eq!(positions(hand_off.events_after(0, 100, now + FRESH_FOR * 2)), None);

        hand_off.forget();
        assert_eq!(positions(hand_off.events_after(0, 100, now)), None);
        // What the process commits next follows the run again.
        hand_off.keep_committed(vec![append("schedule-1", 1)], &vec![appended(4, 1, 4)], now);
        assert_eq!(positions(hand_off.events_after(3, 100, now)), Some(vec![4]));
    }

    #[test]
    fn the_oldest_events_go_first_when_memory_is_full() {
        let now = Instant::now();
        let hand_off = kept(1..=KEPT_EVENTS as u64 + 2, now);

        assert_eq!(positions(hand_off.events_after(1, 1, now)), None);
        assert_eq!(positions(hand_off.events_after(2, 1, now)), Some(vec![3]));

        let huge = NewEvent::new("MessageTaken", 1, &"x".repeat(KEPT_BYTES)).unwrap();
        let end = KEPT_EVENTS as u64 + 3;
        let batch = vec![AppendRequest::new("message-1", ExpectedVersion::Any, vec![huge])];
        hand_off.keep_committed(batch, &vec![appended(end, 1, 1)], now);
        assert_eq!(positions(hand_off.events_after(end - 1, 1, now)), None, "too big to keep");
    }
}
