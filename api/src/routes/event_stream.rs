//! Live changes to one account's schedules and directory as Server-Sent Events, so a portal can refresh.
//!
//! The stream follows the log from a position (the live model's, or `Last-Event-ID` when a client
//! resumes) and passes on the events of the account's schedules, contacts and the account itself.
//! Each SSE event's id is the log position, so a browser's `EventSource` resumes where it stopped.
//! It waits for the live model to apply new events and takes them from the model's memory of its
//! last events, so neither an idle stream nor a thousand open ones cost a query per change; only a
//! stream that resumes from further back reads the log. The live model also knows which account
//! each event belongs to (a schedule created a moment ago included). The session is checked again
//! before each event (in memory, see `Follower::recently_allowed`) and at least every half minute:
//! a logout, a password change, a deactivation or a lost account ends the stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use vigie_domain::{AccountId, ContactId, Role, ScheduleId, UserId};
use vigie_eventstore::{EventLog, StoredEvent};
use vigie_projections::live::LiveModel;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::cache::CheckedSession;
use crate::auth::{Caller, store};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::Problem;
use crate::routes::schedules::reachable_account;
use crate::routes::views;
use crate::slots::{STREAMS_PER_CLIENT_USER, Slot};

/// How often an idle stream sends a comment, so that proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often the stream checks that the session may still see the account.
const RECHECK: Duration = Duration::from_secs(30);
/// How many events one read of the log takes.
const PAGE: usize = 1000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_changes))
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    /// Like `Last-Event-ID`, for clients that cannot set headers on their first request.
    after: Option<u64>,
}

/// Live changes to the account's schedules, contacts and the account itself, as Server-Sent Events.
///
/// Each event's id is its log position; send it back as `Last-Event-ID` (or `?after=`) to resume.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/events/stream", tag = "events",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("after" = Option<u64>, Query, description = "Resume after this log position, like `Last-Event-ID`."),
        ("Last-Event-ID" = Option<u64>, Header, description = "The last position received, when resuming."),
    ),
    responses(
        (status = 200, description = "A stream of change events.", body = String, content_type = "text/event-stream"),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 404, response = Problem),
        (status = 429, response = Problem),
    ))]
async fn stream_changes(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> ApiResult<([(HeaderName, HeaderValue); 1], Sse<impl Stream<Item = Result<Event, Infallible>>>)> {
    reachable_account(&app, &caller, account_id)?;
    let Query(query) = query?;
    let after = match last_event_id(&headers)?.or(query.after) {
        Some(position) => position,
        None => app.live().position(),
    };
    // A position the log has not reached (a restored backup, a mistyped id) would wait silently
    // for events numbered past it, while every change in between went untold.
    let head = app.store().head_position().await?;
    if after > head {
        return Err(ApiError::bad_request(format!(
            "Position {after} is past the end of the log ({head}); reconnect without Last-Event-ID to follow from now."
        )));
    }
    let slot = match caller.role {
        Role::Client => {
            Some(app.stream_slots().take(caller.user_id, STREAMS_PER_CLIENT_USER).ok_or_else(too_many_streams)?)
        }
        _ => None,
    };
    let opening = Event::default()
        .comment(format!("changes to account {account_id} after position {after}"))
        .retry(Duration::from_secs(3));
    let stopping = app.stopping();
    let follower = Follower::new(app, caller, account_id, after, slot);
    // A stopping server ends the stream: the client reconnects, to another node, with Last-Event-ID.
    let events =
        stream::once(async { Ok(opening) }).chain(stream::unfold(follower, Follower::next)).take_until(stopping);
    // Reverse proxies such as nginx would otherwise hold events back to fill their buffers.
    let unbuffered = [(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))];
    Ok((unbuffered, Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))))
}

/// 429: a client user already holds as many streams on this node as they may.
fn too_many_streams() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too_many_streams",
        format!(
            "You already have {STREAMS_PER_CLIENT_USER} live-change streams open on this server (one per portal tab). \
             Close one before opening another."
        ),
    )
    .retry_after(5)
}

/// The position a reconnecting client last received, from `Last-Event-ID`.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let position = value.to_str().ok().and_then(|v| v.trim().parse().ok());
    position.map(Some).ok_or_else(|| ApiError::bad_request("Last-Event-ID is a log position, e.g. 1234."))
}

/// One client's stream: the log from a position, filtered to one account.
struct Follower {
    app: AppState,
    caller: Caller,
    account_id: AccountId,
    /// The position up to which the log has been looked at.
    after: u64,
    ready: VecDeque<Event>,
    /// When the session was last found to still reach the account.
    checked: Instant,
    _open: crate::metrics::Open,
    /// A client's stream counts towards their [`STREAMS_PER_CLIENT_USER`] until it ends.
    _slot: Option<Slot<UserId>>,
}

impl Follower {
    fn new(app: AppState, caller: Caller, account_id: AccountId, after: u64, slot: Option<Slot<UserId>>) -> Self {
        let open = crate::metrics::Open::stream();
        let ready = VecDeque::new();
        Follower { app, caller, account_id, after, ready, checked: Instant::now(), _open: open, _slot: slot }
    }

    /// The next SSE event for the account; `None` ends the stream (the client then reconnects
    /// with `Last-Event-ID`, so nothing is lost).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            // Checked before every event, not only every half minute: a logout must stop the
            // changes at once, and `recently_allowed` makes the check a lookup in memory.
            if !self.recently_allowed() {
                if !self.still_allowed().await {
                    return None;
                }
                self.checked = Instant::now();
            }
            if let Some(event) = self.ready.pop_front() {
                return Some((Ok(event), self));
            }
            // An idle stream costs nothing but this wait: the log is read only once the live
            // model has applied something new.
            let until_check = RECHECK.saturating_sub(self.checked.elapsed());
            if self.app.live().wait_for(self.after + 1, until_check).await && !self.read().await {
                return None;
            }
        }
    }

    /// Reads what the live model has applied since `after`, and queues what belongs to the
    /// account; false if the log could not be read.
    async fn read(&mut self) -> bool {
        let applied = self.app.live().position();
        // Usually from the live model's memory; from the log only for a stream far behind.
        let batch = match self.app.live().recent_after(self.after, PAGE) {
            Some(recent) => recent,
            None => match self.app.store().read_all(self.after, PAGE).await {
                Ok(batch) => batch.into_iter().map(Arc::new).collect(),
                Err(error) => {
                    tracing::warn!(%error, after = self.after, "an event stream could not read the log; it ends");
                    return false;
                }
            },
        };
        let live = self.app.live().read();
        let account_zone = live.account(self.account_id).map_or(chrono_tz::UTC, |a| a.time_zone);
        for event in &batch {
            if let Some(subject) = subject_of(&live, event).filter(|s| s.account_id == self.account_id) {
                // API.md: an instant in the zone of the schedule it belongs to, else its account's.
                let data = change(event, subject.ids, subject.time_zone.unwrap_or(account_zone));
                self.ready.push_back(Event::default().id(event.position.to_string()).data(data.to_string()));
            }
        }
        // A short page read everything up to what was applied, even positions no read returns
        // (purged messages); a full page goes on from its last event.
        let last = batch.last().map_or(0, |e| e.position);
        self.after = if batch.len() < PAGE { last.max(applied).max(self.after) } else { last };
        true
    }

    /// Whether the session was found good less than [`RECHECK`] ago and this node still
    /// remembers it, at its user's version: a logout or password change through this node
    /// forgets it at once, one through another node within the cache's few seconds.
    fn recently_allowed(&self) -> bool {
        let remembered = self.app.sessions().get(&self.caller.token_hash);
        self.checked.elapsed() < RECHECK
            && remembered.is_some_and(|s| s.user_version == self.app.live().read().users.version(s.user_id))
    }

    /// Whether the session still exists, its user is active and still reaches the account.
    async fn still_allowed(&self) -> bool {
        let session = store::find_session(self.app.db(), &self.caller.token_hash).await;
        let Ok(Some((user_id, expires_at))) = session else { return false };
        if expires_at <= Utc::now() {
            return false;
        }
        let user_version = self.app.live().read().users.version(user_id);
        self.app.sessions().put(&self.caller.token_hash, CheckedSession { user_id, expires_at, user_version });
        let live = self.app.live().read();
        let user = live.users.get(user_id).and_then(|u| u.user.as_ref()).filter(|u| u.active);
        user.is_some_and(|u| u.role != Role::Client || u.account_ids.contains(&self.account_id))
    }
}

/// Which account an event concerns, the ids that name what changed, and for a schedule's
/// event the schedule's time zone.
struct Subject {
    account_id: AccountId,
    ids: Map<String, Value>,
    time_zone: Option<chrono_tz::Tz>,
}

/// The account of a schedule, contact or account event; `None` for everything else.
fn subject_of(live: &LiveModel, event: &StoredEvent) -> Option<Subject> {
    let (category, id) = event.stream_id.split_once('-')?;
    let mut ids = Map::new();
    let mut time_zone = None;
    let account_id = match category {
        "schedule" => {
            let schedule_id: ScheduleId = id.parse().ok()?;
            ids.insert("schedule_id".into(), json!(schedule_id));
            // A deleted schedule keeps its account, so its deletion is still told.
            let info = live.schedules.get(schedule_id)?.info()?;
            time_zone = Some(info.time_zone);
            info.account_id
        }
        "contact" => {
            let contact_id: ContactId = id.parse().ok()?;
            ids.insert("contact_id".into(), json!(contact_id));
            live.contact(contact_id)?.account_id
        }
        "account" => id.parse().ok()?,
        _ => return None,
    };
    ids.insert("account_id".into(), json!(account_id));
    Some(Subject { account_id, ids, time_zone })
}

/// What the SSE event says: enough for a portal to know what to reload, not the event itself.
fn change(event: &StoredEvent, ids: Map<String, Value>, tz: chrono_tz::Tz) -> Value {
    let mut change = json!({
        "position": event.position,
        "type": event.event_type,
        "stream_id": event.stream_id,
        "version": event.stream_version,
        "recorded_at": views::at(event.recorded_at, tz),
    });
    if let Value::Object(members) = &mut change {
        members.extend(ids);
        // The shifts an event names, for a portal that refreshes one shift.
        let data: Value = event.data_as().unwrap_or(Value::Null);
        for key in ["shift_id", "shift_a", "shift_b"] {
            if let Some(id) = data.get(key).filter(|v| v.is_string()) {
                members.insert(key.into(), id.clone());
            }
        }
    }
    change
}
