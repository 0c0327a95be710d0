//! `GET /health`: whether this node can reach its log, and how far its live model has read.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use vigie_eventstore::EventLog;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether this node can reach its log, and how far its live model has read; public, for load balancers.
#[utoipa::path(get, path = "/health", tag = "operations", security(()), responses(
    (status = 200, description = "The log answers: its head position and the position this node has applied.", body = serde_json::Value),
    (status = 503, description = "The log did not answer within two seconds.", body = serde_json::Value),
))]
async fn health(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = app.store().backend_name();
    match tokio::time::timeout(Duration::from_secs(2), app.store().head_position()).await {
        Ok(Ok(head)) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": database, "position": head, "applied": app.live().position()})),
        ),
        _ => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "database": database}))),
    }
}
