//! Changes to messages and calls, which are not in the live model: decided against the state replayed from their own stream.

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::Value;
use vigie_domain::{Aggregate, CommandContext, DomainError, DomainEvent};
use vigie_eventstore::{AppendRequest, Direction, EventLog, ExpectedVersion, StoreError};
use vigie_projections::sql::retention_max_age;

use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::{self, ChangeHeaders};
use crate::error::{ApiError, ApiResult};

/// How often a change is decided again when another change to the same message landed first.
const ATTEMPTS: usize = 3;

/// Decides against the state replayed from the aggregate's stream and appends
/// with the version it ended at, kept for the retention period; answers the
/// stream's new version and the log position of its last event, once the read
/// models show it.
pub(super) async fn on_stream<A: Aggregate>(
    app: &AppState,
    caller: &Caller,
    id: A::Id,
    headers: &ChangeHeaders,
    decide: impl Fn(&A::State, &CommandContext) -> Result<Vec<A::Event>, DomainError>,
) -> ApiResult<(u64, u64)> {
    let stream_id = A::stream_id(id);
    for attempt in 1..=ATTEMPTS {
        let (state, version) = replay::<A>(app, &stream_id).await?;
        // Decided before If-Match is checked: `decide` answers 404 for a message or
        // call of an account the caller does not reach, and a 412 would tell them it exists.
        let events = decide(&state, &CommandContext::new(caller.actor(), Utc::now()))?;
        headers.check_if_match(version)?;
        if events.is_empty() {
            return Ok((version, app.store().head_position().await?));
        }
        let new_events = commands::to_new_events(&events, caller, headers)?;
        let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exactly(version) };
        let max_age = retention_max_age(app.read_models().retention_days());
        let request = AppendRequest::new(stream_id.clone(), expected, new_events).with_max_age(max_age);
        match app.store().append(request).await {
            Ok(outcome) => {
                app.read_models().settle(outcome.last_position).await;
                return Ok((outcome.stream_version, outcome.last_position));
            }
            Err(StoreError::WrongExpectedVersion { actual, .. }) if headers.if_match.is_some() => {
                return Err(commands::stale_version(version, actual));
            }
            Err(StoreError::WrongExpectedVersion { .. }) if attempt < ATTEMPTS => {}
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "concurrent_change",
        "Other changes to this kept landing at the same moment; nothing was done. Try again.",
    )
    .retry_after(1))
}

/// The aggregate's state and version, from its stream's events.
pub(super) async fn replay<A: Aggregate>(app: &AppState, stream_id: &str) -> ApiResult<(A::State, u64)> {
    let stored = app.store().read_stream(stream_id, 1, Direction::Forward, usize::MAX).await?;
    let mut state = A::State::default();
    let mut version = 0;
    for event in &stored {
        let data = event.data_as::<Value>().map_err(ApiError::internal)?;
        let decoded =
            A::Event::from_stored(&event.event_type, event.schema_version, data).map_err(ApiError::internal)?;
        state = A::evolve(state, &decoded);
        version = event.stream_version;
    }
    Ok((state, version))
}
