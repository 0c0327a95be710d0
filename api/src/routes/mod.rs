//! The API's routes, one module per part of API.md.

mod admin;
mod admin_more;
mod changes;
mod dispatch;
mod event_stream;
mod events;
mod export;
mod health;
mod inbox;
mod metrics;
mod openapi;
mod schedules;
mod session;
pub(crate) mod views;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use inbox::recordings::purge_recordings;
pub(crate) use inbox::recordings::{MAX_RECORDING_BYTES, store_audio};
pub use openapi::serves;

use crate::app::AppState;

/// Every route, served as the handlers' `#[utoipa::path]` attributes document them.
pub fn router() -> Router<AppState> {
    api_router().split_for_parts().0
}

/// The routes and their OpenAPI description, built together so that neither can drift from the other.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::routes())
        .merge(session::routes())
        .merge(schedules::routes())
        .merge(changes::routes())
        .merge(dispatch::routes())
        .merge(admin::routes())
        .merge(export::routes())
        .merge(inbox::routes())
        .merge(admin_more::routes())
        .merge(events::routes())
        .merge(event_stream::routes())
        .merge(metrics::routes())
        .merge(openapi::routes())
}
