//! How the API writes things: JSON shapes of API.md, instants in their schedule's or account's zone, and body parsing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigie_domain::account::AccountOpened;
use vigie_domain::contact::ContactInfo;
use vigie_domain::schedule::{ScheduleState, Shift, Source};
use vigie_domain::{AccountId, ContactId, OverrideId, SeriesId, ShiftId};
use vigie_projections::live::LiveModel;

use crate::error::ApiError;

/// A JSON body whose rejections are problem+json 400s that say what was wrong.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON, with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            // The body limit: 413, as for every other body too large.
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "This request body is too large (64 KiB at most).",
                )
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        if holds_escaped_nul(&bytes) {
            return Err(no_nul());
        }
        // serde reads a struct from an array too, field by field in order: a body
        // of ["id", "comment"] would pass for an object without naming its fields.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request("The request body must be a JSON object."));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => {
                    ApiError::bad_request(format!("The request body does not fit: {}", e.body_text()))
                }
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::bad_request(format!("The request body is not valid JSON: {}", e.body_text()))
                }
                other => ApiError::bad_request(other.body_text()),
            }),
        }
    }
}

/// A JSON body that may be left out: no body, or `null`, reads as `T::default()`. Any other body
/// is read as [`JsonBody`] reads it, Content-Type included.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, crate::idempotency::MAX_BODY).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "This request body is too large (64 KiB at most).",
            )
        })?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(Self(T::default()));
        }
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        JsonBody::from_request(request, state).await.map(|JsonBody(value)| Self(value))
    }
}

/// Refuses a request whose path or query holds `%00`: no text the API stores or
/// searches may hold a NUL, which PostgreSQL cannot even compare (it answered 500).
pub async fn refuse_nul_in_uri(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = request.uri();
    let escaped_nul = |part: &str| part.as_bytes().windows(3).any(|w| w == b"%00");
    if escaped_nul(uri.path()) || uri.query().is_some_and(escaped_nul) {
        return no_nul().into_response();
    }
    next.run(request).await
}

fn no_nul() -> ApiError {
    ApiError::bad_request("Text cannot contain the NUL character (U+0000).")
}

/// Whether a JSON text holds a string with a NUL: JSON writes it `\u0000`, and
/// only an odd run of backslashes before the `u` makes that an escape.
fn holds_escaped_nul(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(at, window)| {
        window == b"\\u0000" && json[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// Whether the request says its body is JSON: `application/json` or `application/…+json`, in any case.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The `as_of` of a past view. One in the future is now: nothing later is known
/// yet, and echoing it back would claim a view of the schedule as it will be known.
/// "Now" is the later of this node's clock and `known_at`, the record time of the
/// newest change it knows: another node with a clock ahead of this one's may have
/// recorded that change, and a view as of its record time must still show it.
pub fn parse_as_of(value: Option<&str>, known_at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let now = Utc::now().max(known_at.unwrap_or(DateTime::<Utc>::MIN_UTC));
    Ok(Some(parse_instant("as_of", value)?.min(now)))
}

/// An instant written in the time zone it belongs to; in UTC it ends in `Z`, as the
/// instants in events' data do, so one feed never writes UTC two ways.
pub fn at(instant: DateTime<Utc>, tz: Tz) -> String {
    if is_utc(tz) {
        instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        instant.with_timezone(&tz).to_rfc3339()
    }
}

/// Whether a zone is UTC under any of its names (`Etc/UTC`, `Zulu`, `Universal`…). GMT's names
/// are left out: they write as `+00:00`, as does London in winter.
fn is_utc(tz: Tz) -> bool {
    matches!(tz.name(), "UTC" | "Etc/UTC" | "UCT" | "Etc/UCT" | "Universal" | "Etc/Universal" | "Zulu" | "Etc/Zulu")
}

/// Parses an RFC 3339 instant from a query or body field, naming the field when it is wrong.
/// An RFC 3339 instant between the years 1000 and 9000: answers write instants in other time
/// zones, and one at the edge of year 9999 would come out as a five-digit year, which RFC 3339 has not.
pub fn parse_instant(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let instant = DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ApiError::bad_request(format!("{field} must be an instant with an offset, e.g. 2026-05-02T03:00:00-04:00."))
    })?;
    if !(1000..=9000).contains(&instant.year()) {
        return Err(ApiError::bad_request(format!("{field} must fall between the years 1000 and 9000.")));
    }
    no_leap_second(field, &instant)?;
    Ok(instant)
}

/// Refuses a time whose seconds read 60. chrono reads `23:59:60` as a leap second, which no
/// clock this server knows keeps, and writes it back as `:60`, which most readers (browsers,
/// iCalendar) refuse.
pub fn no_leap_second(field: &str, time: &impl Timelike) -> Result<(), ApiError> {
    if time.nanosecond() >= 1_000_000_000 {
        return Err(ApiError::bad_request(format!("{field} has 60 seconds; seconds run from 00 to 59.")));
    }
    Ok(())
}

/// Parses the start or end of a shift or an override: an instant, cut to its whole second.
/// Exports and calendar apps write times to the second, so two times within one second would
/// print as one (an override from 09:30:00.5 to 09:30:00.7 as 09:30 to 09:30, under one event
/// id); a portal that sends the milliseconds of its clock means the second they fall in.
pub fn parse_boundary(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    Ok(to_the_second(parse_instant(field, value)?))
}

/// The time without its fraction of a second (see [`parse_boundary`]).
pub fn to_the_second<T: Timelike>(time: T) -> T {
    time.with_nanosecond(0).expect("0 ns is valid in every second")
}

/// A shift's rank as a body gives it: any whole number is read, so that -1 is refused by the
/// rule for ranks (422 `rank_out_of_range`), as 100 is, rather than as a malformed body.
pub fn rank(value: i64) -> Result<u32, ApiError> {
    u32::try_from(value).map_err(|_| vigie_domain::DomainError::RankOutOfRange(vigie_domain::schedule::RANK_MAX).into())
}

/// Refuses a date from a JSON body outside the years 1000 to 9000: serde reads `27-03-10` as
/// the year 27, which no schedule means.
pub fn date_in_range(field: &str, date: NaiveDate) -> Result<NaiveDate, ApiError> {
    if !(1000..=9000).contains(&date.year()) {
        return Err(ApiError::bad_request(format!(
            "{field} must be a date between the years 1000 and 9000, e.g. 2026-05-02."
        )));
    }
    Ok(date)
}

/// Parses a date written YYYY-MM-DD. The year has four digits: chrono alone reads `27-11-07`
/// as the year 27, and the answer would then be about a range the client never meant.
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let refused = || ApiError::bad_request(format!("{field} must be a date, e.g. 2026-05-02."));
    let digit_at = |i: usize| value.as_bytes()[i].is_ascii_digit();
    let shaped = value.len() == 10
        && value.as_bytes()[4] == b'-'
        && value.as_bytes()[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].into_iter().all(digit_at);
    let date = if shaped {
        NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| refused())?
    } else {
        return Err(refused());
    };
    if !(1000..=9000).contains(&date.year()) {
        return Err(ApiError::bad_request(format!("{field} must fall between the years 1000 and 9000.")));
    }
    Ok(date)
}

/// An account as its users see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    #[schema(value_type = uuid::Uuid)]
    pub id: AccountId,
    /// The answering service's number for the client, e.g. `4000`.
    pub number: String,
    pub name: String,
    /// The account this one is a sub-account of, if any.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub parent_id: Option<AccountId>,
    /// An IANA time zone, e.g. `America/Toronto`.
    pub time_zone: &'static str,
}

pub fn account(account: &AccountOpened) -> AccountView {
    AccountView {
        id: account.account_id,
        number: account.number.clone(),
        name: account.name.clone(),
        parent_id: account.parent_id,
        time_zone: account.time_zone.name(),
    }
}

/// A contact of an account's directory.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ContactId,
    pub name: String,
    /// At most three, in the order to try.
    pub phones: Vec<String>,
    pub sms: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
    /// A deactivated contact stays in the directory, but cannot be assigned.
    pub active: bool,
}

pub fn contact(contact: &ContactInfo) -> ContactView {
    let d = &contact.details;
    ContactView {
        id: contact.id,
        name: d.name.clone(),
        phones: d.phones.clone(),
        sms: d.sms.clone(),
        email: d.email.clone(),
        notes: d.notes.clone(),
        active: contact.active,
    }
}

/// A contact as shifts name it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactRef {
    #[schema(value_type = uuid::Uuid)]
    pub id: ContactId,
    /// `null` if the contact is not in the directory.
    pub name: Option<String>,
    /// Present, and `false`, only for a deactivated contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Where contacts' names and numbers come from: the directory now, or as it
/// was known at an `as_of` (a past view shows what dispatch had then).
#[derive(Debug, Clone, Copy)]
pub enum Directory<'a> {
    Now(&'a LiveModel),
    AsOf(&'a HashMap<ContactId, ContactInfo>),
}

impl Directory<'_> {
    pub fn contact(&self, id: ContactId) -> Option<&ContactInfo> {
        match self {
            Directory::Now(live) => live.contact(id),
            Directory::AsOf(contacts) => contacts.get(&id),
        }
    }
}

/// `{"id", "name"}` of a contact as shifts show it; a deactivated one is flagged.
pub fn contact_ref(directory: Directory<'_>, id: ContactId) -> ContactRef {
    match directory.contact(id) {
        Some(c) => ContactRef { id, name: Some(c.details.name.clone()), active: (!c.active).then_some(false) },
        None => ContactRef { id, name: None, active: None },
    }
}

/// A shift, who covers it and when, in the schedule's time zone (RFC 3339 instants).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ShiftId,
    pub start: String,
    pub end: String,
    /// 0 is called first, then 1, …
    pub rank: u32,
    pub name: String,
    pub role: String,
    /// The repeating series the shift belongs to, if any.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub series_id: Option<SeriesId>,
    /// The base contact; `null` when the shift is unassigned.
    pub assignee: Option<ContactRef>,
    /// The comment given with the latest assignment.
    pub assign_comment: Option<String>,
    pub overrides: Vec<OverrideView>,
    pub comments: Vec<CommentView>,
    /// The shift cut where overrides begin and end: who is on call for each part.
    pub segments: Vec<SegmentView>,
}

/// Part of a shift given to another contact.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideView {
    #[schema(value_type = uuid::Uuid)]
    pub id: OverrideId,
    pub start: String,
    pub end: String,
    pub contact: ContactRef,
    pub comment: Option<String>,
}

/// A comment left on a shift.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub text: String,
    pub at: String,
    /// The author's username.
    pub by: String,
}

/// A stretch of a shift with one contact on call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub start: String,
    pub end: String,
    /// `null` when nobody covers this stretch.
    pub contact: Option<ContactRef>,
    /// `override`, `base` or `none`.
    pub source: &'static str,
}

/// A shift as `GET …/shifts` lists it.
pub fn shift(directory: Directory<'_>, shift: &Shift, tz: Tz) -> ShiftView {
    let overrides = shift
        .overrides
        .iter()
        .map(|o| OverrideView {
            id: o.id,
            start: at(o.start, tz),
            end: at(o.end, tz),
            contact: contact_ref(directory, o.contact_id),
            comment: o.comment.clone(),
        })
        .collect();
    let comments = shift
        .comments
        .iter()
        .map(|c| CommentView { text: c.text.clone(), at: at(c.at, tz), by: c.by.clone() })
        .collect();
    let segments = shift
        .segments()
        .iter()
        .map(|s| SegmentView {
            start: at(s.start, tz),
            end: at(s.end, tz),
            contact: s.contact_id.map(|id| contact_ref(directory, id)),
            source: source(s.source),
        })
        .collect();
    ShiftView {
        id: shift.id,
        start: at(shift.start, tz),
        end: at(shift.end, tz),
        rank: shift.rank,
        name: shift.name.to_string(),
        role: shift.role.to_string(),
        series_id: shift.series_id,
        assignee: shift.assignee.map(|id| contact_ref(directory, id)),
        assign_comment: shift.assign_comment.as_deref().map(str::to_owned),
        overrides,
        comments,
        segments,
    }
}

pub fn source(source: Source) -> &'static str {
    match source {
        Source::Override => "override",
        Source::Base => "base",
        Source::None => "none",
    }
}

/// `{"id", "name", "time_zone"}` of a schedule.
pub fn schedule_head(id: vigie_domain::ScheduleId, state: &ScheduleState) -> ScheduleHead {
    let info = state.info();
    ScheduleHead {
        id,
        name: info.map(|i| i.name.clone()),
        time_zone: state.time_zone().name(),
        account_id: info.map(|i| i.account_id),
    }
}

/// A schedule, named.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleHead {
    #[schema(value_type = uuid::Uuid)]
    pub id: vigie_domain::ScheduleId,
    pub name: Option<String>,
    /// An IANA time zone; the schedule's times are given in it.
    pub time_zone: &'static str,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::{at, holds_escaped_nul, parse_as_of, parse_date};

    #[test]
    fn an_as_of_in_the_future_is_now_unless_a_change_was_recorded_later_on_a_clock_ahead() {
        let ahead = Utc::now() + Duration::minutes(10);
        let asked = |instant: chrono::DateTime<Utc>| instant.to_rfc3339();

        // Recorded on this node's clock: anything later than now is now.
        let clamped = parse_as_of(Some(&asked(ahead)), Some(Utc::now())).unwrap().unwrap();
        assert!(clamped <= Utc::now());

        // Recorded 10 minutes ahead of this clock by another node: a view as of that change shows it.
        let kept = parse_as_of(Some(&asked(ahead)), Some(ahead)).unwrap().unwrap();
        assert_eq!(kept.timestamp_micros(), ahead.timestamp_micros());
        let beyond = parse_as_of(Some(&asked(ahead + Duration::hours(1))), Some(ahead)).unwrap().unwrap();
        assert_eq!(beyond, ahead);

        assert_eq!(parse_as_of(None, Some(ahead)).unwrap(), None);
    }

    #[test]
    fn utc_under_any_of_its_names_ends_in_z_and_london_in_winter_does_not() {
        let instant = "2027-01-15T08:00:00Z".parse().unwrap();
        for utc in ["UTC", "Etc/UTC", "Etc/UCT", "Universal", "Zulu"] {
            assert_eq!(at(instant, utc.parse().unwrap()), "2027-01-15T08:00:00Z", "{utc}");
        }
        assert_eq!(at(instant, chrono_tz::Europe::London), "2027-01-15T08:00:00+00:00");
    }

    #[test]
    fn a_date_has_a_four_digit_year() {
        assert_eq!(parse_date("from", "2027-11-07").unwrap().to_string(), "2027-11-07");
        for wrong in ["27-11-07", "02027-11-07", "2027-1-7", "2027/11/07", "0999-12-31", "2027-01- 1", "2027- 1-05"] {
            assert!(parse_date("from", wrong).is_err(), "{wrong} was taken");
        }
    }

    #[test]
    fn a_nul_is_found_only_where_json_escapes_one() {
        assert!(holds_escaped_nul(br#"{"text": "a\u0000b"}"#));
        assert!(holds_escaped_nul(br#"{"text": "\\\u0000"}"#), "an escaped backslash, then the NUL");
        assert!(!holds_escaped_nul(br#"{"text": "a\\u0000b"}"#), "a backslash written out, then u0000");
        assert!(!holds_escaped_nul(br#"{"text": "\u0001"}"#));
    }
}
