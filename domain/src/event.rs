//! How events are named, versioned and stored, and how an older stored event is read again (upcasting).
//!
//! The event store keeps three fields per event: `event_type` (the past-tense name, e.g.
//! `OverrideAdded`), `schema_version` and `data` (the JSON of the event's fields, without the name).
//! Every aggregate's event enum implements [`DomainEvent`] to go to and from those fields.
//!
//! # Changing an event (upcasting)
//! Stored events are never rewritten, so when an event gains a field:
//! 1. add the field to the struct and bump the event's version in its `domain_events!` list
//!    (`ShiftAssigned = 2`);
//! 2. in the aggregate's upcaster (`fn upcast(event_type, from_version, data)`), add an arm turning
//!    the JSON of version N-1 into the JSON of version N (usually: insert the new field's default);
//! 3. add a test that reads a stored version N-1 JSON through `from_stored` and checks the result.
//!
//! `from_stored` applies the upcasters one version at a time, so a v1 event goes 1→2→3 and each step
//! stays small. A version newer than the code knows is refused rather than guessed.
//! Examples: `ShiftAssigned` v2 added `comment` (schedule), `MessageTaken` v2 added `urgent` (inbox).

use serde_json::Value;
use thiserror::Error;

/// An event as the store sees it.
pub trait DomainEvent: Sized {
    /// The past-tense name, e.g. `OverrideAdded`.
    fn event_type(&self) -> &'static str;
    /// The current schema version of this event type.
    fn schema_version(&self) -> u32;
    /// The event's fields as JSON (without the type name).
    fn to_data(&self) -> Value;
    /// Reads a stored event, upcasting an older schema version first.
    fn from_stored(event_type: &str, schema_version: u32, data: Value) -> Result<Self, EventDecodeError>;
}

/// A stored event that cannot be read back.
#[derive(Debug, Error)]
pub enum EventDecodeError {
    #[error("unknown event type {0}")]
    UnknownType(String),
    #[error("{event_type} version {version} is newer than this program knows ({known})")]
    FutureVersion { event_type: String, version: u32, known: u32 },
    #[error("no upcaster for {event_type} from version {version}")]
    NoUpcaster { event_type: String, version: u32 },
    #[error("malformed {event_type} data: {source}")]
    Malformed {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Brings `data` from `version` up to `current`, one step at a time, with the aggregate's upcaster.
pub(crate) fn upcast_to(
    event_type: &str,
    mut version: u32,
    current: u32,
    mut data: Value,
    step: fn(&str, u32, Value) -> Option<Value>,
) -> Result<Value, EventDecodeError> {
    if version > current {
        return Err(EventDecodeError::FutureVersion { event_type: event_type.to_owned(), version, known: current });
    }
    while version < current {
        data = step(event_type, version, data)
            .ok_or_else(|| EventDecodeError::NoUpcaster { event_type: event_type.to_owned(), version })?;
        version += 1;
    }
    Ok(data)
}

/// Adds `field: default` to a JSON object if it is missing: the usual upcasting step.
pub(crate) fn with_default(mut data: Value, field: &str, default: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.entry(field).or_insert(default);
    }
    data
}

/// An upcaster for aggregates whose events are all still at version 1.
pub(crate) fn no_upcasters(_: &str, _: u32, _: Value) -> Option<Value> {
    None
}

/// Declares an aggregate's event enum, one variant per event struct of the same name, and its
/// [`DomainEvent`] implementation from the list of `Name = current_version`.
macro_rules! domain_events {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident upcast with $upcast:path {
            $($variant:ident = $version:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $enum {
            $($variant($variant)),+
        }

        impl $crate::event::DomainEvent for $enum {
            fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($variant)),+
                }
            }

            fn schema_version(&self) -> u32 {
                match self {
                    $(Self::$variant(_) => $version),+
                }
            }

            fn to_data(&self) -> serde_json::Value {
                let data = match self {
                    $(Self::$variant(event) => serde_json::to_value(event)),+
                };
                // Event structs hold only strings, numbers, ids and times: they always serialize.
                data.expect("domain events serialize to JSON")
            }

            fn from_stored(
                event_type: &str,
                schema_version: u32,
                data: serde_json::Value,
            ) -> Result<Self, $crate::event::EventDecodeError> {
                let malformed = |source| $crate::event::EventDecodeError::Malformed {
                    event_type: event_type.to_owned(),
                    source,
                };
                match event_type {
                    $(stringify!($variant) => {
                        let data = $crate::event::upcast_to(
                            event_type, schema_version, $version, data, $upcast,
                        )?;
                        serde_json::from_value(data).map(Self::$variant).map_err(malformed)
                    })+
                    other => Err($crate::event::EventDecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        $(
            impl From<$variant> for $enum {
                fn from(event: $variant) -> Self {
                    Self::$variant(event)
                }
            }
        )+
    };
}

pub(crate) use domain_events;
