//! Operators' administration: accounts, users and passwords, contacts, schedules, shifts and series.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_domain::contact::ContactDetails;
use vigie_domain::schedule::{
    AddShiftCommand, CreateScheduleCommand, CreateSeriesCommand, RepeatUnit, SeriesEnd, SeriesRule,
};
use vigie_domain::{
    Account, AccountCommand, AccountId, Contact, ContactCommand, ContactId, Role, Schedule, ScheduleId, SeriesId,
    ShiftId, User, UserCommand, UserId, account, contact, parse_time_zone, schedule, user,
};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{Caller, password, store};
use crate::commands::{self, ChangeHeaders, Changed, Created};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems, ContactDetailsSchema};
use crate::routes::schedules::{reachable_account, require_schedule};
use crate::routes::views::{self, JsonBody};
use crate::unique_names::{self, Kind};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_account))
        .routes(routes!(create_user))
        .routes(routes!(reset_password))
        .routes(routes!(add_contact))
        .routes(routes!(create_schedule))
        .routes(routes!(add_shift))
        .routes(routes!(create_series))
}

fn created(id: impl Into<uuid::Uuid>, changed: Changed) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!(Created::new(id, changed))))
}

fn time_zone(name: &str) -> ApiResult<chrono_tz::Tz> {
    parse_time_zone(name).map_err(ApiError::from)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    number: String,
    name: String,
    time_zone: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<AccountId>,
}

/// Opens a client account (operators).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "administration", request_body = AccountBody,
    params(
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn open_account(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("open accounts")?;
    let tz = time_zone(&body.time_zone)?;
    if let Some(parent) = body.parent_id {
        reachable_account(&app, &caller, parent)?;
    }
    let id = AccountId::new_v7();
    let in_log = app.live().read().account_by_number(body.number.trim()).is_some();
    let exists = |owner| app.live().read().accounts.get(AccountId::from_uuid(owner)).is_some();
    let claimed = !in_log && unique_names::claim(&app, Kind::AccountNumber, &body.number, id.as_uuid(), exists).await?;
    let number_taken = !claimed;
    let headers = ChangeHeaders::from_headers(&headers)?;
    let opened = commands::execute::<Account>(&app, &caller, id, &headers, None, |state, ctx| {
        let command = account::OpenAccountCommand {
            account_id: id,
            number: body.number.clone(),
            name: body.name.clone(),
            time_zone: tz,
            parent_id: body.parent_id,
            number_taken,
        };
        account::decide(state, AccountCommand::Open(command), ctx)
    })
    .await;
    if opened.is_err() && claimed {
        unique_names::release(&app, Kind::AccountNumber, &body.number, id.as_uuid()).await;
    }
    Ok(created(id, opened?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserBody {
    username: String,
    password: String,
    #[schema(value_type = crate::routes::openapi::RoleSchema, example = "client")]
    role: Role,
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    account_ids: Vec<AccountId>,
}

/// Creates a user (operators).
#[utoipa::path(post, path = "/api/v1/users", tag = "administration", request_body = UserBody,
    params(
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn create_user(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("create users")?;
    password::check_strength(&body.password)?;
    for account in &body.account_ids {
        reachable_account(&app, &caller, *account)?;
    }
    let id = UserId::new_v7();
    let in_log = app.live().read().user_by_name(body.username.trim()).is_some();
    let exists = |owner| app.live().read().users.get(UserId::from_uuid(owner)).is_some();
    let claimed = !in_log && unique_names::claim(&app, Kind::Username, &body.username, id.as_uuid(), exists).await?;
    let username_taken = !claimed;
    // The credential first: a user that exists in the log can always log in.
    let hash = password::hash(&password::take_turn().await?, body.password.clone()).await?;
    store::set_password_hash(app.db(), id, &hash, Utc::now()).await?;
    let headers = ChangeHeaders::from_headers(&headers)?;
    let made = commands::execute::<User>(&app, &caller, id, &headers, None, |state, ctx| {
        let command = UserCommand::Create {
            user_id: id,
            username: body.username.clone(),
            role: body.role,
            account_ids: body.account_ids.clone(),
            username_taken,
        };
        user::decide(state, command, ctx)
    })
    .await;
    if made.is_err() && claimed {
        unique_names::release(&app, Kind::Username, &body.username, id.as_uuid()).await;
    }
    Ok(created(id, made?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    new_password: String,
}

/// Sets a user's password, ends their sessions and revokes their calendar feeds (operators).
#[utoipa::path(put, path = "/api/v1/users/{user_id}/password", tag = "administration", request_body = ResetBody,
    params(
        ("user_id" = uuid::Uuid, Path, description = "The user."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 204, description = "Reset."),
        ChangeProblems,
    ))]
async fn reset_password(
    State(app): State<AppState>,
    caller: Caller,
    Path(user_id): Path<UserId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<StatusCode> {
    caller.require_operator("reset passwords")?;
    password::check_strength(&body.new_password)?;
    let hash = password::hash(&password::take_turn().await?, body.new_password).await?;
    let headers = ChangeHeaders::from_headers(&headers)?;
    commands::execute::<User>(&app, &caller, user_id, &headers, None, |state, ctx| {
        user::decide(state, UserCommand::ResetPassword, ctx)
    })
    .await?;
    store::set_password_hash(app.db(), user_id, &hash, Utc::now()).await?;
    store::delete_sessions_of(app.db(), user_id).await?;
    app.sessions().forget_user(user_id);
    tracing::info!(user = %user_id, "password reset by an operator");
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a contact to the account's directory (operators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts", tag = "administration", request_body = ContactDetailsSchema,
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn add_contact(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    JsonBody(details): JsonBody<ContactDetailsSchema>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let details = ContactDetails::from(details);
    caller.require_operator("maintain the directory")?;
    reachable_account(&app, &caller, account_id)?;
    let id = ContactId::new_v7();
    let headers = ChangeHeaders::from_headers(&headers)?;
    let changed = commands::execute::<Contact>(&app, &caller, id, &headers, None, |state, ctx| {
        contact::decide(state, ContactCommand::Add { contact_id: id, account_id, details: details.clone() }, ctx)
    })
    .await?;
    Ok(created(id, changed))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ScheduleBody {
    name: String,
    time_zone: Option<String>,
}

/// Creates a schedule for the account (operators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/schedules", tag = "administration", request_body = ScheduleBody,
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn create_schedule(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ScheduleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("create schedules")?;
    reachable_account(&app, &caller, account_id)?;
    let tz = match &body.time_zone {
        Some(name) => time_zone(name)?,
        None => app.live().read().account(account_id).map(|a| a.time_zone).unwrap_or(chrono_tz::UTC),
    };
    let id = ScheduleId::new_v7();
    let headers = ChangeHeaders::from_headers(&headers)?;
    let claimed = unique_names::claim_schedule_name(&app, account_id, id, &body.name).await?;
    let changed = commands::execute::<Schedule>(&app, &caller, id, &headers, None, |state, ctx| {
        let name = body.name.clone();
        let command = CreateScheduleCommand { schedule_id: id, account_id, name, time_zone: tz, name_taken: !claimed };
        schedule::decide(state, command.into(), ctx)
    })
    .await;
    if changed.is_err() && claimed {
        unique_names::release_schedule_name(&app, account_id, id, &body.name).await;
    }
    Ok(created(id, changed?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ShiftBody {
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    start: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    end: String,
    /// Call order within the role: 0 is called first, then 1, up to 99.
    #[schema(value_type = u32, maximum = 99)]
    rank: i64,
    name: String,
    role: String,
    /// Required when the shift starts in the past: it changes who was on call then.
    reason: Option<String>,
}

/// Adds a shift to the schedule (operators).
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/shifts", tag = "administration", request_body = ShiftBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn add_shift(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ShiftBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("create shifts")?;
    require_schedule(&app, &caller, schedule_id)?;
    let (start, end) = (views::parse_boundary("start", &body.start)?, views::parse_boundary("end", &body.end)?);
    let rank = views::rank(body.rank)?;
    let shift_id = ShiftId::new_v7();
    let headers = ChangeHeaders::from_headers(&headers)?;
    let changed =
        commands::execute::<Schedule>(&app, &caller, schedule_id, &headers, body.reason.clone(), |state, ctx| {
            let command =
                AddShiftCommand { shift_id, start, end, rank, name: body.name.clone(), role: body.role.clone() };
            schedule::decide(state, command.into(), ctx)
        })
        .await?;
    Ok(created(shift_id, changed))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Days,
    Weeks,
}

/// A series in the schedule's wall-clock time: `first_start` and `first_end`
/// are local (`2026-03-02T07:30:00`), then every N days or weeks (a step of at
/// most 366 days), for a count or until a local date. A shift whose local times
/// both fall in the hour skipped when clocks spring forward is left out that night.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SeriesBody {
    /// Local wall-clock time, without an offset.
    #[schema(value_type = String, example = "2026-03-02T07:30:00")]
    first_start: NaiveDateTime,
    /// Local wall-clock time, without an offset.
    #[schema(value_type = String, example = "2026-03-09T07:30:00")]
    first_end: NaiveDateTime,
    every: u32,
    unit: Unit,
    count: Option<u32>,
    until: Option<NaiveDate>,
    /// Call order within the role: 0 is called first, then 1, up to 99.
    #[schema(value_type = u32, maximum = 99)]
    rank: i64,
    name: String,
    role: String,
    /// Required when the series starts in the past: it changes who was on call then.
    reason: Option<String>,
}

/// Adds a series of repeating shifts to the schedule (operators).
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/series", tag = "administration", request_body = SeriesBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new `id`, its `version` and the change's log `position`.", body = Created),
        ChangeProblems,
    ))]
async fn create_series(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SeriesBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("create shifts")?;
    require_schedule(&app, &caller, schedule_id)?;
    views::no_leap_second("first_start", &body.first_start)?;
    views::no_leap_second("first_end", &body.first_end)?;
    let end = match (body.count, body.until) {
        (Some(count), None) => SeriesEnd::Count(count),
        (None, Some(until)) => SeriesEnd::Until(views::date_in_range("until", until)?),
        _ => return Err(ApiError::bad_request("A series ends after a count or on an until date: give exactly one.")),
    };
    let unit = match body.unit {
        Unit::Days => RepeatUnit::Days,
        Unit::Weeks => RepeatUnit::Weeks,
    };
    let (first_start, first_end) = (views::to_the_second(body.first_start), views::to_the_second(body.first_end));
    let rule = SeriesRule { first_start, first_end, every: body.every, unit, end };
    let rank = views::rank(body.rank)?;
    let series_id = SeriesId::new_v7();
    let headers = ChangeHeaders::from_headers(&headers)?;
    let changed =
        commands::execute::<Schedule>(&app, &caller, schedule_id, &headers, body.reason.clone(), |state, ctx| {
            let command = CreateSeriesCommand {
                series_id,
                rule: rule.clone(),
                rank,
                name: body.name.clone(),
                role: body.role.clone(),
            };
            schedule::decide(state, command.into(), ctx)
        })
        .await?;
    Ok(created(series_id, changed))
}
