//! The inbox and the call log over HTTP: filtered reads and the CSV download from the SQL read models, and the changes to messages and calls.
//!
//! Messages and calls are not in the live model: a change is decided against
//! the state replayed from its own stream, and appended with the version that
//! replay ended at, kept only for the retention period (see [`stream`]).

mod calls;
pub(crate) mod recordings;
mod stream;

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigie_domain::inbox::{Recipient, TakeMessageCommand};
use vigie_domain::{AccountId, ContactId, DomainError, Message, MessageCommand, MessageId};
use vigie_projections::inbox::{InboxQuery, MessageStatus, MessageView, Window};
use vigie_projections::sql::ProjectionError;

use self::stream::on_stream;
use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::{ChangeHeaders, Changed, Created};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems, MinPositionParam, ViewProblems};
use crate::routes::schedules::reachable_account;
use crate::routes::views::{self, JsonBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, take_message))
        .routes(routes!(messages_csv))
        .routes(routes!(close_message))
        .routes(routes!(reopen_message))
        .routes(routes!(deliver_message))
        .merge(calls::routes())
        .merge(recordings::routes())
}

/// The most messages one page holds.
const MAX_PAGE: u32 = 500;

/// The account's time zone, once the caller is known to read inboxes (403
/// otherwise) and to reach the account (404 otherwise).
fn account_zone(app: &AppState, caller: &Caller, account_id: AccountId) -> ApiResult<Tz> {
    caller.require_inbox_reader()?;
    reachable_account(app, caller, account_id)?;
    Ok(app.live().read().account(account_id).map_or(chrono_tz::UTC, |a| a.time_zone))
}

/// How far ahead of this server's clock a message or call may be dated: the agents' clocks drift a little.
const CLOCK_TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// The oldest message or call time still kept, `retention_days` before now.
fn kept_since(app: &AppState) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(i64::from(app.read_models().retention_days()))
}

/// Refuses a message's or call's time that no view would ever show: in the
/// future, or older than the retention period, so already due for purging.
fn check_kept(app: &AppState, field: &str, at: DateTime<Utc>) -> ApiResult<()> {
    if at > Utc::now() + CLOCK_TOLERANCE {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "in_the_future",
            format!("{field} is in the future."),
        ));
    }
    if at < kept_since(app) {
        let days = app.read_models().retention_days();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "past_retention",
            format!("{field} is older than the {days} days messages and calls are kept."),
        ));
    }
    Ok(())
}

fn projection_error(error: ProjectionError) -> ApiError {
    match error {
        ProjectionError::InvalidQuery(detail) => ApiError::bad_request(format!("{}.", capitalized(&detail))),
        ProjectionError::Database(error) => error.into(),
        ProjectionError::Store(error) => error.into(),
        other => ApiError::internal(other),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The inbox query of `?window=&from=&to=&status=&urgent=&q=&limit=&offset=`, every field checked.
fn inbox_query(
    params: &HashMap<String, String>,
    account_id: AccountId,
    zone: Tz,
    retention_days: u32,
) -> ApiResult<InboxQuery> {
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let date = |name: &str| param(name).map(|v| views::parse_date(name, v)).transpose();
    let now = Utc::now();
    let window = match (param("window"), date("from")?, date("to")?) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request("Give either window or from and to, not both."));
        }
        (Some("today"), ..) => Window::Today,
        (Some("yesterday"), ..) => Window::Yesterday,
        (Some("last_week"), ..) => Window::LastWeek,
        (Some("last_month"), ..) => Window::LastMonth,
        (Some(_), ..) => {
            return Err(ApiError::bad_request("window is one of today, yesterday, last_week or last_month."));
        }
        (None, None, None) => Window::All,
        (None, from, to) => {
            let today = now.with_timezone(&zone).date_naive();
            let to = to.unwrap_or(today);
            let oldest = to - chrono::Days::new(u64::from(retention_days));
            Window::Range { from: from.unwrap_or(oldest), to }
        }
    };
    let status = match param("status") {
        None => None,
        Some("open") => Some(MessageStatus::Open),
        Some("closed") => Some(MessageStatus::Closed),
        Some(_) => return Err(ApiError::bad_request("status is open or closed.")),
    };
    let (limit, offset) = paging(params, 50, MAX_PAGE)?;
    Ok(InboxQuery {
        window,
        status,
        urgent: param("urgent").map(parse_bool("urgent")).transpose()?,
        text: param("q").map(str::to_owned),
        limit,
        offset,
        ..InboxQuery::new(account_id, zone, now)
    })
}

/// The `limit` (1 to `max`, `default` when left out) and `offset` (0 when left out) of a paged list.
fn paging(params: &HashMap<String, String>, default: u32, max: u32) -> ApiResult<(u32, u32)> {
    let number = |name: &str, default: u32| match params.get(name).map(String::as_str).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| ApiError::bad_request(format!("{name} is a whole number from 0 to {}.", u32::MAX))),
    };
    let limit = number("limit", default)?;
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit is between 1 and {max}.")));
    }
    Ok((limit, number("offset", 0)?))
}

fn parse_bool(name: &'static str) -> impl Fn(&str) -> ApiResult<bool> {
    move |value| match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{name} is true or false."))),
    }
}

fn min_position(params: &HashMap<String, String>) -> ApiResult<Option<u64>> {
    params
        .get("min_position")
        .map(|v| v.parse().map_err(|_| ApiError::bad_request("min_position is a log position, a whole number.")))
        .transpose()
}

/// The account's messages, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/messages", tag = "inbox",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("window" = Option<String>, Query, description = "`today`, `yesterday`, `last_week` or `last_month`; or give `from` and `to`."),
        ("from" = Option<chrono::NaiveDate>, Query, description = "The first local date."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "The last local date."),
        ("status" = Option<String>, Query, description = "`open` or `closed`."),
        ("urgent" = Option<bool>, Query, description = "Only urgent (or only not urgent) messages."),
        ("q" = Option<String>, Query, description = "Text found in the caller's name or number, the message or the agent, ignoring case and accents; a telephone number matches however it is written."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many messages (50 by default, 500 at most)."),
        ("offset" = Option<u32>, Query, description = "Skip this many."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "A page of messages and their total.", body = MessagesAnswer),
        ViewProblems,
    ))]
async fn list_messages(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<MessagesAnswer>> {
    let zone = account_zone(&app, &caller, account_id)?;
    let query = inbox_query(&params, account_id, zone, app.read_models().retention_days())?;
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let page = app.read_models().inbox().query(&query).await.map_err(projection_error)?;
    Ok(Json(MessagesAnswer { messages: page.messages, total: page.total, limit: query.limit, offset: query.offset }))
}

/// A page of an account's messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MessagesAnswer {
    /// Newest first.
    messages: Vec<MessageView>,
    /// How many messages match in all.
    total: u64,
    limit: u32,
    offset: u32,
}

/// The same messages as a CSV download.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/messages.csv", tag = "inbox",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("window" = Option<String>, Query, description = "`today`, `yesterday`, `last_week` or `last_month`; or give `from` and `to`."),
        ("from" = Option<chrono::NaiveDate>, Query, description = "The first local date."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "The last local date."),
        ("status" = Option<String>, Query, description = "`open` or `closed`."),
        ("urgent" = Option<bool>, Query, description = "Only urgent (or only not urgent) messages."),
        ("q" = Option<String>, Query, description = "Text found in the caller's name or number, the message or the agent, ignoring case and accents; a telephone number matches however it is written."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "The CSV file: every matching message (no paging), UTF-8 with a byte-order mark.", body = String, content_type = "text/csv"),
        ViewProblems,
    ))]
async fn messages_csv(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let zone = account_zone(&app, &caller, account_id)?;
    let query = inbox_query(&params, account_id, zone, app.read_models().retention_days())?;
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let csv = app.read_models().inbox().export_csv(&query).await.map_err(projection_error)?;
    // A byte-order mark first: without it, Excel reads the UTF-8 file as Windows-1252 and the
    // accents of French names come out as "Ã©".
    let csv = format!("\u{feff}{csv}");
    let number = app.live().read().account(account_id).map(|a| a.number.clone()).unwrap_or_default();
    let today = query.now.with_timezone(&zone).date_naive();
    // The account number is digits and letters chosen by operators; keep the file name plain.
    let number: String = number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let disposition = format!("attachment; filename=\"messages-{number}-{today}.csv\"");
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?);
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TakeMessageBody {
    /// Defaults to now.
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    taken_at: Option<String>,
    agent: String,
    caller_name: Option<String>,
    caller_number: Option<String>,
    text: String,
    #[serde(default)]
    urgent: bool,
}

/// Records a message taken for the account (operators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/messages", tag = "inbox", request_body = TakeMessageBody,
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new message's `id`, `version` and the change's `position`.", body = Created),
        ChangeProblems,
    ))]
async fn take_message(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TakeMessageBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("record messages")?;
    account_zone(&app, &caller, account_id)?;
    let taken_at = body.taken_at.as_deref().map(|v| views::parse_instant("taken_at", v)).transpose()?;
    if let Some(taken_at) = taken_at {
        check_kept(&app, "taken_at", taken_at)?;
    }
    let headers = ChangeHeaders::from_headers(&headers)?;
    let message_id = MessageId::new_v7();
    let changed = on_stream::<Message>(&app, &caller, message_id, &headers, |state, ctx| {
        let take = TakeMessageCommand {
            message_id,
            account_id,
            taken_at: taken_at.unwrap_or(ctx.now),
            agent: body.agent.clone(),
            caller_name: body.caller_name.clone(),
            caller_number: body.caller_number.clone(),
            text: body.text.clone(),
            urgent: body.urgent,
        };
        vigie_domain::inbox::decide(state, MessageCommand::Take(take), ctx)
    })
    .await?;
    let changed = Changed { version: changed.0, position: changed.1 };
    Ok((StatusCode::CREATED, Json(json!(Created::new(message_id, changed)))))
}

/// Closes the message.
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/close", tag = "inbox",
    params(
        ("message_id" = uuid::Uuid, Path, description = "The message."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The message's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn close_message(
    State(app): State<AppState>,
    caller: Caller,
    Path(message_id): Path<MessageId>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    change_message(app, caller, message_id, headers, |_| Ok(MessageCommand::Close)).await
}

/// Reopens the message.
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/reopen", tag = "inbox",
    params(
        ("message_id" = uuid::Uuid, Path, description = "The message."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The message's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn reopen_message(
    State(app): State<AppState>,
    caller: Caller,
    Path(message_id): Path<MessageId>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    change_message(app, caller, message_id, headers, |_| Ok(MessageCommand::Reopen)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DeliveryBody {
    /// A contact of the message's account…
    #[schema(value_type = Option<uuid::Uuid>)]
    contact_id: Option<ContactId>,
    /// …or someone outside the directory, by name.
    name: Option<String>,
}

/// Operators record to whom a message was delivered.
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/deliveries", tag = "inbox", request_body = DeliveryBody,
    params(
        ("message_id" = uuid::Uuid, Path, description = "The message."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The message's new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn deliver_message(
    State(app): State<AppState>,
    caller: Caller,
    Path(message_id): Path<MessageId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DeliveryBody>,
) -> ApiResult<Json<Value>> {
    caller.require_operator("record deliveries")?;
    let to = match (body.contact_id, body.name) {
        (Some(contact_id), None) => Recipient::Contact { contact_id },
        (None, Some(name)) => Recipient::Other { name },
        _ => return Err(ApiError::bad_request("Give either contact_id or name.")),
    };
    let contact_account = match &to {
        Recipient::Contact { contact_id } => {
            let contact = app.live().read().contact(*contact_id).map(|c| c.account_id);
            Some(contact.ok_or_else(|| ApiError::not_found("contact"))?)
        }
        Recipient::Other { .. } => None,
    };
    change_message(app, caller, message_id, headers, move |message_account| {
        if contact_account.is_some_and(|account| account != message_account) {
            return Err(DomainError::NotFound(vigie_domain::error::Entity::Contact));
        }
        Ok(MessageCommand::Deliver { to: to.clone() })
    })
    .await
}

/// Changes a message of an account the caller reaches; `command` gets the message's account.
async fn change_message(
    app: AppState,
    caller: Caller,
    message_id: MessageId,
    headers: HeaderMap,
    command: impl Fn(AccountId) -> Result<MessageCommand, DomainError>,
) -> ApiResult<Json<Value>> {
    caller.require_writer()?;
    let headers = ChangeHeaders::from_headers(&headers)?;
    let (version, position) = on_stream::<Message>(&app, &caller, message_id, &headers, |state, ctx| {
        // A message of an account the caller does not reach, or one past retention (gone from
        // every view, its events due for purging), is, to them, no message at all.
        match &state.message {
            Some(m) if caller.reaches(m.taken.account_id) && m.taken.taken_at >= kept_since(&app) => {
                vigie_domain::inbox::decide(state, command(m.taken.account_id)?, ctx)
            }
            _ => Err(DomainError::NotFound(vigie_domain::error::Entity::Message)),
        }
    })
    .await?;
    Ok(Json(json!(Changed { version, position })))
}
