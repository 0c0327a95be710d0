//! What can go wrong while building or reading a SQL read model.

use thiserror::Error;
use vigie_domain::EventDecodeError;
use vigie_eventstore::StoreError;

#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error("the event log failed: {0}")]
    Store(#[from] StoreError),
    #[error("the read-model database failed: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored event this program cannot read (a newer schema, say). The
    /// projection stops there rather than skip it, so no row is ever missing.
    #[error("event at position {position} cannot be read: {source}")]
    Decode {
        position: u64,
        #[source]
        source: EventDecodeError,
    },
    #[error("event at position {position} is malformed: {reason}")]
    Malformed { position: u64, reason: String },
    /// Another runner (or a rebuild) moved this projection's checkpoint: this
    /// runner's view of it is stale, so it wrote nothing and must reload.
    #[error("projection {0} was moved on by another runner or a rebuild")]
    Superseded(&'static str),
    /// The live generation was built by newer code (another node, during a
    /// rolling upgrade): rows this older code wrote into it would differ from
    /// the rest, so it leaves the projection to the newer nodes.
    #[error("projection {name} is live at revision {live}, newer than this program's {ours}")]
    NewerRevision { name: &'static str, live: i64, ours: i64 },
    #[error("a rebuild of projection {0} is already running")]
    RebuildInProgress(&'static str),
    #[error("no SQL projection is named {0:?}")]
    UnknownProjection(String),
    /// A read-model row that does not hold what its projection writes.
    #[error("unreadable row in {table}: {reason}")]
    BadRow { table: &'static str, reason: String },
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

impl ProjectionError {
    pub(crate) fn decode(position: u64, source: EventDecodeError) -> Self {
        Self::Decode { position, source }
    }

    pub(crate) fn bad_row(table: &'static str, reason: impl ToString) -> Self {
        Self::BadRow { table, reason: reason.to_string() }
    }

    pub(crate) fn malformed(position: u64, reason: impl Into<String>) -> Self {
        Self::Malformed { position, reason: reason.into() }
    }
}
