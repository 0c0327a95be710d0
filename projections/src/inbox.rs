//! The inbox read model: one row per message, filtered by calendar days in the account's time zone, and exported as CSV.
//!
//! Message streams must be appended with
//! `with_max_age(`[`retention_max_age`](crate::sql::retention_max_age)`(days))`
//! so their events are purged with the rows (see [`crate::sql::purge_expired`]).
//! Whatever the purge has not removed yet, reads never show a message taken
//! more than the retention period ago.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use vigie_domain::contact::ContactEvent;
use vigie_domain::inbox::{MessageEvent, Recipient};
use vigie_domain::{AccountId, MessageId};
use vigie_eventstore::StoredEvent;

use crate::db::{Db, from_micros};
use crate::search::{fold, phone_digits, phone_query};
use crate::sql::days::{days_before, end_of_day, retention_cutoff, start_of_day, today};
use crate::sql::{
    Conditions, ProjectionError, SqlProjection, Tx, bind_values, contains_pattern, decode_event, stream_entity_id,
};

/// The most messages one CSV export holds.
pub const EXPORT_LIMIT: u32 = 100_000;

/// Builds `inbox_messages` (and the contact names deliveries refer to).
#[derive(Debug, Clone, Copy, Default)]
pub struct InboxProjection;

impl SqlProjection for InboxProjection {
    const NAME: &'static str = "inbox";
    const CATEGORIES: &'static [&'static str] = &["message", "contact"];
    const TABLES: &'static [&'static str] = &["inbox_messages", "inbox_contacts"];
    /// 2: search text folded (case, accents, telephone formats). 3: rebuilt once, since a
    /// runner sharing a PostgreSQL log with other nodes could skip their events (0856a8c).
    const REVISION: i64 = 3;

    async fn apply(&self, tx: &mut Tx<'_>, event: &StoredEvent, generation: i64) -> Result<(), ProjectionError> {
        if event.stream_id.starts_with("contact-") {
            apply_contact(tx, event, generation).await
        } else {
            apply_message(tx, event, generation).await
        }
    }
}

async fn apply_message(tx: &mut Tx<'_>, event: &StoredEvent, generation: i64) -> Result<(), ProjectionError> {
    let id = stream_entity_id(event)?.to_string();
    match decode_event::<MessageEvent>(event)? {
        MessageEvent::MessageTaken(m) => {
            let words = [m.caller_name.as_deref(), m.caller_number.as_deref(), Some(&m.text), Some(&m.agent)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            let number = m.caller_number.as_deref().map(phone_digits).unwrap_or_default();
            let search_text = format!("{}\n{number}", fold(&words));
            tx.execute(
                "INSERT INTO inbox_messages (generation, message_id, account_id, taken_at, agent, caller_name,
                                             caller_number, text, urgent, status, search_text)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)",
                &[
                    generation.into(),
                    id.into(),
                    m.account_id.to_string().into(),
                    m.taken_at.into(),
                    m.agent.into(),
                    m.caller_name.into(),
                    m.caller_number.into(),
                    m.text.into(),
                    m.urgent.into(),
                    search_text.into(),
                ],
            )
            .await?;
        }
        MessageEvent::MessageDelivered(d) => {
            // A contact is named as the directory named it at delivery time
            // (by its id, if the contact is unknown here).
            let (contact_id, name) = match d.to {
                Recipient::Contact { contact_id } => (Some(contact_id.to_string()), contact_id.to_string()),
                Recipient::Other { name } => (None, name),
            };
            tx.execute(
                "UPDATE inbox_messages
                    SET delivered_to = CASE WHEN delivered_to IS NULL THEN r.name
                                            ELSE delivered_to || ', ' || r.name END,
                        delivered_at = $3
                   FROM (SELECT COALESCE((SELECT c.name FROM inbox_contacts c
                                           WHERE c.generation = $1 AND c.contact_id = $4), $5) AS name) r
                  WHERE generation = $1 AND message_id = $2",
                &[generation.into(), id.into(), d.at.into(), contact_id.into(), name.into()],
            )
            .await?;
        }
        MessageEvent::MessageClosed(c) => {
            tx.execute(
                "UPDATE inbox_messages SET status = 'closed', closed_at = $3 WHERE generation = $1 AND message_id = $2",
                &[generation.into(), id.into(), c.at.into()],
            )
            .await?;
        }
        MessageEvent::MessageReopened(_) => {
            tx.execute(
                "UPDATE inbox_messages SET status = 'open', closed_at = NULL WHERE generation = $1 AND message_id = $2",
                &[generation.into(), id.into()],
            )
            .await?;
        }
    }
    Ok(())
}

async fn apply_contact(tx: &mut Tx<'_>, event: &StoredEvent, generation: i64) -> Result<(), ProjectionError> {
    let id = stream_entity_id(event)?.to_string();
    let name = match decode_event::<ContactEvent>(event)? {
        ContactEvent::ContactAdded(added) => added.details.name,
        ContactEvent::ContactUpdated(updated) => updated.details.name,
        ContactEvent::ContactDeactivated(_) | ContactEvent::ContactReactivated(_) => return Ok(()),
    };
    tx.execute(
        "INSERT INTO inbox_contacts (generation, contact_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (generation, contact_id) DO UPDATE SET name = excluded.name",
        &[generation.into(), id.into(), name.into()],
    )
    .await?;
    Ok(())
}

/// The instants `[start, end)` a window covers; `None` for no bound.
type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Which calendar days, in the account's time zone, a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// Every message still kept.
    #[default]
    All,
    Today,
    Yesterday,
    /// Today and the 6 days before.
    LastWeek,
    /// Today and the 29 days before.
    LastMonth,
    /// From `from` to `to`, both days included.
    Range {
        from: NaiveDate,
        to: NaiveDate,
    },
}

impl Window {
    /// The instants `[start, end)` the window covers; `None` for no bound.
    fn bounds(self, zone: Tz, now: DateTime<Utc>) -> Result<Bounds, ProjectionError> {
        let today = today(zone, now);
        let days = |first: NaiveDate, last: NaiveDate| (Some(start_of_day(zone, first)), Some(end_of_day(zone, last)));
        Ok(match self {
            Window::All => (None, None),
            Window::Today => days(today, today),
            Window::Yesterday => days(days_before(today, 1), days_before(today, 1)),
            Window::LastWeek => days(days_before(today, 6), today),
            Window::LastMonth => days(days_before(today, 29), today),
            Window::Range { from, to } if from > to => {
                return Err(ProjectionError::InvalidQuery(format!("the range starts ({from}) after it ends ({to})")));
            }
            Window::Range { from, to } => days(from, to),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Open,
    Closed,
}

impl MessageStatus {
    fn as_sql(self) -> &'static str {
        match self {
            MessageStatus::Open => "open",
            MessageStatus::Closed => "closed",
        }
    }
}

/// A page of an account's inbox, filtered.
#[derive(Debug, Clone)]
pub struct InboxQuery {
    pub account_id: AccountId,
    /// The account's time zone: windows are its calendar days, and times are written in it.
    pub time_zone: Tz,
    pub now: DateTime<Utc>,
    pub window: Window,
    pub status: Option<MessageStatus>,
    pub urgent: Option<bool>,
    /// Found anywhere in the caller's name or number, the text or the agent,
    /// ignoring case and accents; a telephone number matches however it is written.
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

impl InboxQuery {
    /// Every message kept for the account, newest first, 50 at a time.
    pub fn new(account_id: AccountId, time_zone: Tz, now: DateTime<Utc>) -> Self {
        Self {
            account_id,
            time_zone,
            now,
            window: Window::All,
            status: None,
            urgent: None,
            text: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// A message as the inbox shows it, times in the account's zone.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    #[schema(value_type = uuid::Uuid)]
    pub id: MessageId,
    #[schema(value_type = uuid::Uuid)]
    pub account_id: AccountId,
    /// When the agent took the message, with the account's UTC offset.
    #[schema(value_type = String, format = DateTime)]
    pub taken_at: DateTime<Tz>,
    /// The answering service's agent who took it.
    pub agent: String,
    pub caller_name: Option<String>,
    pub caller_number: Option<String>,
    pub text: String,
    pub urgent: bool,
    /// `open` or `closed`.
    #[schema(value_type = String)]
    pub status: MessageStatus,
    /// Every recipient, in delivery order, separated by ", ".
    pub delivered_to: Option<String>,
    /// The latest delivery.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<Tz>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Tz>>,
}

/// One page of messages, newest first, and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxPage {
    pub messages: Vec<MessageView>,
    pub total: u64,
}

/// Reads the inbox read model.
#[derive(Debug, Clone)]
pub struct Inbox {
    db: Db,
    retention_days: u32,
}

const COLUMNS: &str = "message_id, account_id, taken_at, agent, caller_name, caller_number, text, urgent, status, \
                       delivered_to, delivered_at, closed_at";

impl Inbox {
    /// Reads from `db`, hiding messages taken more than `retention_days` ago
    /// (normally `vigie_domain::inbox::DEFAULT_RETENTION_DAYS`).
    pub fn new(db: Db, retention_days: u32) -> Self {
        Self { db, retention_days }
    }

    /// The page of messages the query asks for, and the number matching in all.
    pub async fn query(&self, query: &InboxQuery) -> Result<InboxPage, ProjectionError> {
        let mut conditions = self.conditions(query)?;
        let where_clause = conditions.sql();
        let count_sql = format!("SELECT count(*) FROM inbox_messages WHERE {where_clause}");
        let values = conditions.values().to_vec();
        let total: i64 = crate::on_db!(&self.db, |pool| bind_values!(sqlx::query_scalar(&count_sql), &values)
            .fetch_one(pool)
            .await)?;
        let limit = conditions.bind(i64::from(query.limit));
        let offset = conditions.bind(i64::from(query.offset));
        let messages = self.fetch(&conditions, &format!("LIMIT {limit} OFFSET {offset}"), query.time_zone).await?;
        Ok(InboxPage { messages, total: u64::try_from(total).unwrap_or_default() })
    }

    /// One message of the account, if it is still kept.
    pub async fn message(
        &self,
        account_id: AccountId,
        id: MessageId,
        time_zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageView>, ProjectionError> {
        let mut conditions = self.conditions(&InboxQuery::new(account_id, time_zone, now))?;
        conditions.and("message_id = {}", id.to_string());
        Ok(self.fetch(&conditions, "", time_zone).await?.pop())
    }

    /// Every message the query matches (its limit and offset aside, up to
    /// [`EXPORT_LIMIT`]) as CSV with a header row, times in RFC 3339 in the account's zone.
    pub async fn export_csv(&self, query: &InboxQuery) -> Result<String, ProjectionError> {
        let mut conditions = self.conditions(query)?;
        let limit = conditions.bind(i64::from(EXPORT_LIMIT));
        let messages = self.fetch(&conditions, &format!("LIMIT {limit}"), query.time_zone).await?;
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record([
            "id",
            "taken_at",
            "agent",
            "caller_name",
            "caller_number",
            "text",
            "urgent",
            "status",
            "delivered_to",
            "delivered_at",
            "closed_at",
        ])?;
        let time = |at: Option<DateTime<Tz>>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
        for m in messages {
            csv.write_record([
                m.id.to_string(),
                time(Some(m.taken_at)),
                inert(m.agent),
                inert(m.caller_name.unwrap_or_default()),
                inert(m.caller_number.unwrap_or_default()),
                inert(m.text),
                if m.urgent { "yes" } else { "no" }.to_owned(),
                m.status.as_sql().to_owned(),
                inert(m.delivered_to.unwrap_or_default()),
                time(m.delivered_at),
                time(m.closed_at),
            ])?;
        }
        let bytes = csv.into_inner().map_err(|error| ProjectionError::Csv(error.into_error().into()))?;
        String::from_utf8(bytes).map_err(|error| ProjectionError::bad_row("inbox_messages", error))
    }

    /// The account's live, unexpired messages that match the query's filters.
    fn conditions(&self, query: &InboxQuery) -> Result<Conditions, ProjectionError> {
        let (start, end) = query.window.bounds(query.time_zone, query.now)?;
        let cutoff = retention_cutoff(query.now, self.retention_days);
        let mut conditions = Conditions::live_rows_of(InboxProjection::NAME);
        conditions.and("account_id = {}", query.account_id.to_string());
        conditions.and("taken_at >= {}", start.map_or(cutoff, |start| start.max(cutoff)));
        if let Some(end) = end {
            conditions.and("taken_at < {}", end);
        }
        if let Some(status) = query.status {
            conditions.and("status = {}", status.as_sql());
        }
        if let Some(urgent) = query.urgent {
            conditions.and("urgent = {}", urgent);
        }
        if let Some(text) = query.text.as_deref().filter(|text| !text.trim().is_empty()) {
            let words = conditions.bind(contains_pattern(text));
            let words = format!(r"search_text LIKE {words} ESCAPE '\'");
            let condition = match phone_query(text) {
                Some(number) => format!("({words} OR search_text LIKE {})", conditions.bind(format!("%{number}%"))),
                None => words,
            };
            conditions.push(condition);
        }
        Ok(conditions)
    }

    async fn fetch(&self, conditions: &Conditions, tail: &str, zone: Tz) -> Result<Vec<MessageView>, ProjectionError> {
        let sql = conditions.newest_first("inbox_messages", "message_id", "taken_at", COLUMNS, tail);
        let values = conditions.values();
        let rows: Vec<MessageRow> =
            crate::on_db!(&self.db, |pool| bind_values!(sqlx::query_as(&sql), values).fetch_all(pool).await)?;
        rows.into_iter().map(|row| row.view(zone)).collect()
    }
}

/// Text a spreadsheet will not run: a cell that starts like a formula (a
/// caller's "name" such as `=HYPERLINK(…)`, or `+1 418…`) gets a leading `'`,
/// as OWASP advises against CSV injection.
fn inert(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text }
}

#[derive(Debug, sqlx::FromRow)]
struct MessageRow {
    message_id: String,
    account_id: String,
    taken_at: i64,
    agent: String,
    caller_name: Option<String>,
    caller_number: Option<String>,
    text: String,
    urgent: bool,
    status: String,
    delivered_to: Option<String>,
    delivered_at: Option<i64>,
    closed_at: Option<i64>,
}

impl MessageRow {
    fn view(self, zone: Tz) -> Result<MessageView, ProjectionError> {
        let bad = |reason: String| ProjectionError::bad_row("inbox_messages", reason);
        let local = |micros: i64| from_micros(micros).with_timezone(&zone);
        Ok(MessageView {
            id: self.message_id.parse().map_err(|e| bad(format!("message id: {e}")))?,
            account_id: self.account_id.parse().map_err(|e| bad(format!("account id: {e}")))?,
            taken_at: local(self.taken_at),
            agent: self.agent,
            caller_name: self.caller_name,
            caller_number: self.caller_number,
            text: self.text,
            urgent: self.urgent,
            status: if self.status == "closed" { MessageStatus::Closed } else { MessageStatus::Open },
            delivered_to: self.delivered_to,
            delivered_at: self.delivered_at.map(local),
            closed_at: self.closed_at.map(local),
        })
    }
}
