//! The shapes that go into and come out of the log: new events, stored events, appends.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::StoreError;

/// Who caused an event and as part of which request. Kept beside the event
/// data rather than inside it, so every event type gets it for free.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    /// The request (or other unit of work) the event belongs to.
    pub correlation_id: Option<Uuid>,
    /// The event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// The `Idempotency-Key` the client sent with the change, if any.
    pub idempotency_key: Option<String>,
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Chosen by the writer (UUID v7), so that retrying an append cannot store it twice.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub data: Box<RawValue>,
    pub metadata: Metadata,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 and the given JSON data.
    pub fn new(event_type: impl Into<String>, schema_version: u32, data: &impl Serialize) -> Result<Self, StoreError> {
        let data = serde_json::value::to_raw_value(data).map_err(StoreError::Serialization)?;
        Ok(Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            data,
            metadata: Metadata::default(),
        })
    }

    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The bytes this event takes in the log, for the size limit.
    pub(crate) fn size(&self) -> usize {
        let m = &self.metadata;
        self.event_type.len()
            + self.data.get().len()
            + m.actor_name.as_deref().map_or(0, str::len)
            + m.idempotency_key.as_deref().map_or(0, str::len)
    }
}

/// An event as the log keeps it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: String,
    /// 1 for a stream's first event.
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub data: Box<RawValue>,
    pub metadata: Metadata,
    /// When the log accepted the event. Never decreases along positions.
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    /// The event data decoded as `T`.
    pub fn data_as<T: for<'de> Deserialize<'de>>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data.get())
    }
}

/// What the writer believes the stream's version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be at exactly this version.
    Exactly(u64),
}

impl ExpectedVersion {
    /// The version the stream must have, if any. A missing stream is at version 0.
    pub fn required(self) -> Option<u64> {
        match self {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exactly(version) => Some(version),
        }
    }
}

/// Events for one stream, appended all together or not at all.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    /// How long this stream's events may be kept; `None` leaves the stream's setting as it is.
    pub max_age: Option<Duration>,
}

impl AppendRequest {
    pub fn new(stream_id: impl Into<String>, expected: ExpectedVersion, events: Vec<NewEvent>) -> Self {
        Self { stream_id: stream_id.into(), expected, events, max_age: None }
    }

    /// Keep this stream's events only for `max_age` (callers' personal data).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }
}

/// The outcome of a successful append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The stream's version after its last event of this append.
    pub stream_version: u64,
    pub first_position: u64,
    pub last_position: u64,
    pub recorded_at: DateTime<Utc>,
    /// True when every event id was already stored: nothing new was written,
    /// and the positions are those of the original append.
    pub was_duplicate: bool,
}

/// Which way to read a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}
