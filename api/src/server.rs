//! The HTTP server: routes, shared state and graceful shutdown.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use vigie_eventstore::{EventLog, EventStore, StoreOptions, redact_url};

use crate::config::ServeConfig;

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: EventStore,
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    Router::new().route("/health", get(health)).with_state(state)
}

/// Opens the log, binds the address and serves until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let store = EventStore::open(&config.database, StoreOptions::default()).await?;
    let listener = TcpListener::bind(config.bind).await?;
    let address = listener.local_addr()?;
    tracing::info!(database = %redact_url(&config.database), %address, "vigie is serving");
    println!("Vigie is listening on http://{address} (event log: {})", redact_url(&config.database));
    if config.demo {
        println!("Demo data is not available yet: the API that serves it is still being built.");
    }
    axum::serve(listener, router(AppState { store })).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// Whether the server can reach its event log, and how far the log goes.
async fn health(State(state): State<AppState>) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    let head = tokio::time::timeout(Duration::from_secs(2), state.store.head_position()).await;
    match head {
        Ok(Ok(position)) => (
            axum::http::StatusCode::OK,
            Json(json!({"status": "ok", "database": state.store.backend_name(), "position": position})),
        ),
        _ => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": state.store.backend_name()})),
        ),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
