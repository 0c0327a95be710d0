//! Changing who is on call: assign, override, unassign, swap and comment (clients and operators).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigie_domain::schedule::{
    AssignCommand, CommentCommand, ContactFacts, OverrideCommand, Recurrence, SwapCommand, UnassignCommand,
};
use vigie_domain::{ContactId, OverrideId, Schedule, ScheduleCommand, ScheduleId, ShiftId, schedule};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::{self, ChangeHeaders, Changed};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems};
use crate::routes::schedules::require_schedule;
use crate::routes::views::{self, JsonBody, OptionalJsonBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign))
        .routes(routes!(add_override))
        .routes(routes!(unassign))
        .routes(routes!(swap))
        .routes(routes!(comment))
}

/// What adding an override answers: the override's id, then as [`Changed`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OverrideAdded {
    /// The new override's id, to unassign it later.
    override_id: uuid::Uuid,
    /// The schedule's new version: send it as `If-Match` with the next change.
    version: u64,
    /// The log position of the change's last event: send it as `min_position` to read the change back.
    position: u64,
}

/// The directory's facts about a contact, for the schedule's rules; 422 if unknown.
///
/// A contact of an account the caller does not reach is, to them, no contact
/// at all: "of another account" would tell a client that it exists.
/// Operators reach every account, and the domain tells them which it is.
fn contact_facts(app: &AppState, caller: &Caller, contact_id: ContactId) -> ApiResult<ContactFacts> {
    let live = app.live().read();
    live.contacts.get(contact_id).and_then(|c| c.facts()).filter(|c| caller.reaches(c.account_id)).ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_contact", "There is no such contact in the directory.")
    })
}

/// The deactivated contacts of the schedule's account, which a swap may not move nor a copy keep.
pub(crate) fn inactive_contacts(app: &AppState, schedule_id: ScheduleId) -> Vec<ContactId> {
    let live = app.live().read();
    let account = live.schedules.get(schedule_id).and_then(|s| s.info()).map(|info| info.account_id);
    let contacts = account.map(|account| live.contacts_of(account)).unwrap_or_default();
    contacts.into_iter().filter(|c| !c.active).map(|c| c.id).collect()
}

/// Runs a schedule command for the caller and
/// answers [`Changed`], or [`OverrideAdded`] (201) when it adds `added`.
async fn change(
    app: &AppState,
    caller: &Caller,
    schedule_id: ScheduleId,
    headers: &HeaderMap,
    reason: Option<String>,
    added: Option<OverrideId>,
    command: impl Fn() -> ScheduleCommand,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_writer()?;
    require_schedule(app, caller, schedule_id)?;
    let headers = ChangeHeaders::from_headers(headers)?;
    let changed = commands::execute::<Schedule>(app, caller, schedule_id, &headers, reason, |state, ctx| {
        schedule::decide(state, command(), ctx)
    })
    .await?;
    let (status, body) = match added {
        Some(override_id) => {
            let Changed { version, position } = changed;
            (StatusCode::CREATED, json!(OverrideAdded { override_id: override_id.into(), version, position }))
        }
        None => (StatusCode::OK, json!(changed)),
    };
    Ok((status, Json(body)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecurringBody {
    every: Option<u32>,
    until: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    #[schema(value_type = uuid::Uuid)]
    contact_id: ContactId,
    comment: Option<String>,
    recurring: Option<RecurringBody>,
    reason: Option<String>,
}

/// Puts a contact on the shift, once or recurring.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/assign", tag = "changes", request_body = AssignBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The schedule's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn assign(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // The schedule first: a client naming another account's schedule learns nothing of it.
    require_schedule(&app, &caller, schedule_id)?;
    let contact = contact_facts(&app, &caller, body.contact_id)?;
    let recurring = match body.recurring {
        Some(r) => {
            let until = r.until.map(|until| views::date_in_range("until", until)).transpose()?;
            Some(Recurrence { every: r.every.unwrap_or(1), until })
        }
        None => None,
    };
    change(&app, &caller, schedule_id, &headers, body.reason, None, || {
        AssignCommand { shift_id, contact: contact.clone(), comment: body.comment.clone(), recurring }.into()
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    #[schema(value_type = uuid::Uuid)]
    contact_id: ContactId,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    start: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    end: String,
    comment: Option<String>,
    reason: Option<String>,
}

/// Puts a contact on part of the shift, over whoever is assigned. A `start` up to 5 minutes
/// before the server's now means "from now on" (clocks lag): the override then starts at the
/// server's next whole second, so who was on call until now stays as dispatch saw it. Only an
/// operator's `reason` keeps a start in the past.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/overrides", tag = "changes", request_body = OverrideBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The override's id, the schedule's new `version` and the change's `position`.", body = OverrideAdded),
        ChangeProblems,
    ))]
async fn add_override(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OverrideBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let start = views::parse_boundary("start", &body.start)?;
    let end = views::parse_boundary("end", &body.end)?;
    // The schedule first: a client naming another account's schedule learns nothing of it.
    require_schedule(&app, &caller, schedule_id)?;
    let contact = contact_facts(&app, &caller, body.contact_id)?;
    let override_id = OverrideId::new_v7();
    change(&app, &caller, schedule_id, &headers, body.reason, Some(override_id), || {
        OverrideCommand { override_id, shift_id, contact: contact.clone(), start, end, comment: body.comment.clone() }
            .into()
    })
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UnassignBody {
    #[schema(value_type = Option<uuid::Uuid>)]
    override_id: Option<OverrideId>,
    reason: Option<String>,
}

/// Takes the contact (or one override) off the shift. A running override, even one that
/// started a moment ago, is ended at the next whole second instead (`OverrideCutShort`),
/// unless an operator gives a reason.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/unassign", tag = "changes", request_body = Option<UnassignBody>,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The schedule's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn unassign(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
    // The body is optional: without one, the base contact is removed.
    OptionalJsonBody(body): OptionalJsonBody<UnassignBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    change(&app, &caller, schedule_id, &headers, body.reason, None, || {
        UnassignCommand { shift_id, override_id: body.override_id }.into()
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SwapBody {
    #[schema(value_type = uuid::Uuid)]
    shift_a: ShiftId,
    #[schema(value_type = uuid::Uuid)]
    shift_b: ShiftId,
    reason: Option<String>,
}

/// Swaps the contacts of two shifts.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/swap", tag = "changes", request_body = SwapBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The schedule's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn swap(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SwapBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let inactive = inactive_contacts(&app, schedule_id);
    change(&app, &caller, schedule_id, &headers, body.reason, None, || {
        SwapCommand { shift_a: body.shift_a, shift_b: body.shift_b, inactive_contacts: inactive.clone() }.into()
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    text: String,
    reason: Option<String>,
}

/// Comments on the shift.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/comments", tag = "changes", request_body = CommentBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The schedule's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn comment(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    change(&app, &caller, schedule_id, &headers, body.reason, None, || {
        CommentCommand { shift_id, text: body.text.clone() }.into()
    })
    .await
}
