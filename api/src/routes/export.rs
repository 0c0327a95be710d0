//! Exports of a schedule: the PDF download, and iCalendar feeds behind secret URLs for calendar apps.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;
use vigie_domain::schedule::series::start_of_day;
use vigie_domain::user::{self, UserCommand};
use vigie_domain::{Role, ScheduleId, User};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{Caller, store};
use crate::commands::{self, ChangeHeaders};
use crate::error::{ApiError, ApiResult};
use crate::export::{Roster, feeds, ical, pdf};
use crate::routes::openapi::{ChangeHeaderParams, ChangeProblems, MinPositionParam, Problem, ViewProblems};
use crate::routes::schedules::{Freshness, ensure_fresh, reachable_schedule, require_schedule};
use crate::routes::views;

/// The longest range one PDF covers.
const MAX_PDF_DAYS: i64 = 366;
/// What a feed shows around the moment it is fetched.
const FEED_DAYS_BACK: i64 = 30;
const FEED_DAYS_AHEAD: i64 = 180;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_pdf))
        .routes(routes!(create_feed, list_feeds))
        .routes(routes!(revoke_feed))
        .routes(routes!(calendar_feed))
}

#[derive(Debug, Deserialize)]
struct PdfQuery {
    from: Option<String>,
    to: Option<String>,
    min_position: Option<u64>,
    /// Refused rather than ignored: a printout of today's roster must not pass for a past one.
    as_of: Option<String>,
}

/// The schedule from `from` to `to` (local dates, both included) as a PDF download.
#[utoipa::path(get, path = "/api/v1/schedules/{schedule_id}/export.pdf", tag = "export",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("from" = Option<chrono::NaiveDate>, Query, description = "The first local date; today by default."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "The last local date; 30 days after `from` by default."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "The PDF.", body = Vec<u8>, content_type = "application/pdf"),
        ViewProblems,
    ))]
async fn export_pdf(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    Query(query): Query<PdfQuery>,
) -> ApiResult<Response> {
    caller.require_schedule_reader("print schedules")?;
    if query.as_of.is_some() {
        return Err(ApiError::bad_request(
            "The PDF prints the schedule as it stands now; as_of is not taken here. Read the shifts with as_of to see a past state.",
        ));
    }
    ensure_fresh(&app, query.min_position).await?;
    let state = reachable_schedule(&app, &caller, schedule_id)?;
    let tz = state.time_zone();
    let from = match &query.from {
        Some(v) => views::parse_date("from", v)?,
        None => Utc::now().with_timezone(&tz).date_naive(),
    };
    let to = match &query.to {
        Some(v) => views::parse_date("to", v)?,
        None => from + Duration::days(30),
    };
    if to < from || (to - from).num_days() >= MAX_PDF_DAYS {
        return Err(ApiError::bad_request(format!(
            "to must be on or after from, and the range at most {MAX_PDF_DAYS} days, e.g. ?from=2026-05-01&to=2026-05-31."
        )));
    }
    let end = to.succ_opt().ok_or_else(|| ApiError::bad_request("to is too far in the future."))?;
    let (roster, days) = {
        let live = app.live().read();
        let roster = Roster::new(&live, &state, start_of_day(tz, from), start_of_day(tz, end));
        (roster, state.coverage_of_days(from, to))
    };
    // Laying out a long range takes a while: keep it off the threads that answer requests.
    let bytes = tokio::task::spawn_blocking(move || pdf::render(&roster, &days, Utc::now()))
        .await
        .map_err(ApiError::internal)?;
    let name = state.info().map(|i| i.name.as_str()).unwrap_or("schedule");
    let disposition = disposition(name, &format!("{from}-{to}.pdf"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?),
        ],
        bytes,
    )
        .into_response())
}

/// Downloads as `<schedule name>-<suffix>`: an ASCII `filename` for old clients, and
/// `filename*` (RFC 6266, UTF-8) with the name's letters in any script, which browsers prefer.
fn disposition(name: &str, suffix: &str) -> String {
    // Combining marks belong to the letter before them: a Devanagari virama, a decomposed accent.
    let kept = |c: char| c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c);
    let letters: String = name.nfc().map(|c| if kept(c) { c } else { '-' }).collect();
    let letters = match letters.trim_matches('-') {
        "" => "schedule",
        letters => letters,
    };
    // RFC 5987's attr-char keeps letters, digits and a few marks (dashes among them) as they are.
    const ATTR_CHAR: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let full = percent_encoding::utf8_percent_encode(letters, ATTR_CHAR);
    format!("attachment; filename=\"{}-{suffix}\"; filename*=UTF-8''{full}-{suffix}", file_name(name))
}

/// A schedule's name made safe for a file name: letters, digits and dashes.
fn file_name(name: &str) -> String {
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let safe = safe.trim_matches('-');
    if safe.is_empty() { "schedule".to_owned() } else { safe.to_owned() }
}

/// Creates a secret feed URL for the caller. The token is shown only in this answer. The log
/// records the feed (`CalendarFeedCreated`, in the caller's user stream), never its token.
///
/// A retry with the same `Idempotency-Key` answers the same feed with a new URL: the first URL
/// was never kept, so it stops working.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/calendar-feeds", tag = "export",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The feed, with its secret URL.", body = FeedCreated),
        ChangeProblems,
    ))]
async fn create_feed(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Extension<crate::idempotency::Secret>, Json<FeedCreated>)> {
    let account_id = require_schedule(&app, &caller, schedule_id)?;
    caller.require_role(&[Role::Client, Role::Operator], "create calendar feeds")?;
    let headers = feed_change_headers(&app, schedule_id, &headers)?;
    let feed = feeds::Feed { id: commands::new_id(&caller, &headers), schedule_id, user_id: caller.user_id };
    // The log decides whether a feed works, so a token without its event opens nothing.
    commands::execute::<User>(&app, &caller, caller.user_id, &headers, None, |state, ctx| {
        user::decide(state, UserCommand::CreateCalendarFeed { feed_id: feed.id, schedule_id, account_id }, ctx)
    })
    .await?;
    let (token, token_hash) = store::new_token();
    feeds::store_token(app.db(), feed, &token_hash, Utc::now()).await?;
    tracing::info!(feed_id = %feed.id, %schedule_id, user = %caller.username, "calendar feed created");
    let created =
        FeedCreated { id: feed.id, schedule_id: schedule_id.into(), url: format!("/api/v1/calendar/{token}.ics") };
    // The answer holds the feed's secret URL, which must not be kept for an Idempotency-Key's repeats.
    Ok((StatusCode::CREATED, Extension(crate::idempotency::Secret), Json(created)))
}

/// A new calendar feed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FeedCreated {
    id: Uuid,
    schedule_id: Uuid,
    /// The feed's secret URL, relative to the server: shown in this answer only.
    url: String,
}

/// The calendar feeds of a schedule that still work.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FeedList {
    feeds: Vec<FeedListed>,
}

/// A calendar feed, without its token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FeedListed {
    id: Uuid,
    /// When it was created, in the schedule's zone.
    created_at: String,
    created_by: FeedOwner,
}

/// Who created a feed; the username is null if the user is gone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FeedOwner {
    id: Uuid,
    username: Option<String>,
}

/// The feeds that still work, without their tokens (shown only once): the caller's own, or all for operators.
#[utoipa::path(get, path = "/api/v1/schedules/{schedule_id}/calendar-feeds", tag = "export",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "The feeds, without their tokens.", body = FeedList),
        ViewProblems,
    ))]
async fn list_feeds(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    Query(fresh): Query<Freshness>,
) -> ApiResult<Json<FeedList>> {
    ensure_fresh(&app, fresh.min_position).await?;
    let state = reachable_schedule(&app, &caller, schedule_id)?;
    caller.require_role(&[Role::Client, Role::Operator], "list calendar feeds")?;
    let whose = (caller.role != Role::Operator).then_some(caller.user_id);
    let found = feeds::list(app.db(), schedule_id, whose).await?;
    let live = app.live().read();
    let feeds = found
        .into_iter()
        .filter(|(feed, _)| feed.works(&live))
        .map(|(feed, created_at)| {
            let username = live.users.get(feed.user_id).and_then(|u| u.user.as_ref()).map(|u| u.username.clone());
            FeedListed {
                id: feed.id,
                created_at: views::at(created_at, state.time_zone()),
                created_by: FeedOwner { id: feed.user_id.into(), username },
            }
        })
        .collect();
    Ok(Json(FeedList { feeds }))
}

/// Revokes a feed: its URL answers 404 from now on. Clients revoke their own feeds; operators any.
/// The log records it (`CalendarFeedRevoked`, in the owner's user stream).
#[utoipa::path(delete, path = "/api/v1/schedules/{schedule_id}/calendar-feeds/{feed_id}", tag = "export",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("feed_id" = uuid::Uuid, Path, description = "The feed."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 204, description = "Revoked."),
        ChangeProblems,
    ))]
async fn revoke_feed(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, feed_id)): Path<(ScheduleId, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    require_schedule(&app, &caller, schedule_id)?;
    caller.require_role(&[Role::Client, Role::Operator], "revoke calendar feeds")?;
    let feed = feeds::get(app.db(), schedule_id, feed_id).await?;
    let feed = feed
        .filter(|f| caller.role == Role::Operator || f.user_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found("calendar feed"))?;
    let headers = feed_change_headers(&app, schedule_id, &headers)?;
    commands::execute::<User>(&app, &caller, feed.user_id, &headers, None, |state, ctx| {
        user::decide(state, UserCommand::RevokeCalendarFeed { feed_id: feed.id }, ctx)
    })
    .await?;
    tracing::info!(feed_id = %feed.id, %schedule_id, user = %caller.username, "calendar feed revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A feed's change headers, with `If-Match` checked against the version of the schedule the feed
/// belongs to (412 if it moved on), the one version a portal showing the schedule has. The feed's
/// event goes to a user's stream, whose version the portal never sees: it is appended without one.
fn feed_change_headers(app: &AppState, schedule_id: ScheduleId, headers: &HeaderMap) -> ApiResult<ChangeHeaders> {
    let headers = ChangeHeaders::from_headers(headers)?;
    headers.check_if_match(app.live().read().schedules.version(schedule_id))?;
    Ok(ChangeHeaders { if_match: None, ..headers })
}

/// The feed itself: no session, the token in the URL is the credential. Anything wrong is a plain
/// 404, so that the URL tells a stranger nothing.
#[utoipa::path(get, path = "/api/v1/calendar/{file}", tag = "export", security(()),
    params(
        ("file" = String, Path, description = "`<token>.ics`, the feed's secret."),
    ),
    responses(
        (status = 200, description = "The iCalendar feed.", body = String, content_type = "text/calendar"),
        (status = 404, response = Problem),
    ))]
async fn calendar_feed(State(app): State<AppState>, Path(file): Path<String>) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("calendar feed");
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let feed = feeds::find(app.db(), &store::token_hash(token)).await?.ok_or_else(not_found)?;
    let now = Utc::now();
    let body = {
        let live = app.live().read();
        // The feed carries its creator's rights as they are now: a deactivated user, or one who
        // lost the account, no longer feeds anyone's calendar.
        if !feed.works(&live) {
            return Err(not_found());
        }
        let state = live.schedules.get(feed.schedule_id).ok_or_else(not_found)?;
        let roster =
            Roster::new(&live, state, now - Duration::days(FEED_DAYS_BACK), now + Duration::days(FEED_DAYS_AHEAD));
        ical::render(&roster, now)
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"))], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::{disposition, file_name};

    #[test]
    fn a_download_keeps_its_name_in_any_script_for_browsers_and_in_ascii_for_the_rest() {
        assert_eq!(
            disposition("Дежурство Łódź", "2026-12-06-2027-01-03.pdf"),
            "attachment; filename=\"d-2026-12-06-2027-01-03.pdf\"; \
             filename*=UTF-8''%D0%94%D0%B5%D0%B6%D1%83%D1%80%D1%81%D1%82%D0%B2%D0%BE-%C5%81%C3%B3d%C5%BA-2026-12-06-2027-01-03.pdf"
        );
        assert!(disposition("../..", "x.pdf").contains("filename*=UTF-8''schedule-x.pdf"));
        let hindi = disposition("नमस्ते", "x.pdf");
        assert!(hindi.ends_with("''%E0%A4%A8%E0%A4%AE%E0%A4%B8%E0%A5%8D%E0%A4%A4%E0%A5%87-x.pdf"), "{hindi}");
        assert!(disposition("e\u{301}cole", "x.pdf").ends_with("''%C3%A9cole-x.pdf"), "a decomposed accent");
    }

    #[test]
    fn file_names_keep_letters_and_digits_only() {
        assert_eq!(file_name("01 Horaire"), "01-Horaire");
        assert_eq!(file_name("../../etc"), "etc");
        assert_eq!(file_name("\"; rm"), "rm");
        assert_eq!(file_name("ééé"), "schedule");
    }
}
