//! `GET /health`: whether this node can reach its log, and how far its live model has read.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use vigie_eventstore::EventLog;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether this node can reach its log, and how far its live model has read; public, for load balancers.
#[utoipa::path(get, path = "/health", tag = "operations", security(()), responses(
    (status = 200, description = "The log answers: its head position and the position this node has applied.", body = Health),
    (status = 503, description = "The log did not answer within two seconds (no positions then).", body = Health),
))]
async fn health(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = app.store().backend_name();
    match tokio::time::timeout(Duration::from_secs(2), app.store().head_position()).await {
        Ok(Ok(head)) => {
            let health = Health { status: "ok", database, position: Some(head), applied: Some(app.live().position()) };
            (StatusCode::OK, Json(health))
        }
        _ => {
            let health = Health { status: "unavailable", database, position: None, applied: None };
            (StatusCode::SERVICE_UNAVAILABLE, Json(health))
        }
    }
}

/// What `/health` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
    /// The log's head position.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
    /// The position this node's live model has applied; it trails `position` while it catches up.
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<u64>,
}
