//! What a SQL projection is: a name, the categories it reads, and how one event changes its rows.
//!
//! A projection is written once for both back ends: it receives a [`Tx`],
//! which runs the same `$1`-style SQL on SQLite or PostgreSQL, inside the
//! transaction that also moves the projection's checkpoint.

use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vigie_domain::DomainEvent;
use vigie_eventstore::StoredEvent;

use super::error::ProjectionError;

/// A read model kept in SQL tables, built from the events of some categories.
///
/// Every row a projection writes carries the `generation` it was given, and
/// every table it writes is listed in [`TABLES`](Self::TABLES), so that a
/// rebuild can write a new generation beside the live one and drop the old.
pub trait SqlProjection: Send + Sync + 'static {
    /// Names the projection in checkpoints, locks and `vigie projections rebuild NAME`.
    const NAME: &'static str;
    /// The stream categories it reads (`message` for `message-<uuid>`, …).
    const CATEGORIES: &'static [&'static str];
    /// The tables it writes; each has a `generation` column.
    const TABLES: &'static [&'static str];
    /// Raised whenever [`apply`](Self::apply) writes rows differently: a node
    /// that finds the live generation built at an older revision rebuilds it
    /// in the background (see [`rebuild_if_outdated`](super::rebuild_if_outdated)).
    const REVISION: i64 = 1;

    /// Applies one event of its categories to the rows of `generation`.
    ///
    /// Runs inside the batch's transaction: an error rolls back the whole
    /// batch and the checkpoint with it, so the event is tried again later.
    fn apply(
        &self,
        tx: &mut Tx<'_>,
        event: &StoredEvent,
        generation: i64,
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;
}

/// A value bound to a `$n` parameter, in the types the read models store.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
}

impl SqlValue {
    /// Text from anything displayable, such as an id.
    pub fn text(value: impl ToString) -> Self {
        Self::Text(Some(value.to_string()))
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<Option<String>> for SqlValue {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for SqlValue {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for SqlValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// Instants are stored as microseconds since the Unix epoch.
impl From<DateTime<Utc>> for SqlValue {
    fn from(value: DateTime<Utc>) -> Self {
        Self::Int(Some(crate::db::to_micros(value)))
    }
}

impl From<Option<DateTime<Utc>>> for SqlValue {
    fn from(value: Option<DateTime<Utc>>) -> Self {
        Self::Int(value.map(crate::db::to_micros))
    }
}

/// Binds each value to the next parameter of a sqlx query of any kind and back end.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value.clone() {
                $crate::sql::SqlValue::Text(text) => query.bind(text.map($crate::sql::without_nul)),
                $crate::sql::SqlValue::Int(int) => query.bind(int),
                $crate::sql::SqlValue::Bool(flag) => query.bind(flag),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

/// `text` with each NUL as U+FFFD: PostgreSQL's text cannot hold a NUL, and an
/// event written before the API refused them must not stop a read model for ever.
pub(crate) fn without_nul(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

/// An open transaction on either back end, for statements written once for both.
#[derive(Debug)]
pub enum Tx<'t> {
    Sqlite(&'t mut SqliteConnection),
    Postgres(&'t mut PgConnection),
}

impl Tx<'_> {
    /// Runs one statement; answers how many rows it changed.
    pub async fn execute(&mut self, sql: &str, values: &[SqlValue]) -> Result<u64, sqlx::Error> {
        let affected = match self {
            Tx::Sqlite(connection) => {
                bind_values!(sqlx::query(sql), values).execute(&mut **connection).await?.rows_affected()
            }
            Tx::Postgres(connection) => {
                bind_values!(sqlx::query(sql), values).execute(&mut **connection).await?.rows_affected()
            }
        };
        Ok(affected)
    }

    /// Runs a query answering at most one row of one integer column.
    pub async fn fetch_optional_i64(&mut self, sql: &str, values: &[SqlValue]) -> Result<Option<i64>, sqlx::Error> {
        match self {
            Tx::Sqlite(connection) => {
                bind_values!(sqlx::query_scalar(sql), values).fetch_optional(&mut **connection).await
            }
            Tx::Postgres(connection) => {
                bind_values!(sqlx::query_scalar(sql), values).fetch_optional(&mut **connection).await
            }
        }
    }
}

/// Reads a stored event as one of the domain's event enums, upcasting older schemas.
pub fn decode_event<E: DomainEvent>(event: &StoredEvent) -> Result<E, ProjectionError> {
    let data = event
        .data_as::<serde_json::Value>()
        .map_err(|error| ProjectionError::malformed(event.position, error.to_string()))?;
    E::from_stored(&event.event_type, event.schema_version, data)
        .map_err(|error| ProjectionError::decode(event.position, error))
}

/// The id in an event's stream name (`message-<uuid>` gives the uuid).
pub fn stream_entity_id(event: &StoredEvent) -> Result<Uuid, ProjectionError> {
    event
        .stream_id
        .split_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| ProjectionError::malformed(event.position, format!("stream {} has no UUID", event.stream_id)))
}
