//! The live model: accounts, users, contacts and schedules in memory on every node, kept current from the log.
//!
//! Every node subscribes to the log and applies each event to its own copy,
//! so "who is on call now" is answered from memory without a database round
//! trip, and a change made through any node reaches every node's copy as soon
//! as it is committed (on PostgreSQL, through LISTEN/NOTIFY). The position of
//! the last applied event is published, so a request can wait until the copy
//! reflects a change it knows of (`min_position`, read-your-writes).

mod as_of;
mod dispatch;
mod model;
mod recent;

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigie_eventstore::{EventLog, EventStore, Page, StoreError, StoredEvent, Subscription};

pub use as_of::{contacts_as_of, schedule_as_of};
pub use dispatch::{DispatchEntry, DispatchFilter, DispatchIndex};
pub use model::{Aggregates, LiveAggregate, LiveModel};

use recent::{RECENT_EVENTS, Recent};

/// A node's live model and the task that keeps it current.
#[derive(Debug)]
pub struct Live {
    model: RwLock<LiveModel>,
    applied: watch::Sender<u64>,
    /// The events applied since the model caught up, as far back as it keeps them.
    recent: RwLock<Recent>,
    follower: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Live {
    /// Reads the whole log into memory, then follows it. Returns once the
    /// model reflects every event committed before the call.
    pub async fn start(store: &EventStore) -> Result<Arc<Self>, StoreError> {
        let head = store.head_position().await?;
        let live = Arc::new(Live {
            model: RwLock::new(LiveModel::default()),
            applied: watch::Sender::new(0),
            recent: RwLock::new(Recent::starting_after(0, 0)),
            follower: std::sync::Mutex::new(None),
        });
        let mut subscription = store.subscribe(0);
        while live.position() < head {
            match subscription.next_page().await {
                Some(page) => live.apply_page(page, false),
                None => break,
            }
        }
        // Catching up, nobody follows changes yet: keep events from here on.
        *live.recent.write().unwrap_or_else(|e| e.into_inner()) =
            Recent::starting_after(live.position(), RECENT_EVENTS);
        let follower = tokio::spawn(follow(Arc::downgrade(&live), subscription));
        *live.follower.lock().unwrap_or_else(|e| e.into_inner()) = Some(follower);
        Ok(live)
    }

    /// The model as of now. Hold the guard briefly: the log waits for it.
    pub fn read(&self) -> RwLockReadGuard<'_, LiveModel> {
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The position of the last event applied.
    pub fn position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the model reflects position `position`; false if `timeout` passes first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        tokio::time::timeout(timeout, applied.wait_for(|&p| p >= position)).await.is_ok_and(|r| r.is_ok())
    }

    /// Up to `limit` of the events applied after `after`, from memory; `None` if
    /// some of them are no longer kept, and the log must be read instead.
    pub fn recent_after(&self, after: u64, limit: usize) -> Option<Vec<Arc<StoredEvent>>> {
        self.recent.read().unwrap_or_else(|e| e.into_inner()).after(after, limit)
    }

    /// Applies a page's events, then moves to where the page reaches: past its last event
    /// when the newest positions hold none (purged), so nobody waits for them.
    fn apply_page(&self, page: Page, remember: bool) {
        if !page.events.is_empty() {
            let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
            model.apply_all(&page.events);
        }
        // Kept before the new position is published, so whoever sees the
        // position finds the events that lead to it.
        if remember {
            self.recent.write().unwrap_or_else(|e| e.into_inner()).extend(&page.events);
        }
        let reached = page.events.last().map_or(page.through, |last| last.position.max(page.through));
        self.applied.send_if_modified(|applied| {
            let moved = reached > *applied;
            *applied = (*applied).max(reached);
            moved
        });
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(task) = self.follower.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// Applies new events until the live model is dropped.
async fn follow(live: std::sync::Weak<Live>, mut subscription: Subscription) {
    while let Some(page) = subscription.next_page().await {
        let Some(live) = live.upgrade() else { return };
        live.apply_page(page, true);
    }
    tracing::error!("the log's subscription ended; the live model no longer follows the log");
}
