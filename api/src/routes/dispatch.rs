//! The dispatch question: who is on call for an account at an instant, in schedule then rank order.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vigie_domain::{AccountId, ContactId, ScheduleId, ScheduleState, ShiftId};
use vigie_projections::live::{DispatchEntry, DispatchFilter, contacts_as_of, schedule_as_of};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{MinPositionParam, ViewProblems};
use crate::routes::schedules::{ensure_fresh, reachable_account};
use crate::routes::views::{self, Directory};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(on_call))
}

#[derive(Debug, Deserialize)]
struct OnCallQuery {
    at: Option<String>,
    as_of: Option<String>,
    role: Option<String>,
    schedule_id: Option<ScheduleId>,
    min_position: Option<u64>,
}

/// Who is on call for the account at an instant (now by default), in schedule then rank order.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/on-call", tag = "dispatch",
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ("at" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "The instant asked about; now by default."),
        ("as_of" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "The schedules as they were known at this instant."),
        ("role" = Option<String>, Query, description = "Only shifts of this role."),
        ("schedule_id" = Option<uuid::Uuid>, Query, description = "Only this schedule."),
        MinPositionParam,
    ),
    responses(
        (status = 200, description = "Who is on call.", body = OnCallAnswer),
        ViewProblems,
    ))]
async fn on_call(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    Query(query): Query<OnCallQuery>,
) -> ApiResult<Json<OnCallAnswer>> {
    ensure_fresh(&app, query.min_position).await?;
    reachable_account(&app, &caller, account_id)?;
    let at = query.at.as_deref().map(|v| views::parse_instant("at", v)).transpose()?.unwrap_or_else(Utc::now);
    let as_of = views::parse_as_of(query.as_of.as_deref(), app.live().read().known_at())?;
    if as_of.is_some() {
        // Replaying what was known is the auditors' (and the schedule's users'); dispatch asks about now.
        caller.require_schedule_reader("ask who was on call as of a past moment")?;
    }
    let role = query.role.as_deref();
    if role.is_some_and(|role| vigie_domain::comparable(role).is_empty()) {
        // An empty role would match no shift: dispatch would read "nobody is on call".
        return Err(ApiError::bad_request("role is a shift's role, e.g. OC; leave it out to ask about every role."));
    }
    // A wrong schedule id must not look like "nobody is on call".
    if let Some(schedule_id) = query.schedule_id {
        let live = app.live().read();
        let info = live.schedules.get(schedule_id).and_then(|s| s.info());
        if !info.is_some_and(|i| i.account_id == account_id && (as_of.is_some() || !i.deleted)) {
            return Err(ApiError::not_found("schedule"));
        }
    }

    let entries = match as_of {
        // Now: straight from the dispatch index, under one read lock.
        None => {
            let live = app.live().read();
            let filter = DispatchFilter { role, schedule_id: query.schedule_id };
            live.dispatch()
                .on_call(account_id, at, filter)
                .map(|entry| OnCallEntry::new(Directory::Now(&live), &entry))
                .collect()
        }
        // As known at a past record time: each schedule replayed up to then, those
        // deleted since included, in the order a listing then had (name, then id).
        Some(as_of) => {
            let wanted = |id: &ScheduleId| query.schedule_id.is_none_or(|wanted| wanted == *id);
            let ids: Vec<ScheduleId> =
                app.live().read().schedules_ever_of(account_id).into_iter().filter(wanted).collect();
            let mut past = Vec::new();
            for id in ids {
                let state = schedule_as_of(app.store(), id, as_of).await?;
                if state.exists() {
                    past.push((id, state));
                }
            }
            past.sort_by(|(a, a_state), (b, b_state)| {
                let name = |state: &ScheduleState| state.info().map(|i| i.name.clone()).unwrap_or_default();
                (name(a_state), a).cmp(&(name(b_state), b))
            });
            let entries: Vec<_> = past.iter().flat_map(|(id, state)| past_entries(*id, state, at, role)).collect();
            // The numbers dispatch would have dialled then, not today's.
            let ids: Vec<_> = entries.iter().filter_map(|entry| entry.on_call.contact_id).collect();
            let contacts = contacts_as_of(app.store(), ids, as_of).await?;
            entries.iter().map(|entry| OnCallEntry::new(Directory::AsOf(&contacts), entry)).collect()
        }
    };
    let tz = app.live().read().account(account_id).map(|a| a.time_zone).unwrap_or(chrono_tz::UTC);
    Ok(Json(OnCallAnswer { at: views::at(at, tz), account_id, entries }))
}

/// One entry per shift of a past state of the schedule covering `at`, in rank order.
fn past_entries<'a>(
    id: ScheduleId,
    state: &'a ScheduleState,
    at: DateTime<Utc>,
    role: Option<&str>,
) -> Vec<DispatchEntry<'a>> {
    let (schedule_name, time_zone) =
        state.info().map(|i| (i.name.as_str(), i.time_zone)).unwrap_or(("", chrono_tz::UTC));
    state
        .on_call_at(at, role)
        .into_iter()
        .map(|on_call| DispatchEntry { schedule_id: id, schedule_name, time_zone, on_call })
        .collect()
}

/// The answer to the dispatch question.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnCallAnswer {
    /// The instant asked about, in the account's time zone (RFC 3339).
    at: String,
    #[schema(value_type = uuid::Uuid)]
    account_id: AccountId,
    /// Who is on call, in schedule then rank order; empty when nobody is.
    entries: Vec<OnCallEntry>,
}

/// One shift covering the instant, and who covers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnCallEntry {
    #[schema(value_type = uuid::Uuid)]
    schedule_id: ScheduleId,
    schedule_name: String,
    #[schema(value_type = uuid::Uuid)]
    shift_id: ShiftId,
    /// 0 is called first, then 1, …
    rank: u32,
    role: String,
    shift_name: String,
    /// Where the assignment comes from: `override`, `base` or `none` (nobody assigned).
    source: &'static str,
    /// The part of the shift this answer holds for, in the schedule's time zone (RFC 3339).
    from: String,
    until: String,
    /// Who to call; `null` when nobody is assigned.
    contact: Option<ContactCard>,
}

/// A contact's ways to be reached.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactCard {
    #[schema(value_type = uuid::Uuid)]
    id: ContactId,
    name: String,
    /// At most three, in the order to try.
    phones: Vec<String>,
    sms: Option<String>,
    email: Option<String>,
    active: bool,
}

impl OnCallEntry {
    /// An entry as dispatch reads it, with the contact's ways to be reached.
    fn new(directory: Directory<'_>, entry: &DispatchEntry<'_>) -> Self {
        let on_call = &entry.on_call;
        let contact = on_call.contact_id.and_then(|cid| directory.contact(cid)).map(|c| ContactCard {
            id: c.id,
            name: c.details.name.clone(),
            phones: c.details.phones.clone(),
            sms: c.details.sms.clone(),
            email: c.details.email.clone(),
            active: c.active,
        });
        Self {
            schedule_id: entry.schedule_id,
            schedule_name: entry.schedule_name.to_owned(),
            shift_id: on_call.shift_id,
            rank: on_call.rank,
            role: on_call.role.to_owned(),
            shift_name: on_call.shift_name.to_owned(),
            source: views::source(on_call.source),
            from: views::at(on_call.from, entry.time_zone),
            until: views::at(on_call.until, entry.time_zone),
            contact,
        }
    }
}
