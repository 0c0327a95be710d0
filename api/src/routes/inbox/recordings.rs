//! Call recordings: operators upload the audio, clients listen with seeking (HTTP Range) or download it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigie_domain::calls::{Call, CallCommand, RecordingAttached};
use vigie_domain::{AccountId, Aggregate, CallId, RecordingId, calls};
use vigie_projections::db::{Db, to_micros};
use vigie_projections::on_db;

use super::stream::{on_stream, replay};
use crate::app::AppState;
use crate::auth::Caller;
use crate::commands::ChangeHeaders;
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems, Problem, ViewProblems};
use crate::routes::schedules::reachable_account;

/// The largest recording accepted.
pub const MAX_RECORDING_BYTES: usize = 20 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(play, upload)).layer(axum::extract::DefaultBodyLimit::max(MAX_RECORDING_BYTES))
}

/// The stored audio of a call of the account.
async fn load(db: &Db, account_id: AccountId, call_id: CallId) -> ApiResult<Option<(String, Vec<u8>)>> {
    let row: Option<(String, Vec<u8>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT content_type, audio FROM recordings WHERE call_id = $1 AND account_id = $2"
    )
    .bind(call_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(pool)
    .await)?;
    Ok(row)
}

#[derive(Debug, Default, Deserialize)]
struct PlayQuery {
    /// `?download=true` asks the browser to save the file rather than play it.
    download: Option<bool>,
}

/// Plays or downloads a recording. A `Range: bytes=…` request gets 206 with
/// that part, which is what lets a browser's audio player seek.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls/{call_id}/recording", tag = "inbox",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("call_id" = uuid::Uuid, Path, description = "The call."),
        ("download" = Option<bool>, Query, description = "`true` asks the browser to save the file rather than play it."),
        ("Range" = Option<String>, Header, description = "`bytes=<first>-<last>`: only that part."),
    ),
    responses(
        (status = 200, description = "The audio.", body = Vec<u8>, content_type = "audio/*"),
        (status = 206, description = "The part of the audio asked for.", body = Vec<u8>, content_type = "audio/*"),
        (status = 416, description = "The range is outside the audio."),
        ViewProblems,
    ))]
async fn play(
    State(app): State<AppState>,
    caller: Caller,
    Path((account_id, call_id)): Path<(AccountId, CallId)>,
    Query(query): Query<PlayQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require_inbox_reader()?;
    reachable_account(&app, &caller, account_id)?;
    // A call past retention is gone from the call log, and so is its audio, whenever it was uploaded.
    let zone = app.live().read().account(account_id).map_or(chrono_tz::UTC, |a| a.time_zone);
    let call = app.read_models().call_log().call(account_id, call_id, zone, Utc::now()).await;
    if call.map_err(super::projection_error)?.is_none() {
        return Err(ApiError::not_found("recording"));
    }
    let (content_type, audio) =
        load(app.db(), account_id, call_id).await?.ok_or_else(|| ApiError::not_found("recording"))?;
    let total = audio.len() as u64;
    let disposition = if query.download.unwrap_or(false) { "attachment" } else { "inline" };
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map_or(Asked::Whole, |r| byte_range(r, total));
    let mut response = match asked {
        Asked::Whole => (StatusCode::OK, audio).into_response(),
        Asked::Part(first, last) => {
            let part = audio[first as usize..=last as usize].to_vec();
            let mut partial = (StatusCode::PARTIAL_CONTENT, part).into_response();
            let content_range = format!("bytes {first}-{last}/{total}");
            partial.headers_mut().insert(header::CONTENT_RANGE, header_value(&content_range)?);
            partial
        }
        Asked::Unsatisfiable => {
            let mut refused = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            refused.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{total}"))?);
            return Ok(refused);
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&content_type)?);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let file = format!("{disposition}; filename=\"call-{call_id}.{}\"", extension(&content_type));
    headers.insert(header::CONTENT_DISPOSITION, header_value(&file)?);
    Ok(response)
}

fn header_value(value: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(value).map_err(ApiError::internal)
}

fn extension(content_type: &str) -> &'static str {
    // The media type without parameters (`audio/wav; codecs=1`).
    match content_type.split(';').next().unwrap_or_default().trim() {
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/x-m4a" | "audio/m4a" => "m4a",
        "audio/ogg" => "ogg",
        "audio/webm" => "webm",
        _ => "bin",
    }
}

/// What a `Range` header asks of a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// No range the server serves: the whole file, 200 (RFC 9110 lets a server
    /// ignore a range it does not understand, or several at once; players ask for one).
    Whole,
    /// The first and last byte: 206.
    Part(u64, u64),
    /// A well-formed range wholly past the end of the file: 416.
    Unsatisfiable,
}

/// Reads one `bytes=` range against a file of `total` bytes.
pub fn byte_range(header: &str, total: u64) -> Asked {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Asked::Whole };
    let Some((start, end)) = spec.split_once('-').filter(|_| !spec.contains(',')) else { return Asked::Whole };
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (start.trim(), end.trim()) {
        ("", suffix) => match number(suffix) {
            None => Asked::Whole,
            Some(0) => Asked::Unsatisfiable,
            Some(_) if total == 0 => Asked::Unsatisfiable,
            Some(length) => Asked::Part(total.saturating_sub(length), total - 1),
        },
        (start, end) => match (number(start), if end.is_empty() { Some(None) } else { number(end).map(Some) }) {
            (Some(first), Some(last)) if last.is_some_and(|last| last < first) => Asked::Whole,
            (Some(first), Some(_)) if first >= total => Asked::Unsatisfiable,
            (Some(first), Some(last)) => Asked::Part(first, last.unwrap_or(total - 1).min(total - 1)),
            _ => Asked::Whole,
        },
    }
}

/// The upload's media type as it is stored and served back: `audio/` and one subtype, lower-case
/// (media types are case-insensitive, and players expect them so), without parameters. Anything
/// else is refused: the type is sent back to browsers with the audio, and a list such as
/// `audio/wav, text/html` would have them read it as a page on the API's own origin.
fn audio_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?.trim().to_ascii_lowercase();
    let subtype = value.strip_prefix("audio/")?.split(';').next()?.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c);
    (!subtype.is_empty() && subtype.len() <= 64 && subtype.chars().all(token)).then(|| format!("audio/{subtype}"))
}

/// Operators attach the audio of a Voice call, once.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/calls/{call_id}/recording", tag = "inbox", request_body(content = Vec<u8>, content_type = "audio/*", description = "The audio, with its `Content-Type`."),
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("call_id" = uuid::Uuid, Path, description = "The call."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The `recording_id`, the call's `version` and the change's `position`.", body = RecordingStored),
        ChangeProblems,
        (status = 413, response = Problem),
        (status = 415, response = Problem),
    ))]
async fn upload(
    State(app): State<AppState>,
    caller: Caller,
    Path((account_id, call_id)): Path<(AccountId, CallId)>,
    headers: HeaderMap,
    audio: Bytes,
) -> ApiResult<(StatusCode, Json<RecordingStored>)> {
    caller.require_operator("upload recordings")?;
    reachable_account(&app, &caller, account_id)?;
    let Some(content_type) = audio_type(&headers) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_audio",
            "Send the recording's bytes with one audio Content-Type, e.g. audio/wav.",
        ));
    };
    if audio.is_empty() {
        return Err(ApiError::bad_request("The recording is empty."));
    }
    let recording_id = RecordingId::new_v7();
    let sha256: String = Sha256::digest(&audio).iter().map(|b| format!("{b:02x}")).collect();
    let change = ChangeHeaders::from_headers(&headers)?;
    // A call named through another account's path is refused before its bytes are stored:
    // stored, they would hold the call's one place for a recording until removed, and the
    // right account's upload racing them would be told the call does not exist.
    let kept_since = super::kept_since(&app);
    let is_attachable = |state: &<Call as Aggregate>::State| {
        state.call.as_ref().is_some_and(|call| call.account_id == account_id && call.started_at >= kept_since)
    };
    if !is_attachable(&replay::<Call>(&app, &Call::stream_id(call_id)).await?.0) {
        return Err(ApiError::not_found("call"));
    }
    // The event is the record; the bytes go in first so an attached recording can always be played.
    store_audio(app.db(), recording_id, account_id, call_id, &content_type, &sha256, &audio).await?;
    let attached = RecordingAttached {
        recording_id,
        content_type: content_type.clone(),
        bytes: audio.len() as u64,
        sha256: Some(sha256),
    };
    let outcome = on_stream::<Call>(&app, &caller, call_id, &change, |state, ctx| {
        if !is_attachable(state) {
            return Err(vigie_domain::DomainError::NotFound(vigie_domain::Entity::Call));
        }
        calls::decide(state, CallCommand::AttachRecording(attached.clone()), ctx)
    })
    .await;
    let (version, position) = match outcome {
        Ok(done) => done,
        Err(error) => {
            // Refused (no such call, a Details call, already attached): the bytes must not linger.
            forget_audio(app.db(), recording_id).await?;
            return Err(error);
        }
    };
    let stored = RecordingStored { recording_id: recording_id.into(), version, position };
    Ok((StatusCode::CREATED, Json(stored)))
}

/// What storing a call's audio answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RecordingStored {
    /// The audio's id, to play it back.
    recording_id: uuid::Uuid,
    /// The call's new version: send it as `If-Match` with the next change.
    version: u64,
    /// The log position of the change's last event: send it as `min_position` to read the change back.
    position: u64,
}

pub(crate) async fn store_audio(
    db: &Db,
    recording_id: RecordingId,
    account_id: AccountId,
    call_id: CallId,
    content_type: &str,
    sha256: &str,
    audio: &[u8],
) -> ApiResult<()> {
    let stored = on_db!(db, |pool| sqlx::query(
        "INSERT INTO recordings (recording_id, call_id, account_id, content_type, sha256, audio, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(recording_id.to_string())
    .bind(call_id.to_string())
    .bind(account_id.to_string())
    .bind(content_type)
    .bind(sha256)
    .bind(audio)
    .bind(to_micros(Utc::now()))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()));
    match stored {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // Named through another account's path, the call is not found there, recording or not.
            let here: Option<(String,)> = on_db!(db, |pool| sqlx::query_as(
                "SELECT call_id FROM recordings WHERE call_id = $1 AND account_id = $2"
            )
            .bind(call_id.to_string())
            .bind(account_id.to_string())
            .fetch_optional(pool)
            .await)?;
            if here.is_none() {
                return Err(ApiError::not_found("call"));
            }
            Err(ApiError::new(StatusCode::CONFLICT, "recording_exists", "This call already has a recording."))
        }
        Err(other) => Err(ApiError::from(other)),
    }
}

async fn forget_audio(db: &Db, recording_id: RecordingId) -> ApiResult<()> {
    on_db!(db, |pool| sqlx::query("DELETE FROM recordings WHERE recording_id = $1")
        .bind(recording_id.to_string())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes the recordings of calls past the retention period, and any uploaded before it; answers
/// how many. Run before the call log's purge, which removes the calls' rows it reads.
pub async fn purge_recordings(db: &Db, retention_days: u32) -> Result<u64, sqlx::Error> {
    let cutoff = to_micros(Utc::now() - chrono::Duration::days(i64::from(retention_days)));
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM recordings
          WHERE created_at < $1 OR call_id IN (SELECT call_id FROM call_log WHERE started_at < $1)"
    )
    .bind(cutoff)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::{Asked, byte_range};

    #[test]
    fn ranges_a_player_asks_for_are_served() {
        assert_eq!(byte_range("bytes=0-", 1000), Asked::Part(0, 999));
        assert_eq!(byte_range("bytes=100-199", 1000), Asked::Part(100, 199));
        assert_eq!(byte_range("bytes=-100", 1000), Asked::Part(900, 999));
        assert_eq!(byte_range("bytes=-5000", 1000), Asked::Part(0, 999));
        assert_eq!(byte_range("bytes=900-5000", 1000), Asked::Part(900, 999));
    }

    #[test]
    fn ranges_wholly_past_the_end_are_refused() {
        assert_eq!(byte_range("bytes=1000-", 1000), Asked::Unsatisfiable);
        assert_eq!(byte_range("bytes=2000-3000", 1000), Asked::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 1000), Asked::Unsatisfiable);
    }

    #[test]
    fn ranges_the_server_does_not_serve_are_ignored_for_the_whole_file() {
        for header in ["bytes=5-1", "bytes=0-1,5-9", "items=0-1", "bytes=abc", "bytes=-", "bytes=1-x"] {
            assert_eq!(byte_range(header, 1000), Asked::Whole, "{header}");
        }
    }
}
