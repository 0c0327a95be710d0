//! `GET /health`: whether this node can reach its log, and how far its live model has read.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use vigie_eventstore::EventLog;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

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
