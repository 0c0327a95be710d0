//! `Idempotency-Key` for every change: a repeat gets the first answer, another request under the same key is refused.
//!
//! A client that lost an answer (a timeout, a dropped connection) sends the
//! same request again with the same key. What the key guarantees:
//! - the same request (method, path, query and body) after it answered
//!   successfully gets that answer again, and nothing new is recorded;
//! - a different request under a key already used is refused (422), never
//!   answered with the first request's result;
//! - while the first request still runs, a second one with its key is
//!   refused (409, `Retry-After`), so the two cannot both run;
//! - a request that was refused (4xx) or failed (5xx) frees its key, so it may
//!   be corrected or retried;
//! - a request whose answer holds a secret ([`Secret`]) runs again when repeated,
//!   since the secret was not kept; its key still refuses any other request, even
//!   after such a repeat was refused.
//!
//! The change runs in a task of its own: a client that hangs up does not cut
//! it short between appending its events and recording its answer. The events
//! a keyed request appends have ids derived from the key and the request (see
//! `commands::to_new_events`), so the log itself stores them once. If the
//! server stops before it records the outcome (a crash, or a database that
//! went away in that moment), the key stays claimed; a retry after
//! [`ABANDONED_AFTER`] asks the log whether the request's first event is
//! there. If it is not, the change was never made, and the retry runs it. If
//! it is, the change was made but its answer is lost: the retry is told so
//! (409 `answer_lost`, with the change's position) rather than running it again,
//! unless its route answers a secret: that answer was never to be kept, so the
//! retry runs again as any repeat of it does.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use vigie_eventstore::{Direction, EventLog};
use vigie_projections::on_db;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// The request header that carries the fingerprint from this layer to
/// `ChangeHeaders`; one sent by a client is removed first.
pub const FINGERPRINT_HEADER: HeaderName = HeaderName::from_static("vigie-request-fingerprint");

/// Marks an answer that carries a secret (a session token, a feed URL): it is
/// not kept for repeats, since secrets are stored only as hashes. A repeat runs
/// again and makes a new secret, which is harmless (a calendar feed's keeps its
/// id); the key stays this request's.
#[derive(Debug, Clone, Copy)]
pub struct Secret;

/// The largest body any route but a recording's upload takes (`DefaultBodyLimit` in `app::router`).
pub const MAX_BODY: usize = 64 * 1024;

/// The largest answer kept for repeats; a change answers a few hundred bytes.
const MAX_ANSWER: usize = 1024 * 1024;

/// The key's status while its request runs, and once it answered with a secret;
/// otherwise the HTTP status of the answer kept.
const RUNNING: i64 = 0;
const ANSWERED_A_SECRET: i64 = 1;

/// How long a claimed key is taken for a request still running. No change runs this long (its
/// body has arrived before the claim), so a claim older than this was abandoned.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// What the key's row says when a request arrives with it.
enum Claim {
    /// The key was free and is now this request's.
    Won,
    /// The same request answered a secret (or made its change and then lost its server), and
    /// runs again. Whatever it answers now, the key stays this request's.
    Rerun,
    /// The key belongs to a different request.
    OtherRequest,
    /// The same request is still running (or its server stopped before it answered).
    Running,
    /// The same request answered this.
    Answered { status: StatusCode, content_type: Option<String>, body: String },
    /// The same request made its change, at this position, but its server stopped before
    /// keeping the answer.
    AnswerLost { position: u64 },
}

/// Runs each keyed change at most once per user and key.
pub async fn once(State(app): State<AppState>, request: Request, next: Next) -> Response {
    match run_once(app, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run_once(app: AppState, request: Request, next: Next) -> ApiResult<Response> {
    let (mut parts, body) = request.into_parts();
    parts.headers.remove(&FINGERPRINT_HEADER);
    let key = match parts.headers.get("idempotency-key") {
        Some(key) if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) => key.clone(),
        _ => return Ok(next.run(Request::from_parts(parts, body)).await),
    };
    if ends_the_session(&parts.method, parts.uri.path()) {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    }
    // Without a session the route answers 401 itself (or, for login, needs none), and
    // refuses a malformed key after that, as it would without this layer.
    let Ok(caller) = Caller::from_request_parts(&mut parts, &app).await else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let key = match crate::commands::idempotency_key(&key) {
        Ok(key) => key,
        // The layer wraps a path's every method: one the path does not take
        // is answered 405 by the router, whatever the key says.
        Err(_) if !takes_its_method(&parts) => return Ok(next.run(Request::from_parts(parts, body)).await),
        Err(malformed) => return Err(malformed),
    };
    // Read no more than the route itself will take: a body over its limit is
    // refused here, before a keyed request could make the server hold more.
    let limit = body_limit(&parts.method, parts.uri.path());
    let body = axum::body::to_bytes(body, limit).await.map_err(|error| {
        if stopped_arriving(&error) {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "The request's body stopped arriving before its end. Nothing was done; send it again.",
            );
        }
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("This request body is too large ({} KiB at most).", limit / 1024),
        )
    })?;
    let fingerprint = fingerprint(&parts.method, parts.uri.path_and_query().map_or("", |p| p.as_str()), &body);
    let user = caller.user_id.to_string();
    let request = KeyedRequest {
        key: &key,
        fingerprint: &fingerprint,
        reruns: runs_again(&parts.method, parts.uri.path()),
        sets_a_password: sets_a_password(&parts.method, parts.uri.path()),
    };

    let rerun = match claim(&app, &caller, &request).await? {
        Claim::Won => false,
        Claim::Rerun => true,
        Claim::OtherRequest => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request; use a new key for a new change.",
            ));
        }
        Claim::Running => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                "A request with this Idempotency-Key has not answered yet. Retry shortly: if its server \
                 stopped before answering, a retry a minute after the first attempt finds out whether \
                 the change was made, and makes it if it was not.",
            )
            .retry_after(1));
        }
        Claim::AnswerLost { position } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "answer_lost",
                format!(
                    "The change sent with this Idempotency-Key was made (log position {position}), but its server \
                     stopped before keeping the answer. Read with min_position={position} to see it; do not send \
                     it again."
                ),
            )
            .with("position", position));
        }
        Claim::Answered { status, content_type, body } => return Ok(replay(status, content_type, body)),
    };

    parts.headers.insert(FINGERPRINT_HEADER, HeaderValue::from_str(&fingerprint).expect("hex is a header value"));
    if rerun {
        parts.extensions.insert(Rerun);
    }
    let request = Request::from_parts(parts, Body::from(body));
    let task = tokio::spawn(async move {
        let response = next.run(request).await;
        settle(&app, &user, &key, rerun, response).await
    });
    task.await.map_err(ApiError::internal)
}

/// Whether the matched route takes the request's method.
fn takes_its_method(parts: &axum::http::request::Parts) -> bool {
    let path = parts.extensions.get::<axum::extract::MatchedPath>();
    path.is_none_or(|path| crate::routes::serves(&parts.method, path.as_str()))
}

/// Whether reading a body failed because it stopped arriving in time (see `http_server`).
fn stopped_arriving(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<crate::http_server::BodyStoppedArriving>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The most a route reads of a request's body: a recording's upload takes audio, every other route JSON.
fn body_limit(method: &Method, path: &str) -> usize {
    if method == Method::PUT && path.starts_with("/api/v1/accounts/") && path.ends_with("/recording") {
        crate::routes::MAX_RECORDING_BYTES
    } else {
        MAX_BODY
    }
}

/// Whether the route is a logout, which a key must not answer from memory: its change is the
/// ending of the session that sends it, which no fingerprint sees, so a key reused from another
/// session's logout would answer 204 and leave this one alive. It needs no key: once it has
/// worked, a repeat has no session left to answer for.
fn ends_the_session(method: &Method, path: &str) -> bool {
    method == Method::POST && path == "/api/v1/auth/logout"
}

/// Whether a repeat runs the route again even once its change is in the log: a calendar feed's
/// creation answers a secret ([`Secret`]), which is never kept, so a repeat makes it anew; a
/// password's change does more than its event (the new hash, every session ended), which a
/// server that stopped after the event left undone, and which doing again cannot harm. (A login
/// appends no event, so an abandoned one is taken over whatever this says.)
fn runs_again(method: &Method, path: &str) -> bool {
    let feed = method == Method::POST && path.starts_with("/api/v1/schedules/") && path.ends_with("/calendar-feeds");
    feed || sets_a_password(method, path)
}

/// A password's change, by its user or by an operator.
fn sets_a_password(method: &Method, path: &str) -> bool {
    method == Method::PUT
        && (path == "/api/v1/me/password" || (path.starts_with("/api/v1/users/") && path.ends_with("/password")))
}

/// Marks a request that runs again after its change was made ([`runs_again`]): its route
/// finishes what a stopped server left undone rather than refuse what the change already did
/// (a password's check against the hash it stored).
#[derive(Debug, Clone, Copy)]
pub struct Rerun;

/// A keyed request, as a claim on its key sees it.
struct KeyedRequest<'a> {
    key: &'a str,
    fingerprint: &'a str,
    /// Its route runs again when repeated, even after its change was made ([`runs_again`]).
    reruns: bool,
    /// It sets a password, which a later change of the same user must not see undone.
    sets_a_password: bool,
}

/// SHA-256 of the method, the path with its query, and the body: a JSON body as
/// its meaning (members sorted, no spacing), so that a retry that serialises
/// the same change differently is still the same request.
fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body).ok().map(|json| json.to_string());
    let digest = Sha256::new()
        .chain_update(method.as_str())
        .chain_update(b"\n")
        .chain_update(path_and_query)
        .chain_update(b"\n")
        .chain_update(canonical.as_ref().map_or(body, String::as_bytes))
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key's row: the request's fingerprint, its status, the answer kept, and when it was claimed.
type KeyRow = (Option<String>, i64, Option<String>, String, i64);
const KEY_ROW: &str =
    "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2";

/// Takes the key for this request, or says who has it.
async fn claim(app: &AppState, caller: &Caller, request: &KeyedRequest<'_>) -> ApiResult<Claim> {
    let KeyedRequest { key, fingerprint, .. } = *request;
    let user = &caller.user_id.to_string();
    let inserted = on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, created_at)
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (user_id, key) DO NOTHING"
    )
    .bind(user)
    .bind(key)
    .bind(fingerprint)
    .bind(Utc::now().timestamp_micros())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    if inserted == 1 {
        return Ok(Claim::Won);
    }
    let row: Option<KeyRow> =
        on_db!(app.db(), |pool| sqlx::query_as(KEY_ROW).bind(user).bind(key).fetch_optional(pool).await)?;
    Ok(match row {
        // Released between the insert and the read: the client may simply retry.
        None => Claim::Running,
        // Rows kept before fingerprints were recorded answer any repeat, as they did then.
        Some((Some(first), _, _, _, _)) if first != fingerprint => Claim::OtherRequest,
        Some((_, RUNNING, _, _, claimed_at)) => {
            let running_for = Utc::now().timestamp_micros().saturating_sub(claimed_at);
            if running_for < ABANDONED_AFTER.as_micros() as i64 {
                Claim::Running
            } else {
                abandoned(app, caller, request, claimed_at).await?
            }
        }
        Some((_, ANSWERED_A_SECRET, _, _, _)) => {
            // Claimed anew, from now: a repeat arriving while this one runs is told it runs.
            let reclaimed = on_db!(app.db(), |pool| {
                sqlx::query(
                "UPDATE idempotency_keys SET status = $3, created_at = $5 WHERE user_id = $1 AND key = $2 AND status = $4"
            )
            .bind(user)
            .bind(key)
            .bind(RUNNING)
            .bind(ANSWERED_A_SECRET)
            .bind(Utc::now().timestamp_micros())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            })?;
            if reclaimed == 1 { Claim::Rerun } else { Claim::Running }
        }
        Some((_, status, content_type, body, _)) => Claim::Answered {
            status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            content_type,
            body,
        },
    })
}

/// What became of a request whose claim was abandoned: the log holds its first event if it made
/// its change. If not, or if its answer is a secret made anew on every repeat, this request takes
/// the claim over (one of several retries at once wins).
async fn abandoned(app: &AppState, caller: &Caller, request: &KeyedRequest<'_>, claimed_at: i64) -> ApiResult<Claim> {
    let KeyedRequest { key, fingerprint, reruns, sets_a_password } = *request;
    let first_event = crate::commands::first_event_id(caller, key, fingerprint);
    let made = app.store().position_of(first_event).await?;
    match made {
        Some(position) if !reruns => return Ok(Claim::AnswerLost { position }),
        // Run again after another change of the user (a later reset), it would put back the
        // password that change replaced.
        Some(position) if sets_a_password && !newest_of_its_user(app, caller, key, position).await? => {
            return Ok(Claim::AnswerLost { position });
        }
        _ => {}
    }
    let taken = on_db!(app.db(), |pool| {
        sqlx::query(
        "UPDATE idempotency_keys SET created_at = $3 WHERE user_id = $1 AND key = $2 AND status = $4 AND created_at = $5"
    )
    .bind(caller.user_id.to_string())
    .bind(key)
    .bind(Utc::now().timestamp_micros())
    .bind(RUNNING)
    .bind(claimed_at)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(match (taken, made) {
        (1, None) => Claim::Won,
        (1, Some(_)) => Claim::Rerun,
        _ => Claim::Running,
    })
}

/// Whether the event at `position` (a keyed request's first) is still its user's newest change,
/// or one of the same request's.
async fn newest_of_its_user(app: &AppState, caller: &Caller, key: &str, position: u64) -> ApiResult<bool> {
    let Some(made) = app.store().read_all(position - 1, 1).await?.pop() else { return Ok(false) };
    let newest = app.store().read_stream(&made.stream_id, u64::MAX, Direction::Backward, 1).await?.pop();
    Ok(newest.is_some_and(|newest| {
        newest.metadata.actor_id == Some(caller.user_id.as_uuid())
            && newest.metadata.idempotency_key.as_deref() == Some(key)
    }))
}

/// Keeps a successful answer for repeats, or frees the key after a refusal or failure, unless
/// the request ran again (`rerun`): its key stays its own, as after its first answer.
async fn settle(app: &AppState, user: &str, key: &str, rerun: bool, response: Response) -> Response {
    let status = response.status();
    if !status.is_success() && !rerun {
        if let Err(error) = release(app, user, key).await {
            tracing::warn!(%error, "could not free an Idempotency-Key");
        }
        return response;
    }
    if !status.is_success() || response.extensions().get::<Secret>().is_some() {
        let marked = on_db!(app.db(), |pool| sqlx::query(
            "UPDATE idempotency_keys SET status = $3 WHERE user_id = $1 AND key = $2"
        )
        .bind(user)
        .bind(key)
        .bind(ANSWERED_A_SECRET)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()));
        if let Err(error) = marked {
            tracing::warn!(%error, "could not mark an Idempotency-Key as answered");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, MAX_ANSWER).await {
        Ok(body) => body,
        Err(error) => return ApiError::internal(format!("could not read a change's answer: {error}")).into_response(),
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = String::from_utf8_lossy(&body);
    let recorded = on_db!(app.db(), |pool| sqlx::query(
        "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE user_id = $1 AND key = $2"
    )
    .bind(user)
    .bind(key)
    .bind(i64::from(status.as_u16()))
    .bind(content_type)
    .bind(text.as_ref())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()));
    if let Err(error) = recorded {
        // The change is made and durable; only its repeat will be answered 409.
        tracing::warn!(%error, "could not keep the answer of a change for its Idempotency-Key");
    }
    Response::from_parts(parts, Body::from(body))
}

async fn release(app: &AppState, user: &str, key: &str) -> Result<u64, sqlx::Error> {
    on_db!(app.db(), |pool| sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = $3")
        .bind(user)
        .bind(key)
        .bind(RUNNING)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
}

fn replay(status: StatusCode, content_type: Option<String>, body: String) -> Response {
    // Answers kept before content types were recorded were all JSON.
    let content_type = match content_type {
        Some(content_type) => HeaderValue::from_str(&content_type).ok(),
        None if !body.is_empty() => Some(HeaderValue::from_static("application/json")),
        None => None,
    };
    let mut response = (status, Bytes::from(body)).into_response();
    // Bytes answer as application/octet-stream; a replay carries what the first answer carried,
    // which for an empty 204 is no Content-Type at all.
    match content_type {
        Some(content_type) => response.headers_mut().insert(header::CONTENT_TYPE, content_type),
        None => response.headers_mut().remove(header::CONTENT_TYPE),
    };
    response
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::{MAX_BODY, body_limit};
    use crate::routes::MAX_RECORDING_BYTES;

    #[test]
    fn a_keyed_body_is_read_only_as_far_as_its_route_takes() {
        let recording = "/api/v1/accounts/0192/calls/0193/recording";
        assert_eq!(body_limit(&Method::PUT, recording), MAX_RECORDING_BYTES, "a recording's upload takes audio");
        assert_eq!(body_limit(&Method::POST, "/api/v1/schedules/0192/shifts/0193/comments"), MAX_BODY);
        assert_eq!(body_limit(&Method::POST, recording), MAX_BODY, "only the upload takes audio");
        assert_eq!(body_limit(&Method::PUT, "/api/v1/accounts/0192/recording/name"), MAX_BODY);
    }
}
