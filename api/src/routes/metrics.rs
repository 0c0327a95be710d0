//! `GET /metrics`: the Prometheus text, for a scraper with the metrics token or an operator.
//!
//! The figures name no account or person, but they tell how busy the service is and which routes
//! fail, so they are not public. A scraper cannot log in, so when `VIGIE_METRICS_TOKEN` is set it
//! sends that value as a bearer token; an operator's session also works, for a look by hand.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use vigie_eventstore::EventLog;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::Problem;

/// The environment variable holding the scraper's token.
pub const METRICS_TOKEN_VAR: &str = "VIGIE_METRICS_TOKEN";

pub fn routes() -> OpenApiRouter<AppState> {
    // Install the recorder now, so that what happens before the first scrape is counted.
    crate::metrics::handle();
    OpenApiRouter::new().routes(routes!(scrape))
}

/// The Prometheus text, for a scraper with the metrics token as a bearer token, or an operator.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "The metrics, in Prometheus' text format.", body = String, content_type = "text/plain"),
    (status = 401, response = Problem),
    (status = 403, response = Problem),
))]
async fn scrape(
    State(app): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> ApiResult<Response> {
    let configured = std::env::var(METRICS_TOKEN_VAR).ok();
    if !token_matches(bearer(&headers), configured.as_deref()) {
        caller?.require_operator("read the metrics")?;
    }
    let head = app.store().head_position().await?;
    let text = crate::metrics::render(head, app.live().position());
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// Whether the request's bearer token is the configured metrics token. Digests are compared, so
/// the time taken says nothing about how much of the token was right; an empty setting opens nothing.
fn token_matches(given: Option<&str>, configured: Option<&str>) -> bool {
    match (given, configured.map(str::trim).filter(|c| !c.is_empty())) {
        (Some(given), Some(configured)) => Sha256::digest(given.as_bytes()) == Sha256::digest(configured.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn only_the_configured_token_opens_the_metrics() {
        assert!(token_matches(Some("s3cret-scrape"), Some("s3cret-scrape")));
        assert!(!token_matches(Some("s3cret-scrap"), Some("s3cret-scrape")));
        assert!(!token_matches(None, Some("s3cret-scrape")));
        assert!(!token_matches(Some("anything"), None));
        assert!(!token_matches(Some(""), Some("  ")));
    }
}
