//! A schedule as it was known at a past record time, for auditors.

use chrono::{DateTime, Utc};
use vigie_domain::{DomainEvent, ScheduleId, ScheduleState, schedule};
use vigie_eventstore::{Direction, EventLog, StoreError};

/// The schedule's state built from the events recorded at or before `as_of`.
/// The log's record times never decrease along a stream, so reading stops at
/// the first later event.
pub async fn schedule_as_of(
    store: &impl EventLog,
    schedule_id: ScheduleId,
    as_of: DateTime<Utc>,
) -> Result<ScheduleState, StoreError> {
    let stream = schedule::stream_id(schedule_id);
    let mut state = ScheduleState::default();
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
            let event = vigie_domain::ScheduleEvent::from_stored(&stored.event_type, stored.schema_version, data)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            state = schedule::evolve(state, &event);
        }
        if page.len() < 1000 {
            return Ok(state);
        }
    }
}
