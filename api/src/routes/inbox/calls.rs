//! The call log over HTTP: searches split into recent and archive, one call, and operators logging calls.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_domain::calls::{CallKind, LogCallCommand};
use vigie_domain::{AccountId, Call, CallCommand, CallId};
use vigie_projections::call_log::{self, CallLogView, CallQuery, CallView};

use super::stream::on_stream;
use super::{account_zone, check_kept, min_position, projection_error};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::{ChangeHeaders, Changed, Created};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems, MinPositionParam, ViewProblems};
use crate::routes::views::{self, JsonBody};

/// The longest call the log takes: a day.
const MAX_CALL_SECONDS: u32 = 24 * 60 * 60;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_calls, log_call)).routes(routes!(one_call))
}

/// The account's calls: the recent ones, and the archive matching the filters.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls", tag = "inbox",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("from" = Option<chrono::NaiveDate>, Query, description = "The first local date."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "The last local date."),
        ("caller_id" = Option<String>, Query, description = "Text found in the caller ID, ignoring case and accents; a telephone number matches however it is written (`+1 418 555 0142` finds `418-555-0142`)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many calls, newest first (500 by default, 1000 at most)."),
        ("offset" = Option<u32>, Query, description = "Skip this many."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "A page of the calls, split into `recent` and `archive`, with how many match in each.", body = CallLogView),
        ViewProblems,
    ))]
async fn search_calls(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<CallLogView>> {
    let zone = account_zone(&app, &caller, account_id)?;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let date = |name: &str| param(name).map(|v| views::parse_date(name, v)).transpose();
    let (limit, offset) = super::paging(&params, call_log::DEFAULT_PAGE, call_log::MAX_PAGE)?;
    let query = CallQuery {
        from: date("from")?,
        to: date("to")?,
        caller_id: param("caller_id").map(str::to_owned),
        limit,
        offset,
        ..CallQuery::new(account_id, zone, Utc::now())
    };
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let view = app.read_models().call_log().search(&query).await.map_err(projection_error)?;
    Ok(Json(view))
}

/// One call of the account.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls/{call_id}", tag = "inbox",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("call_id" = uuid::Uuid, Path, description = "The call."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "The call.", body = CallView),
        ViewProblems,
    ))]
async fn one_call(
    State(app): State<AppState>,
    caller: Caller,
    Path((account_id, call_id)): Path<(AccountId, CallId)>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<CallView>> {
    let zone = account_zone(&app, &caller, account_id)?;
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let call = app.read_models().call_log().call(account_id, call_id, zone, Utc::now()).await;
    match call.map_err(projection_error)? {
        Some(call) => Ok(Json(call)),
        None => Err(ApiError::not_found("call")),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LogCallBody {
    call_number: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    started_at: String,
    duration_seconds: u32,
    agent: String,
    caller_id: Option<String>,
    #[schema(value_type = crate::routes::openapi::CallKindSchema, example = "voice")]
    kind: CallKind,
}

/// Records a call to the account's number (operators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/calls", tag = "inbox", request_body = LogCallBody,
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new call's `id`, `version` and the change's `position`.", body = Created),
        ChangeProblems,
    ))]
async fn log_call(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LogCallBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_operator("record calls")?;
    account_zone(&app, &caller, account_id)?;
    let started_at: DateTime<Utc> = views::parse_instant("started_at", &body.started_at)?;
    check_kept(&app, "started_at", started_at)?;
    if body.duration_seconds > MAX_CALL_SECONDS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "call_too_long",
            format!("A call lasts at most {MAX_CALL_SECONDS} seconds (a day)."),
        ));
    }
    let headers = ChangeHeaders::from_headers(&headers)?;
    let call_id = CallId::new_v7();
    let (version, position) = on_stream::<Call>(&app, &caller, call_id, &headers, |state, ctx| {
        let log = LogCallCommand {
            call_id,
            account_id,
            call_number: body.call_number.clone(),
            started_at,
            duration_seconds: body.duration_seconds,
            agent: body.agent.clone(),
            caller_id: body.caller_id.clone(),
            kind: body.kind,
        };
        vigie_domain::calls::decide(state, CallCommand::Log(log), ctx)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(Created::new(call_id, Changed { version, position })))))
}
