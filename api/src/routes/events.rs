//! The global event feed for auditors and operators: every event of the log, in position order.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use vigie_domain::{Aggregate, Call, Message, Role};
use vigie_eventstore::{EventLog, StoredEvent};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::routes::openapi::MinPositionParam;
use crate::routes::openapi::Problem;
use crate::routes::schedules::{HistoryEntry, HistoryPage, ensure_fresh, page_limit};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    /// A log position: the page starts with the event after it.
    after: Option<u64>,
    limit: Option<usize>,
    min_position: Option<u64>,
}

/// `{"events": [...], "next_after": N|null}`: a page of the whole log, oldest first. Instants are
/// in UTC, since the log spans every account and time zone. `next_after` is the position to ask
/// after for the next page, or null on the last page for now.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(
        ("after" = Option<u64>, Query, description = "A log position: the page starts with the event after it."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many events (1 to 1000, 100 by default)."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "A page of the log, oldest first, and `next_after`.", body = HistoryPage),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 503, response = Problem),
    ))]
async fn feed(
    State(app): State<AppState>,
    caller: Caller,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> ApiResult<Json<HistoryPage>> {
    // Clients see only their own accounts, and dispatch needs only who is on call now.
    caller.require_role(&[Role::Auditor, Role::Operator], "read the whole event log")?;
    let Query(query) = query?;
    ensure_fresh(&app, query.min_position).await?;
    let limit = page_limit(query.limit)?;
    let events = app.store().read_all(query.after.unwrap_or(0), limit).await?;
    let next_after = (events.len() == limit).then(|| events.last().map(|e| e.position)).flatten();
    // Auditors replay shift history; messages and calls hold callers' personal data, which
    // they may not read in the inbox either. They still see that such events happened.
    let withhold = |event: &StoredEvent| {
        caller.role != Role::Operator
            && event
                .stream_id
                .split_once('-')
                .is_some_and(|(category, _)| [Message::CATEGORY, Call::CATEGORY].contains(&category))
    };
    let events = events
        .iter()
        .map(|e| {
            if withhold(e) {
                HistoryEntry::of(e, chrono_tz::UTC).withheld()
            } else {
                HistoryEntry::of(e, chrono_tz::UTC)
            }
        })
        .collect();
    Ok(Json(HistoryPage { events, next_after }))
}
