//! Carrying out a change: decide against the live state, append with the version decided on, answer once durable.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vigie_domain::{CommandContext, DomainError, DomainEvent};
use vigie_eventstore::{AppendRequest, EventLog, ExpectedVersion, Metadata, NewEvent, StoreError};
use vigie_projections::live::LiveAggregate;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::FINGERPRINT_HEADER;

/// How often a change is decided again when another change to the same
/// aggregate landed first on another node.
const ATTEMPTS: u32 = 8;

/// One lock per stripe of streams: changes to one stream on this node take
/// turns, from deciding to the live model showing the result, so they never
/// refuse one another. Changes on other nodes can still race; those are decided
/// again ([`ATTEMPTS`]). Striped rather than one per stream, so that it needs
/// no clean-up; two streams share a stripe rarely, and then only wait briefly.
#[derive(Debug)]
pub struct StreamTurns([tokio::sync::Mutex<()>; 256]);

impl Default for StreamTurns {
    fn default() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl StreamTurns {
    /// Waits for this node's turn to change `stream_id`.
    pub async fn take(&self, stream_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        stream_id.hash(&mut hasher);
        self.0[(hasher.finish() % 256) as usize].lock().await
    }
}

/// The longest written reason a change may carry, as long as a comment.
const REASON_MAX: usize = 2000;

/// What a change answers: the aggregate's version and the log position of its last event.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Changed {
    /// The changed thing's new version: send it as `If-Match` with the next change.
    pub version: u64,
    /// The log position of the change's last event (for a change that changed nothing, the
    /// newest position this server knew when it answered): send it as `min_position` to read
    /// the change back.
    pub position: u64,
}

/// What a change that creates something answers: the new thing's id, then as [`Changed`].
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Created {
    /// The new thing's id.
    pub id: Uuid,
    /// The new thing's version: send it as `If-Match` with the next change.
    pub version: u64,
    /// The log position of the change's last event: send it as `min_position` to read the change back.
    pub position: u64,
}

impl Created {
    pub fn new(id: impl Into<Uuid>, changed: Changed) -> Self {
        Self { id: id.into(), version: changed.version, position: changed.position }
    }
}

/// The change's request headers that the API contract gives meaning to.
#[derive(Debug, Clone, Default)]
pub struct ChangeHeaders {
    /// `If-Match: "<version>"`: refuse with 412 if the aggregate moved on.
    pub if_match: Option<u64>,
    /// `Idempotency-Key`: a repeat does nothing new and gets the first answer.
    pub idempotency_key: Option<String>,
    /// The request id, recorded as the events' correlation id.
    pub request_id: Option<Uuid>,
    /// With a key, what the request was (see `crate::idempotency`): a part of its events' ids.
    pub fingerprint: Option<String>,
}

impl ChangeHeaders {
    /// Refuses (412) a change whose `If-Match` names another version than the aggregate's.
    pub fn check_if_match(&self, version: u64) -> ApiResult<()> {
        match self.if_match {
            Some(expected) if expected != version => Err(stale_version(expected, version)),
            _ => Ok(()),
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> ApiResult<Self> {
        let if_match = match headers.get("if-match").map(|v| v.to_str()) {
            // "*" asks only that the thing exists, which every change to it checks anyway.
            None => None,
            Some(Ok(value)) if value.trim() == "*" => None,
            Some(Ok(value)) => Some(value.trim().trim_start_matches("W/").trim_matches('"').parse().map_err(|_| {
                ApiError::bad_request("If-Match takes the version number in quotes, e.g. If-Match: \"12\".")
            })?),
            Some(Err(_)) => return Err(ApiError::bad_request("If-Match is not readable text.")),
        };
        let idempotency_key = headers.get("idempotency-key").map(idempotency_key).transpose()?;
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let fingerprint = headers.get(FINGERPRINT_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { if_match, idempotency_key, request_id, fingerprint })
    }
}

/// The longest `Idempotency-Key` kept: a UUID, or a client's own key of a few words, fits.
pub const IDEMPOTENCY_KEY_MAX: usize = 200;

/// An `Idempotency-Key` header's key: 1 to [`IDEMPOTENCY_KEY_MAX`] bytes of visible text.
pub fn idempotency_key(value: &HeaderValue) -> ApiResult<String> {
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= IDEMPOTENCY_KEY_MAX => Ok(key.to_owned()),
        _ => Err(ApiError::bad_request(format!("Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} characters of text."))),
    }
}

/// 412: the client sent `If-Match: "<expected>"`, and the aggregate is at `actual`.
pub fn stale_version(expected: u64, actual: u64) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "stale_version",
        format!("This was changed since version {expected}; it is now at version {actual}."),
    )
    .with("version", actual)
}

/// Decides `decide` against the aggregate's current state and appends what it decided.
///
/// The state comes from this node's live model; the append names the version
/// it was decided on, so a change that raced another one is refused by the
/// log and decided again on the newer state. Answers after the events are
/// durable and this node's live model shows them (read your writes).
pub async fn execute<A>(
    app: &AppState,
    caller: &Caller,
    id: A::Id,
    headers: &ChangeHeaders,
    reason: Option<String>,
    decide: impl Fn(&A::State, &CommandContext) -> Result<Vec<A::Event>, DomainError>,
) -> ApiResult<Changed>
where
    A: LiveAggregate,
    A::Id: std::hash::Hash + Eq,
{
    if reason.as_ref().is_some_and(|r| r.chars().count() > REASON_MAX) {
        return Err(DomainError::TooLong { field: "reason", max: REASON_MAX }.into());
    }
    let _turn = app.stream_turns().take(&A::stream_id(id)).await;
    for attempt in 1..=ATTEMPTS {
        let mut ctx = CommandContext::new(caller.actor(), Utc::now());
        if let Some(reason) = &reason {
            ctx = ctx.with_reason(reason.clone());
        }
        // Decided under the read lock, on the state in place: copying a year of shifts per change
        // would cost more than deciding.
        let (version, events) = A::of(&app.live().read()).with_state(id, |state, version| {
            headers.check_if_match(version)?;
            ApiResult::Ok((version, decide(state, &ctx)?))
        })?;
        if events.is_empty() {
            return Ok(Changed { version, position: app.live().position() });
        }
        let new_events = to_new_events(&events, caller, headers)?;
        let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exactly(version) };
        match app.store().append(AppendRequest::new(A::stream_id(id), expected, new_events)).await {
            Ok(outcome) => {
                crate::metrics::appended(A::CATEGORY, events.len());
                app.live().wait_for(outcome.last_position, Duration::from_secs(5)).await;
                return Ok(Changed { version: outcome.stream_version, position: outcome.last_position });
            }
            Err(StoreError::WrongExpectedVersion { actual, .. }) if headers.if_match.is_some() => {
                // Another change landed between the check of If-Match and the append: the version
                // the client named is stale after all.
                return Err(stale_version(version, actual));
            }
            Err(StoreError::WrongExpectedVersion { .. }) if attempt < ATTEMPTS => {
                // Another node's change landed first. Nodes that lost the same race would catch up
                // to the same head together and race again in step: a random pause, longer each
                // time, lets one go first. Catching up comes after it, so that the next decision
                // sees what landed during the pause too.
                let pause = rand::random_range(0..2u64 << attempt);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let head = app.store().head_position().await?;
                app.live().wait_for(head, Duration::from_secs(2)).await;
            }
            Err(StoreError::WrongExpectedVersion { .. }) => break,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "concurrent_change",
        "Other changes to this kept landing at the same moment on other servers; nothing was done. Try again.",
    )
    .retry_after(1))
}

/// The events as the log stores them, with who made them and in which request.
pub fn to_new_events<E: DomainEvent>(
    events: &[E],
    caller: &Caller,
    headers: &ChangeHeaders,
) -> ApiResult<Vec<NewEvent>> {
    let metadata = Metadata {
        actor_id: Some(caller.user_id.as_uuid()),
        actor_name: Some(caller.username.clone()),
        correlation_id: headers.request_id,
        causation_id: None,
        idempotency_key: headers.idempotency_key.clone(),
    };
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let new = NewEvent::new(event.event_type(), event.schema_version(), &event.to_data())?
                .with_metadata(metadata.clone());
            // With a key, a retried request produces the same event ids, so the
            // log stores them once whatever happens to the key's answer; another
            // request under the same key (refused before it gets here) could not
            // produce them.
            Ok(match &headers.idempotency_key {
                Some(key) => new.with_id(derived_id(caller, key, headers.fingerprint.as_deref(), index)),
                None => new,
            })
        })
        .collect::<Result<_, StoreError>>()
        .map_err(ApiError::from)
}

/// An id for something a change creates outside its events (a calendar feed's row): with an
/// `Idempotency-Key`, the same for every retry of the request, so a retry finds what the first
/// attempt made; without one, a new id.
pub fn new_id(caller: &Caller, headers: &ChangeHeaders) -> Uuid {
    match &headers.idempotency_key {
        // No event of a request has this index, so the id is none of theirs.
        Some(key) => derived_id(caller, key, headers.fingerprint.as_deref(), usize::MAX),
        None => Uuid::now_v7(),
    }
}

/// The id the first event of a keyed request gets: where the log tells whether that request
/// made its change, when the key's record of it was lost.
pub fn first_event_id(caller: &Caller, key: &str, fingerprint: &str) -> Uuid {
    derived_id(caller, key, Some(fingerprint), 0)
}

fn derived_id(caller: &Caller, key: &str, fingerprint: Option<&str>, index: usize) -> Uuid {
    let digest = Sha256::new()
        .chain_update(caller.user_id.to_string())
        .chain_update(key)
        .chain_update(fingerprint.unwrap_or_default())
        .chain_update(index.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}
