//! The call log read model: one row per call, searched by days in the account's time zone and caller ID, split into recent and archive.
//!
//! Call streams must be appended with
//! `with_max_age(`[`retention_max_age`](crate::sql::retention_max_age)`(days))`
//! so their events are purged with the rows (see [`crate::sql::purge_expired`]).
//! Whatever the purge has not removed yet, reads never show a call started
//! more than the retention period ago.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use vigie_domain::calls::{CallEvent, CallKind};
use vigie_domain::{AccountId, CallId, RecordingId};
use vigie_eventstore::StoredEvent;

use crate::db::{Db, from_micros};
use crate::search::{fold, phone_digits, phone_query};
use crate::sql::days::{days_before, end_of_day, retention_cutoff, start_of_day, today};
use crate::sql::{
    Conditions, ProjectionError, SqlProjection, Tx, bind_values, contains_pattern, decode_event, stream_entity_id,
};

/// Calls started on the last this many calendar days (today included) are recent; older ones are the archive.
pub const RECENT_DAYS: u64 = 7;

/// How many calls a search answers when it does not say: every call of a usual
/// account's two months, while a busy account's are paged rather than sent in
/// one answer of megabytes.
pub const DEFAULT_PAGE: u32 = 500;

/// The most calls one answer holds.
pub const MAX_PAGE: u32 = 1000;

/// Builds `call_log` from the call streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallLogProjection;

impl SqlProjection for CallLogProjection {
    const NAME: &'static str = "call_log";
    const CATEGORIES: &'static [&'static str] = &["call"];
    const TABLES: &'static [&'static str] = &["call_log"];
    /// 2: search text folded (case, accents, telephone formats). 3: rebuilt once, since a
    /// runner sharing a PostgreSQL log with other nodes could skip their events (0856a8c).
    const REVISION: i64 = 3;

    async fn apply(&self, tx: &mut Tx<'_>, event: &StoredEvent, generation: i64) -> Result<(), ProjectionError> {
        let id = stream_entity_id(event)?.to_string();
        match decode_event::<CallEvent>(event)? {
            CallEvent::CallLogged(call) => {
                let caller_digits = call.caller_id.as_deref().map(phone_digits);
                let caller_folded = call.caller_id.as_deref().map(fold);
                tx.execute(
                    "INSERT INTO call_log (generation, call_id, account_id, call_number, started_at, duration_seconds,
                                           agent, caller_id, caller_digits, caller_folded, kind)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &[
                        generation.into(),
                        id.into(),
                        call.account_id.to_string().into(),
                        call.call_number.into(),
                        call.started_at.into(),
                        i64::from(call.duration_seconds).into(),
                        call.agent.into(),
                        call.caller_id.into(),
                        caller_digits.into(),
                        caller_folded.into(),
                        kind_to_sql(call.kind).into(),
                    ],
                )
                .await?;
            }
            CallEvent::RecordingAttached(recording) => {
                tx.execute(
                    "UPDATE call_log SET recording_id = $3, recording_content_type = $4, recording_bytes = $5
                      WHERE generation = $1 AND call_id = $2",
                    &[
                        generation.into(),
                        id.into(),
                        recording.recording_id.to_string().into(),
                        recording.content_type.into(),
                        i64::try_from(recording.bytes).unwrap_or(i64::MAX).into(),
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn kind_to_sql(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Details => "details",
        CallKind::Voice => "voice",
    }
}

/// A search of an account's call log.
#[derive(Debug, Clone)]
pub struct CallQuery {
    pub account_id: AccountId,
    /// The account's time zone: dates are its calendar days, and times are written in it.
    pub time_zone: Tz,
    pub now: DateTime<Utc>,
    /// The first day searched, included.
    pub from: Option<NaiveDate>,
    /// The last day searched, included.
    pub to: Option<NaiveDate>,
    /// Found anywhere in the caller ID, ignoring case and accents; a number
    /// also matches however it is written (`+1 418 555 0142` finds `418-555-0142`).
    pub caller_id: Option<String>,
    /// At most this many calls, newest first…
    pub limit: u32,
    /// …after skipping this many.
    pub offset: u32,
}

impl CallQuery {
    /// Every call kept for the account, the first [`DEFAULT_PAGE`] of them.
    pub fn new(account_id: AccountId, time_zone: Tz, now: DateTime<Utc>) -> Self {
        Self { account_id, time_zone, now, from: None, to: None, caller_id: None, limit: DEFAULT_PAGE, offset: 0 }
    }
}

/// A call as the call log shows it, times in the account's zone.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CallView {
    #[schema(value_type = uuid::Uuid)]
    pub id: CallId,
    #[schema(value_type = uuid::Uuid)]
    pub account_id: AccountId,
    /// The telephony system's own number for the call.
    pub call_number: String,
    /// When the call began, with the account's UTC offset.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: DateTime<Tz>,
    pub duration_seconds: u32,
    pub agent: String,
    pub caller_id: Option<String>,
    /// `details` (no conversation, e.g. an e-mail handled) or `voice` (a recorded call).
    #[schema(value_type = String)]
    pub kind: CallKind,
    /// The audio of a voice call, once it is in blob storage.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub recording_id: Option<RecordingId>,
    pub content_type: Option<String>,
    pub bytes: Option<u64>,
}

/// A page of a search's answer, newest first, split in two parts: the recent
/// calls come first, so a page holds recent calls, then archived ones, or both.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CallLogView {
    /// Started on the last 7 calendar days, today included.
    pub recent: Vec<CallView>,
    /// Older, back to the retention period.
    pub archive: Vec<CallView>,
    /// How many recent calls match in all, on every page.
    pub total_recent: u64,
    /// How many archived calls match in all, on every page.
    pub total_archive: u64,
    pub limit: u32,
    pub offset: u32,
}

/// Reads the call log read model.
#[derive(Debug, Clone)]
pub struct CallLog {
    db: Db,
    retention_days: u32,
}

const COLUMNS: &str = "call_id, account_id, call_number, started_at, duration_seconds, agent, caller_id, kind, \
                       recording_id, recording_content_type, recording_bytes";

impl CallLog {
    /// Reads from `db`, hiding calls started more than `retention_days` ago
    /// (normally `vigie_domain::inbox::DEFAULT_RETENTION_DAYS`).
    pub fn new(db: Db, retention_days: u32) -> Self {
        Self { db, retention_days }
    }

    /// The calls matching the query, split into recent and archive.
    pub async fn search(&self, query: &CallQuery) -> Result<CallLogView, ProjectionError> {
        let zone = query.time_zone;
        let mut conditions = self.conditions(query.account_id, query.now);
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(ProjectionError::InvalidQuery(format!("the range starts ({from}) after it ends ({to})")));
        }
        if let Some(from) = query.from {
            conditions.and("started_at >= {}", start_of_day(zone, from));
        }
        if let Some(to) = query.to {
            conditions.and("started_at < {}", end_of_day(zone, to));
        }
        if let Some(wanted) = query.caller_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            // Rows written before `caller_folded` existed have none until the
            // projection is rebuilt at its new revision: they match in lower case meanwhile.
            let text = conditions.bind(contains_pattern(wanted));
            let folded = format!(r"COALESCE(caller_folded, lower(caller_id)) LIKE {text} ESCAPE '\'");
            let condition = match phone_query(wanted) {
                Some(number) => format!("({folded} OR caller_digits LIKE {})", conditions.bind(format!("%{number}%"))),
                None => folded,
            };
            conditions.push(condition);
        }
        let recent_from = start_of_day(zone, days_before(today(zone, query.now), RECENT_DAYS - 1));
        let (total, total_recent) = self.count(&conditions, recent_from).await?;
        let limit = conditions.bind(i64::from(query.limit));
        let offset = conditions.bind(i64::from(query.offset));
        let calls = self.fetch(&conditions, &format!("LIMIT {limit} OFFSET {offset}"), zone).await?;
        let (recent, archive) = calls.into_iter().partition(|call| call.started_at >= recent_from);
        Ok(CallLogView {
            recent,
            archive,
            total_recent,
            total_archive: total.saturating_sub(total_recent),
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// How many calls match, and how many of them started at `recent_from` or later.
    async fn count(&self, conditions: &Conditions, recent_from: DateTime<Utc>) -> Result<(u64, u64), ProjectionError> {
        let mut counting = conditions.clone();
        let recent = counting.bind(recent_from);
        let sql = format!(
            "SELECT count(*), count(CASE WHEN started_at >= {recent} THEN 1 END) FROM call_log WHERE {}",
            conditions.sql()
        );
        let values = counting.values();
        let (total, recent): (i64, i64) =
            crate::on_db!(&self.db, |pool| bind_values!(sqlx::query_as(&sql), values).fetch_one(pool).await)?;
        Ok((u64::try_from(total).unwrap_or_default(), u64::try_from(recent).unwrap_or_default()))
    }

    /// One call of the account, if it is still kept.
    pub async fn call(
        &self,
        account_id: AccountId,
        id: CallId,
        time_zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Option<CallView>, ProjectionError> {
        let mut conditions = self.conditions(account_id, now);
        conditions.and("call_id = {}", id.to_string());
        Ok(self.fetch(&conditions, "", time_zone).await?.pop())
    }

    /// The account's live, unexpired calls.
    fn conditions(&self, account_id: AccountId, now: DateTime<Utc>) -> Conditions {
        let mut conditions = Conditions::live_rows_of(CallLogProjection::NAME);
        conditions.and("account_id = {}", account_id.to_string());
        conditions.and("started_at >= {}", retention_cutoff(now, self.retention_days));
        conditions
    }

    async fn fetch(&self, conditions: &Conditions, tail: &str, zone: Tz) -> Result<Vec<CallView>, ProjectionError> {
        let sql = conditions.newest_first("call_log", "call_id", "started_at", COLUMNS, tail);
        let values = conditions.values();
        let rows: Vec<CallRow> =
            crate::on_db!(&self.db, |pool| bind_values!(sqlx::query_as(&sql), values).fetch_all(pool).await)?;
        rows.into_iter().map(|row| row.view(zone)).collect()
    }
}

#[derive(Debug, sqlx::FromRow)]
struct CallRow {
    call_id: String,
    account_id: String,
    call_number: String,
    started_at: i64,
    duration_seconds: i64,
    agent: String,
    caller_id: Option<String>,
    kind: String,
    recording_id: Option<String>,
    recording_content_type: Option<String>,
    recording_bytes: Option<i64>,
}

impl CallRow {
    fn view(self, zone: Tz) -> Result<CallView, ProjectionError> {
        let bad = |reason: String| ProjectionError::bad_row("call_log", reason);
        let kind = match self.kind.as_str() {
            "details" => CallKind::Details,
            "voice" => CallKind::Voice,
            other => return Err(bad(format!("kind {other:?}"))),
        };
        Ok(CallView {
            id: self.call_id.parse().map_err(|e| bad(format!("call id: {e}")))?,
            account_id: self.account_id.parse().map_err(|e| bad(format!("account id: {e}")))?,
            call_number: self.call_number,
            started_at: from_micros(self.started_at).with_timezone(&zone),
            duration_seconds: u32::try_from(self.duration_seconds).map_err(|e| bad(format!("duration: {e}")))?,
            agent: self.agent,
            caller_id: self.caller_id,
            kind,
            recording_id: self
                .recording_id
                .map(|id| id.parse())
                .transpose()
                .map_err(|e| bad(format!("recording id: {e}")))?,
            content_type: self.recording_content_type,
            bytes: self.recording_bytes.map(|bytes| u64::try_from(bytes).unwrap_or_default()),
        })
    }
}
