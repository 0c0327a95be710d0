//! Everything the log can refuse or fail at, kept apart from domain rejections.

use uuid::Uuid;

use crate::model::ExpectedVersion;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else appended first: re-read the stream and decide again.
    #[error("stream {stream_id} is at version {actual}, but version {expected:?} was expected")]
    WrongExpectedVersion { stream_id: String, expected: ExpectedVersion, actual: u64 },

    /// Some, not all, of an append's event ids are already stored: a retry that
    /// changed its events. Nothing was written.
    #[error("some of the events appended to stream {stream_id} are already stored, but not all")]
    PartialDuplicate { stream_id: String },

    #[error("event {event_id} takes {size} bytes, more than the limit of {limit} bytes")]
    EventTooLarge { event_id: Uuid, size: usize, limit: usize },

    /// PostgreSQL cannot store a NUL character in text, so neither back end takes one.
    #[error("the {field} of event {event_id} contains a NUL character")]
    NulInText { event_id: Uuid, field: &'static str },

    #[error("an append must carry at least one event (stream {stream_id})")]
    EmptyAppend { stream_id: String },

    #[error(
        "malformed stream id {0:?}: expected `category-id`, a lowercase category of letters, \
         digits or '_', then '-', then up to 200 letters, digits or any of \"_.:@-\""
    )]
    InvalidStreamId(String),

    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),

    #[error("cannot open the database at {url}: {source}")]
    Unreachable {
        /// The URL with any password masked.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("could not prepare the database schema: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    #[error("could not serialize event data: {0}")]
    Serialization(#[source] serde_json::Error),

    #[error("the log holds data it cannot read back: {0}")]
    Corrupt(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("the event store's writer has stopped")]
    WriterStopped,
}

impl StoreError {
    /// True for refusals that retrying the same append can never fix.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::WrongExpectedVersion { .. } | StoreError::PartialDuplicate { .. })
    }
}
