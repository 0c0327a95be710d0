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
mod schedules;
mod session;
pub(crate) mod views;

use axum::Router;

pub use inbox::recordings::purge_recordings;
pub(crate) use inbox::recordings::store_audio;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
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
}
