//! The call log over HTTP: searches split into recent and archive, one call, and operators logging calls.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_domain::calls::{CallKind, LogCallCommand};
use vigie_domain::{AccountId, Call, CallCommand, CallId};
use vigie_projections::call_log::CallQuery;

use super::stream::on_stream;
use super::{account_zone, min_position, projection_error};
use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::{self, ChangeHeaders};
use crate::error::{ApiError, ApiResult};
use crate::routes::views::{self, JsonBody};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts/{account_id}/calls", get(search_calls).post(log_call))
        .route("/api/v1/accounts/{account_id}/calls/{call_id}", get(one_call))
}

async fn search_calls(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let zone = account_zone(&app, &caller, account_id)?;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let date = |name: &str| param(name).map(|v| views::parse_date(name, v)).transpose();
    let query = CallQuery {
        from: date("from")?,
        to: date("to")?,
        caller_id: param("caller_id").map(str::to_owned),
        ..CallQuery::new(account_id, zone, Utc::now())
    };
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let view = app.read_models().call_log().search(&query).await.map_err(projection_error)?;
    Ok(Json(json!({"recent": view.recent, "archive": view.archive})))
}

async fn one_call(
    State(app): State<AppState>,
    caller: Caller,
    Path((account_id, call_id)): Path<(AccountId, CallId)>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let zone = account_zone(&app, &caller, account_id)?;
    app.read_models().ensure_fresh(min_position(&params)?).await?;
    let call = app.read_models().call_log().call(account_id, call_id, zone, Utc::now()).await;
    match call.map_err(projection_error)? {
        Some(call) => Ok(Json(json!(call))),
        None => Err(ApiError::not_found("call")),
    }
}

#[derive(Debug, Deserialize)]
struct LogCallBody {
    call_number: String,
    started_at: String,
    duration_seconds: u32,
    agent: String,
    caller_id: Option<String>,
    kind: CallKind,
}

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
    let headers = ChangeHeaders::from_headers(&headers)?;
    let (status, body) = commands::once(&app, &caller, &headers, async {
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
        Ok((StatusCode::CREATED, json!({"id": call_id, "version": version, "position": position})))
    })
    .await?;
    Ok((status, Json(body)))
}
