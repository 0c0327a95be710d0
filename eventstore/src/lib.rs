//! Vigie's append-only event log, on SQLite or PostgreSQL.
//!
//! Every change Vigie accepts is an event appended here, in one total order
//! (its position) that every reader agrees on. [`EventStore::open`] picks the
//! back end from the URL; [`EventLog`] is what both back ends offer.

mod error;
mod group_commit;
mod hand_off;
mod model;
pub mod pools;
mod postgres;
mod sqlite;
mod store;
mod subscription;
mod validate;

pub use error::StoreError;
pub use model::{AppendOutcome, AppendRequest, Direction, ExpectedVersion, Metadata, NewEvent, StoredEvent};
pub use postgres::PostgresEventStore;
pub use sqlite::SqliteEventStore;
pub use store::{EventLog, EventStore, StoreOptions};
pub use subscription::{Page, Subscription};
pub use validate::{category_of, redact_url};
