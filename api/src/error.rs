//! One error type for every route, answered as `application/problem+json`.

use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use vigie_domain::{DomainError, ErrorKind};
use vigie_eventstore::StoreError;
use vigie_eventstore::pools::is_unreachable;

/// Why a request failed, and what the client is told.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable, machine-readable code: the problem's `type` is `/problems/<code>`.
    pub code: &'static str,
    pub detail: String,
    /// Extra members, such as `conflicting_override_id`.
    pub extra: Map<String, Value>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), extra: Map::new(), retry_after: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "not_logged_in", "Log in first: this needs a valid session.")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("There is no such {what}."))
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The database was out of reach (restarting, a lost connection, no free
    /// connection in time): worth retrying, unlike a fault of ours.
    pub fn database_unavailable(error: impl std::fmt::Display) -> Self {
        tracing::warn!(%error, "the database is out of reach");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is out of reach for a moment. Try again shortly; \
             with the same Idempotency-Key, a change is never made twice.",
        )
        .retry_after(1)
    }

    /// A failure of ours, not the client's: logged in full, answered vaguely.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side.")
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let status = match error.kind() {
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let mut problem = ApiError::new(status, error.code(), error.to_string());
        if let Some((key, id)) = error.conflict() {
            problem = problem.with(key, id.to_string());
        }
        problem
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // Someone changed the same thing at the same moment: the client may retry.
            StoreError::WrongExpectedVersion { actual, .. } => ApiError::new(
                StatusCode::CONFLICT,
                "concurrent_change",
                "Someone else changed this schedule at the same moment; reload and try again.",
            )
            .with("version", actual),
            StoreError::PartialDuplicate { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different change.",
            ),
            StoreError::EventTooLarge { limit, .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("This change is too large to record (limit {limit} bytes)."),
            ),
            StoreError::Unreachable { .. } => ApiError::database_unavailable(error),
            StoreError::Database(ref source) if is_unreachable(source) => ApiError::database_unavailable(error),
            other => ApiError::internal(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if is_unreachable(&error) { ApiError::database_unavailable(error) } else { ApiError::internal(error) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("/problems/{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(members) = &mut body {
            members.extend(self.extra);
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // HTTP requires a 401 to name how to authenticate: the token from login, as a bearer.
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"vigie\""));
        }
        response
    }
}

impl From<QueryRejection> for ApiError {
    /// A query string that does not fit the route's parameters: 400, naming the parameter.
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(in_plain_words(&rejection.body_text()))
    }
}

/// The result of a route.
pub type ApiResult<T> = Result<T, ApiError>;

/// Turns the plain-text refusals axum answers by itself (a malformed id in
/// the path, an unknown route, a wrong method, a body too large) into
/// problem+json like every other error, keeping their status and message.
pub async fn as_problem(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" if status == StatusCode::NOT_FOUND => "There is no such route.".to_owned(),
        "" if status == StatusCode::METHOD_NOT_ALLOWED => "This route does not take this method.".to_owned(),
        "" => status.canonical_reason().unwrap_or("Error").to_owned(),
        text => in_plain_words(text),
    };
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ if status.is_server_error() => "internal_error",
        _ => "malformed_request",
    };
    let mut problem = ApiError::new(status, code, detail).into_response();
    // Keep what the original answer said beyond its body (Allow, Retry-After, …).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// axum's refusal of a query string, in words a portal developer reads at once: "limit must be a
/// whole number" rather than serde's "limit: invalid digit found in string".
fn in_plain_words(text: &str) -> String {
    let Some(problem) = text.strip_prefix("Failed to deserialize query string: ") else {
        return text.to_owned();
    };
    if let Some(field) = problem.strip_prefix("duplicate field `").and_then(|rest| rest.strip_suffix('`')) {
        return format!("The query parameter {field} is given more than once.");
    }
    let Some((field, why)) = problem.split_once(": ") else {
        return format!("The query string is malformed: {problem}.");
    };
    let why = match why {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            "must be a whole number, written in digits"
        }
        "number too large to fit in target type" => "is too large",
        "number too small to fit in target type" => "is too small",
        "provided string was not `true` or `false`" => "must be true or false",
        other => return format!("The query parameter {field} is not valid: {other}."),
    };
    format!("The query parameter {field} {why}.")
}

#[cfg(test)]
mod tests {
    use super::in_plain_words;

    #[test]
    fn query_refusals_name_the_parameter_in_plain_words() {
        let plain = |text: &str| in_plain_words(&format!("Failed to deserialize query string: {text}"));
        assert_eq!(
            plain("limit: invalid digit found in string"),
            "The query parameter limit must be a whole number, written in digits."
        );
        assert_eq!(
            plain("after: cannot parse integer from empty string"),
            "The query parameter after must be a whole number, written in digits."
        );
        assert_eq!(plain("limit: number too large to fit in target type"), "The query parameter limit is too large.");
        assert_eq!(plain("duplicate field `limit`"), "The query parameter limit is given more than once.");
        assert_eq!(plain("tz: unknown variant `x`"), "The query parameter tz is not valid: unknown variant `x`.");
        // Other refusals keep their words.
        assert_eq!(in_plain_words("There is no such route."), "There is no such route.");
    }
}
