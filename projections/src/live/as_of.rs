//! Schedules and contacts as they were known at a past record time, for auditors.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use vigie_domain::aggregate::Aggregate;
use vigie_domain::contact::{Contact, ContactInfo};
use vigie_domain::schedule::Schedule;
use vigie_domain::{ContactId, DomainEvent, ScheduleId, ScheduleState};
use vigie_eventstore::{Direction, EventLog, StoreError};

/// The schedule's state built from the events recorded at or before `as_of`.
pub async fn schedule_as_of(
    store: &impl EventLog,
    schedule_id: ScheduleId,
    as_of: DateTime<Utc>,
) -> Result<ScheduleState, StoreError> {
    state_as_of::<Schedule>(store, schedule_id, as_of).await
}

/// Each contact as the directory knew it at `as_of`: its name and the numbers
/// dispatch would have dialled then. Contacts added later are left out.
pub async fn contacts_as_of(
    store: &impl EventLog,
    ids: impl IntoIterator<Item = ContactId>,
    as_of: DateTime<Utc>,
) -> Result<HashMap<ContactId, ContactInfo>, StoreError> {
    let mut contacts = HashMap::new();
    for id in ids {
        if contacts.contains_key(&id) {
            continue;
        }
        if let Some(contact) = state_as_of::<Contact>(store, id, as_of).await?.contact {
            contacts.insert(id, contact);
        }
    }
    Ok(contacts)
}

/// An aggregate's state built from its events recorded at or before `as_of`.
/// The log's record times never decrease along a stream, so reading stops at
/// the first later event.
async fn state_as_of<A: Aggregate>(
    store: &impl EventLog,
    id: A::Id,
    as_of: DateTime<Utc>,
) -> Result<A::State, StoreError> {
    let stream = A::stream_id(id);
    let mut state = A::State::default();
    let mut from_version = 1;
    loop {
        let page = store.read_stream(&stream, from_version, Direction::Forward, 1000).await?;
        let Some(last) = page.last() else { return Ok(state) };
        from_version = last.stream_version + 1;
        for stored in &page {
            if stored.recorded_at > as_of {
                return Ok(state);
            }
            let data = stored.data_as::<serde_json::Value>().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let event = A::Event::from_stored(&stored.event_type, stored.schema_version, data)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            state = A::evolve(state, &event);
        }
        if page.len() < 1000 {
            return Ok(state);
        }
    }
}
