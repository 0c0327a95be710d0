//! The events the live model applied last, kept in memory for the readers that follow changes.
//!
//! Every open stream of live changes (SSE) wants the same few events each
//! time something is committed; reading them from the log once per stream
//! would turn one change into as many queries as there are portals open.
//! The live model keeps its last events here instead, and a follower that
//! has fallen further behind than they reach reads the log as before.

use std::collections::VecDeque;
use std::sync::Arc;

use vigie_eventstore::StoredEvent;

/// How many of the last applied events are kept (a few MB at most).
pub const RECENT_EVENTS: usize = 10_000;

/// The last applied events, in position order, and from where they are complete.
#[derive(Debug)]
pub struct Recent {
    events: VecDeque<Arc<StoredEvent>>,
    capacity: usize,
    /// Every event applied after this position is in `events`.
    complete_after: u64,
}

impl Recent {
    /// Kept from `position` on: the events applied before are not here.
    pub fn starting_after(position: u64, capacity: usize) -> Self {
        Self { events: VecDeque::with_capacity(capacity.min(RECENT_EVENTS)), capacity, complete_after: position }
    }

    /// Keeps newly applied events, forgetting the oldest beyond the capacity.
    pub fn extend(&mut self, applied: &[StoredEvent]) {
        for event in applied {
            if self.events.len() == self.capacity
                && let Some(oldest) = self.events.pop_front()
            {
                self.complete_after = oldest.position;
            }
            if self.capacity > 0 {
                self.events.push_back(Arc::new(event.clone()));
            } else {
                self.complete_after = event.position;
            }
        }
    }

    /// Up to `limit` events after `after`, or `None` if some of them may
    /// have been forgotten already (the caller then reads the log).
    pub fn after(&self, after: u64, limit: usize) -> Option<Vec<Arc<StoredEvent>>> {
        if after < self.complete_after {
            return None;
        }
        let first = self.events.partition_point(|event| event.position <= after);
        Some(self.events.range(first..).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::value::RawValue;
    use uuid::Uuid;
    use vigie_eventstore::Metadata;

    use super::*;

    fn event(position: u64) -> StoredEvent {
        StoredEvent {
            position,
            event_id: Uuid::now_v7(),
            stream_id: format!("schedule-{position}"),
            stream_version: 1,
            event_type: "ShiftCommented".into(),
            schema_version: 1,
            data: RawValue::from_string("{}".into()).unwrap(),
            metadata: Metadata::default(),
            recorded_at: Utc::now(),
        }
    }

    fn positions(events: Option<Vec<Arc<StoredEvent>>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|e| e.position).collect())
    }

    #[test]
    fn a_follower_within_reach_gets_exactly_the_events_after_its_position() {
        let mut recent = Recent::starting_after(10, 5);
        // A purge left a gap: 13 and 14 are gone.
        recent.extend(&[event(11), event(12), event(15)]);

        assert_eq!(positions(recent.after(10, 100)), Some(vec![11, 12, 15]));
        assert_eq!(positions(recent.after(12, 100)), Some(vec![15]));
        assert_eq!(positions(recent.after(13, 100)), Some(vec![15]));
        assert_eq!(positions(recent.after(11, 1)), Some(vec![12]));
        assert_eq!(positions(recent.after(15, 100)), Some(vec![]));
    }

    #[test]
    fn a_follower_from_before_what_is_kept_is_sent_to_the_log() {
        let mut recent = Recent::starting_after(10, 3);
        assert_eq!(positions(recent.after(9, 100)), None, "applied before the model started keeping them");

        recent.extend(&[event(11), event(12), event(13), event(14), event(15)]);

        assert_eq!(positions(recent.after(11, 100)), None, "12 was forgotten");
        assert_eq!(positions(recent.after(12, 100)), Some(vec![13, 14, 15]));
    }

    #[test]
    fn keeping_nothing_always_sends_followers_to_the_log() {
        let mut recent = Recent::starting_after(0, 0);
        recent.extend(&[event(1), event(2)]);
        assert_eq!(positions(recent.after(0, 100)), None);
        assert_eq!(positions(recent.after(2, 100)), Some(vec![]));
    }
}
