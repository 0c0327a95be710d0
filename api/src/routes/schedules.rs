//! Reading schedules: the account's schedules and directory, a schedule's shifts, coverage and history.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigie_domain::{AccountId, ScheduleId, ScheduleState};
use vigie_eventstore::{Direction, EventLog};
use vigie_projections::live::{LiveModel, contacts_as_of, schedule_as_of};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{MinPositionParam, ViewProblems};
use crate::routes::views::{self, Directory};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules))
        .routes(routes!(list_contacts))
        .routes(routes!(shifts))
        .routes(routes!(coverage))
        .routes(routes!(history))
}

/// `min_position`, accepted by every read.
#[derive(Debug, Default, Deserialize)]
pub struct Freshness {
    pub min_position: Option<u64>,
}

/// Waits until this node has applied `min_position`, or answers 503 with Retry-After.
pub async fn ensure_fresh(app: &AppState, min_position: Option<u64>) -> ApiResult<()> {
    let Some(position) = min_position else { return Ok(()) };
    let applied = |timeout| app.live().wait_for(position, timeout);
    crate::read_models::wait_until_applied(app.store(), position, "This server has", applied).await
}

/// A history page's `limit`: 100 by default, 1 to 1000 (refused outside, as the inbox's is).
pub fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit.unwrap_or(100) {
        limit @ 1..=1000 => Ok(limit),
        _ => Err(ApiError::bad_request("limit is between 1 and 1000.")),
    }
}

/// The account, if it exists and the caller reaches it (404 otherwise).
pub fn reachable_account(app: &AppState, caller: &Caller, account_id: AccountId) -> ApiResult<()> {
    caller.require_account(account_id)?;
    if app.live().read().account(account_id).is_none() {
        return Err(ApiError::not_found("account"));
    }
    Ok(())
}

/// The schedule's current state, if the caller reaches its account (404 otherwise).
pub fn reachable_schedule(app: &AppState, caller: &Caller, schedule_id: ScheduleId) -> ApiResult<ScheduleState> {
    reachable_in(&app.live().read(), caller, schedule_id)
}

/// [`reachable_schedule`] in a model the caller already holds.
fn reachable_in(live: &LiveModel, caller: &Caller, schedule_id: ScheduleId) -> ApiResult<ScheduleState> {
    let state = live.schedules.get(schedule_id).filter(|s| s.info().is_some_and(|i| !i.deleted));
    match state {
        Some(state) if state.info().is_some_and(|i| caller.reaches(i.account_id)) => Ok(state.clone()),
        _ => Err(ApiError::not_found("schedule")),
    }
}

/// Checks that the schedule exists in an account the caller reaches (404
/// otherwise), without copying its state as [`reachable_schedule`] does; answers that account.
pub fn require_schedule(app: &AppState, caller: &Caller, schedule_id: ScheduleId) -> ApiResult<AccountId> {
    let live = app.live().read();
    match live.schedules.get(schedule_id).and_then(|s| s.info()) {
        Some(info) if !info.deleted && caller.reaches(info.account_id) => Ok(info.account_id),
        _ => Err(ApiError::not_found("schedule")),
    }
}

/// Checks that the schedule exists or existed, deleted or not, in an account the
/// caller reaches (404 otherwise): its history never expires (DOMAIN.md), so
/// an auditor still reads it, and what it was as of a past moment, after a deletion.
pub fn reachable_schedule_record(app: &AppState, caller: &Caller, schedule_id: ScheduleId) -> ApiResult<()> {
    let live = app.live().read();
    match live.schedules.get(schedule_id).and_then(|s| s.info()) {
        Some(info) if caller.reaches(info.account_id) => Ok(()),
        _ => Err(ApiError::not_found("schedule")),
    }
}

/// The account's schedules.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/schedules", tag = "schedules",
    params(("account_id" = uuid::Uuid, Path, description = "The account."), MinPositionParam,),
    responses(
        (status = 200, description = "Each schedule's id, name, time zone and version.", body = Vec<ScheduleListed>),
        ViewProblems,
    ))]
async fn list_schedules(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(fresh): Query<Freshness>,
) -> ApiResult<Json<Vec<ScheduleListed>>> {
    ensure_fresh(&app, fresh.min_position).await?;
    reachable_account(&app, &caller, account_id)?;
    let live = app.live().read();
    let schedules = live
        .schedules_of(account_id)
        .map(|(id, state)| ScheduleListed {
            id,
            name: state.info().map(|i| i.name.clone()),
            time_zone: state.time_zone().name(),
            version: state.version(),
        })
        .collect();
    Ok(Json(schedules))
}

/// A schedule as the account's list shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ScheduleListed {
    #[schema(value_type = uuid::Uuid)]
    id: ScheduleId,
    name: Option<String>,
    /// An IANA time zone.
    time_zone: &'static str,
    /// Send it back as `If-Match` to change the schedule.
    version: u64,
}

/// The account's directory of contacts.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts", tag = "schedules",
    params(("account_id" = uuid::Uuid, Path, description = "The account."), MinPositionParam,),
    responses(
        (status = 200, description = "The contacts.", body = Vec<views::ContactView>),
        ViewProblems,
    ))]
async fn list_contacts(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(fresh): Query<Freshness>,
) -> ApiResult<Json<Vec<views::ContactView>>> {
    caller.require_schedule_reader("read the directory")?;
    ensure_fresh(&app, fresh.min_position).await?;
    reachable_account(&app, &caller, account_id)?;
    let live = app.live().read();
    Ok(Json(live.contacts_of(account_id).into_iter().map(views::contact).collect()))
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    as_of: Option<String>,
    min_position: Option<u64>,
}

/// The schedule now, or as it was known at `as_of`.
/// The schedule as known at `as_of`, or as this node knows it now; with the instant that
/// state is known at, so that reading again as of that instant gives the same state.
async fn schedule_at(
    app: &AppState,
    caller: &Caller,
    id: ScheduleId,
    as_of: Option<DateTime<Utc>>,
) -> ApiResult<(ScheduleState, DateTime<Utc>)> {
    let Some(as_of) = as_of else {
        // Not "now": the model may be a change or two behind the log, and a replay as of
        // now would show those changes. Both from one look at the model, which moves on.
        let live = app.live().read();
        let state = reachable_in(&live, caller, id)?;
        return Ok((state, live.known_at().unwrap_or_else(Utc::now)));
    };
    reachable_schedule_record(app, caller, id)?;
    let past = schedule_as_of(app.store(), id, as_of).await?;
    // Not yet created, or already deleted, at that moment: there was no such schedule.
    if !past.exists() {
        return Err(ApiError::not_found("schedule"));
    }
    Ok((past, as_of))
}

/// The schedule's shifts in a range (a week back to four weeks ahead by default), now or as of an instant.
#[utoipa::path(get, path = "/api/v1/schedules/{schedule_id}/shifts", tag = "schedules",
    params(("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Start of the range, an RFC 3339 instant; 7 days before now by default."),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "End of the range, an RFC 3339 instant; 35 days after `from` by default."),
        ("as_of" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "The schedule as it was known at this instant."),
        MinPositionParam,),
    responses(
        (status = 200, description = "The schedule, its version, its shifts and a summary.", body = ShiftsAnswer),
        ViewProblems,
    ))]
async fn shifts(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    Query(query): Query<RangeQuery>,
) -> ApiResult<Json<ShiftsAnswer>> {
    caller.require_schedule_reader("read shifts")?;
    ensure_fresh(&app, query.min_position).await?;
    let as_of = views::parse_as_of(query.as_of.as_deref(), app.live().read().known_at())?;
    let (state, known_at) = schedule_at(&app, &caller, schedule_id, as_of).await?;
    let tz = state.time_zone();
    let from = match &query.from {
        Some(v) => views::parse_instant("from", v)?,
        None => Utc::now() - chrono::Duration::days(7),
    };
    let to = match &query.to {
        Some(v) => views::parse_instant("to", v)?,
        None => from + chrono::Duration::days(35),
    };
    if to <= from {
        let from_given = if query.from.is_some() { "" } else { " (7 days before now when not given)" };
        return Err(ApiError::bad_request(format!("to must come after from{from_given}.")));
    }
    let overlapping = state.shifts_overlapping(from, to);
    // As of a past moment, contacts are named as the directory then named them.
    let past_directory = match as_of {
        Some(as_of) => {
            let ids =
                overlapping.iter().flat_map(|s| s.assignee.into_iter().chain(s.overrides.iter().map(|o| o.contact_id)));
            Some(contacts_as_of(app.store(), ids.collect::<Vec<_>>(), as_of).await?)
        }
        None => None,
    };
    let live = app.live().read();
    let directory = past_directory.as_ref().map_or(Directory::Now(&live), Directory::AsOf);
    let shifts = overlapping.into_iter().map(|s| views::shift(directory, s, tz)).collect();
    let summary = state.summary(from, to);
    Ok(Json(ShiftsAnswer {
        schedule: views::schedule_head(schedule_id, &state),
        version: state.version(),
        as_of: views::at(known_at, tz),
        shifts,
        summary: RangeSummary {
            assigned: summary.assigned,
            unassigned: summary.unassigned,
            hours_assigned: summary.hours_assigned,
        },
    }))
}

/// A schedule's shifts over a range.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ShiftsAnswer {
    schedule: views::ScheduleHead,
    /// The schedule's stream version: send it back as `If-Match` to change the schedule.
    version: u64,
    /// The instant the schedule is shown as known at: the `as_of` asked for, or else the record
    /// time of the newest change this node had applied. Reading again with it gives this answer.
    as_of: String,
    /// Every shift overlapping the range, by start.
    shifts: Vec<views::ShiftView>,
    summary: RangeSummary,
}

/// What the range holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RangeSummary {
    /// Shifts overlapping the range with a base contact.
    assigned: usize,
    /// Shifts overlapping the range without one.
    unassigned: usize,
    /// Hours inside the range covered by a contact (base or override), two decimals.
    hours_assigned: f64,
}

/// Whether each day from `from` to `to` is covered.
#[utoipa::path(get, path = "/api/v1/schedules/{schedule_id}/coverage", tag = "schedules",
    params(("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("from" = chrono::NaiveDate, Query, description = "The first local date, e.g. 2026-05-01."),
        ("to" = chrono::NaiveDate, Query, description = "The last local date, at most 400 days after `from`."),
        ("as_of" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "The schedule as it was known at this instant."),
        MinPositionParam,),
    responses(
        (status = 200, description = "Each day's coverage.", body = CoverageAnswer),
        ViewProblems,
    ))]
async fn coverage(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    Query(query): Query<RangeQuery>,
) -> ApiResult<Json<CoverageAnswer>> {
    caller.require_schedule_reader("read coverage")?;
    ensure_fresh(&app, query.min_position).await?;
    let (Some(from), Some(to)) = (&query.from, &query.to) else {
        return Err(ApiError::bad_request("coverage needs from and to dates, e.g. ?from=2026-05-01&to=2026-05-31."));
    };
    let (from, to) = (views::parse_date("from", from)?, views::parse_date("to", to)?);
    if to < from || (to - from).num_days() > 400 {
        return Err(ApiError::bad_request("to must be on or after from, and at most 400 days later."));
    }
    let as_of = views::parse_as_of(query.as_of.as_deref(), app.live().read().known_at())?;
    let (state, _) = schedule_at(&app, &caller, schedule_id, as_of).await?;
    let days = state
        .coverage_of_days(from, to)
        .into_iter()
        .map(|(date, status)| DayCoverage { date: date.to_string(), status })
        .collect();
    Ok(Json(CoverageAnswer { days }))
}

/// The coverage calendar.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CoverageAnswer {
    /// One entry per local date from `from` to `to`.
    days: Vec<DayCoverage>,
}

/// A day's colour in the calendar.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DayCoverage {
    /// A local date, e.g. `2026-05-01`.
    date: String,
    /// `full` (green: every instant of the day's shifts has a contact), `partial` (yellow) or
    /// `none` (red: no instant has one, or the day has no shifts).
    #[schema(value_type = crate::routes::openapi::CoverageSchema, example = "partial")]
    status: vigie_domain::schedule::Coverage,
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    after: Option<u64>,
    limit: Option<usize>,
    min_position: Option<u64>,
}

/// Every change of the schedule, oldest first: who, when, why, and the event itself.
#[utoipa::path(get, path = "/api/v1/schedules/{schedule_id}/history", tag = "schedules",
    params(("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("after" = Option<u64>, Query, description = "A version of the schedule: the page starts with the next one."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many events (1 to 1000, 100 by default)."),
        MinPositionParam,),
    responses(
        (status = 200, description = "A page of the schedule's events, oldest first, and `next_after`.", body = HistoryPage),
        ViewProblems,
    ))]
async fn history(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<HistoryPage>> {
    caller.require_schedule_reader("read a schedule's history")?;
    ensure_fresh(&app, query.min_position).await?;
    reachable_schedule_record(&app, &caller, schedule_id)?;
    let tz = app.live().read().schedules.get(schedule_id).map_or(chrono_tz::UTC, |s| s.time_zone());
    let limit = page_limit(query.limit)?;
    let stream = vigie_domain::schedule::stream_id(schedule_id);
    // `after` is a version of this schedule: the page starts with the next one.
    let from_version = query.after.unwrap_or(0).saturating_add(1);
    let events = app.store().read_stream(&stream, from_version, Direction::Forward, limit).await?;
    let next_after = (events.len() == limit).then(|| events.last().map(|e| e.stream_version)).flatten();
    let events = events.iter().map(|e| HistoryEntry::of(e, tz).with_instants_in(tz)).collect();
    Ok(Json(HistoryPage { events, next_after }))
}

/// A page of history: a schedule's, or the whole log's.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryPage {
    /// Oldest first.
    pub events: Vec<HistoryEntry>,
    /// What to send as `after` for the next page; null on the last page for now.
    pub next_after: Option<u64>,
}

/// One stored event as history shows it: who, when, why, and the event itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// The event's position in the whole log.
    position: u64,
    /// The event's version in its stream.
    version: u64,
    stream_id: String,
    /// The event's type, e.g. `OverrideAdded`.
    #[serde(rename = "type")]
    event_type: String,
    schema_version: u32,
    /// When the log stored it, in the schedule's zone (UTC in the whole log's feed).
    recorded_at: String,
    actor: HistoryActor,
    /// The request that made the change, as its `X-Request-Id`.
    request_id: Option<uuid::Uuid>,
    /// The reason the user gave, if any.
    reason: Option<String>,
    /// The event's own fields, their instants in the schedule's zone (in UTC in the whole log's
    /// feed); null in the feed auditors read for messages and calls, which hold callers' personal data.
    #[schema(value_type = Option<Object>)]
    data: Value,
}

/// The fields of an event that hold instants, at any depth (a series' shifts have them too).
/// Named rather than guessed from their values, so that no text is ever rewritten.
const INSTANT_FIELDS: [&str; 3] = ["start", "end", "at"];

fn instants_in_zone(value: &mut Value, tz: chrono_tz::Tz) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                match field {
                    Value::String(text) if INSTANT_FIELDS.contains(&name.as_str()) => {
                        if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
                            *text = views::at(instant.to_utc(), tz);
                        }
                    }
                    _ => instants_in_zone(field, tz),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| instants_in_zone(item, tz)),
        _ => {}
    }
}

/// Who made a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryActor {
    id: Option<uuid::Uuid>,
    username: Option<String>,
}

impl HistoryEntry {
    pub fn of(event: &vigie_eventstore::StoredEvent, tz: chrono_tz::Tz) -> Self {
        let data: Value = event.data_as().unwrap_or(Value::Null);
        Self {
            position: event.position,
            version: event.stream_version,
            stream_id: event.stream_id.clone(),
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            recorded_at: views::at(event.recorded_at, tz),
            actor: HistoryActor { id: event.metadata.actor_id, username: event.metadata.actor_name.clone() },
            request_id: event.metadata.correlation_id,
            reason: data.get("reason").and_then(Value::as_str).map(str::to_owned),
            data,
        }
    }

    /// The entry with the instants of the event's fields written in `tz`, as every answer about
    /// a schedule writes them; the log stores them in UTC, and the whole log's feed shows them so.
    pub fn with_instants_in(mut self, tz: chrono_tz::Tz) -> Self {
        instants_in_zone(&mut self.data, tz);
        self
    }

    /// The entry without the event's fields: who changed what, when, but not what it said.
    pub fn withheld(self) -> Self {
        Self { data: Value::Null, reason: None, ..self }
    }
}
