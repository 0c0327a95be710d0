//! The one interface to the log, and the store that picks a back end from a URL.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{AppendOutcome, AppendRequest, Direction, StoredEvent};
use crate::postgres::PostgresEventStore;
use crate::sqlite::SqliteEventStore;
use crate::subscription::Subscription;

/// Tunables shared by both back ends.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The largest event accepted, data and metadata together.
    pub max_event_bytes: usize,
    /// A group-commit batch stops growing at this many events.
    pub max_batch_events: usize,
    /// How often a caught-up subscription looks at the log when no notification came.
    pub poll_interval: Duration,
    /// How long the events this process commits may reach its followers from
    /// memory; a follower further behind reads the log (see `read_new`).
    pub hand_off_window: Duration,
    /// Connections for reads; the writer keeps one of its own besides (PostgreSQL:
    /// the pool the read models share too).
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_event_bytes: 1024 * 1024,
            max_batch_events: 1000,
            poll_interval: Duration::from_millis(500),
            // Followers keep up within milliseconds. One that comes back
            // later (a runner taking over from an old checkpoint, say) reads
            // the log, which another process's purge may have changed since.
            hand_off_window: Duration::from_secs(1),
            max_connections: 8,
        }
    }
}

/// The event log: append with optimistic concurrency, read, follow, purge.
///
/// Positions start at 1 and only grow; the log commits in position order, so
/// every reader sees the same total order. Versions of a stream start at 1.
pub trait EventLog: Clone + Send + Sync + 'static {
    /// Appends events to one stream, all or none; answers once they are durable.
    fn append(&self, request: AppendRequest) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// Up to `limit` events of a stream, forward from `from_version` (inclusive)
    /// or backward from it (`u64::MAX` for the newest).
    fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events of the whole log with a position after `after`.
    fn read_all(&self, after: u64, limit: usize) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// `read_all` for a follower of the log, who has read up to `after` and
    /// was woken by the head: the events this process has just committed come
    /// from memory, without a query. A page shorter than `limit` does not
    /// say that the log ends there: another process may have committed
    /// since, which the head or the next poll tells.
    fn read_new(&self, after: u64, limit: usize) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events of every stream of a category, after position `after`.
    fn read_category(
        &self,
        category: &str,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The stream's current version; 0 when it has no events.
    fn stream_version(&self, stream_id: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Where the event with this id is stored; `None` if the log does not hold it (never
    /// appended, or purged).
    fn position_of(&self, event_id: Uuid) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The position of the newest event ever committed, purged ones included (0 for an empty log).
    fn head_position(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Gives every stream that has a max age this one instead: the retention in force applies to
    /// the events already stored, not only to streams written since it changed. Answers how many
    /// streams changed.
    fn retain_for(&self, max_age: Duration) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Removes the events of streams with a max age that are older than it at `now`.
    /// Answers how many events were removed.
    fn purge_expired(&self, now: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Removes every event of these streams, whatever their age, where the stream has a max
    /// age: what they record has expired though they were recorded later (a message entered
    /// days after it was taken). Streams without a max age are never touched. Answers how many
    /// events were removed.
    fn purge_streams(&self, stream_ids: &[String]) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The newest position this process knows to be committed; changes wake subscribers.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// Every event after `after`, then each new one as it commits.
    fn subscribe(&self, after: u64) -> Subscription;
}

/// The log on whichever back end the URL names.
#[derive(Debug, Clone)]
pub enum EventStore {
    Sqlite(SqliteEventStore),
    Postgres(PostgresEventStore),
}

impl EventStore {
    /// Opens (creating if needed) the log at `sqlite://PATH` or `postgres://…`,
    /// and brings its schema up to date.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteEventStore::open(url, options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(PostgresEventStore::open(url, options).await?))
        } else {
            Err(StoreError::UnsupportedUrl(crate::validate::redact_url(url)))
        }
    }

    /// Which back end this is, for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            EventStore::Sqlite($store) => $call,
            EventStore::Postgres($store) => $call,
        }
    };
}

impl EventLog for EventStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        delegate!(self, s => s.append(request).await)
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.read_stream(stream_id, from_version, direction, limit).await)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.read_all(after, limit).await)
    }

    async fn read_new(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.read_new(after, limit).await)
    }

    async fn read_category(&self, category: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.read_category(category, after, limit).await)
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        delegate!(self, s => s.stream_version(stream_id).await)
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        delegate!(self, s => s.position_of(event_id).await)
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        delegate!(self, s => s.head_position().await)
    }

    async fn retain_for(&self, max_age: Duration) -> Result<u64, StoreError> {
        delegate!(self, s => s.retain_for(max_age).await)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        delegate!(self, s => s.purge_expired(now).await)
    }

    async fn purge_streams(&self, stream_ids: &[String]) -> Result<u64, StoreError> {
        delegate!(self, s => s.purge_streams(stream_ids).await)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        delegate!(self, s => s.watch_head())
    }

    fn subscribe(&self, after: u64) -> Subscription {
        delegate!(self, s => s.subscribe(after))
    }
}

/// Moves a head position forward, never back, waking subscribers only when it moved.
pub(crate) fn advance_head(head: &watch::Sender<u64>, to: u64) {
    head.send_if_modified(|current| {
        let moved = to > *current;
        if moved {
            *current = to;
        }
        moved
    });
}
