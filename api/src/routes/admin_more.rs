//! Operators' administration beyond creation: edit and remove future shifts, rename, delete and copy
//! schedules, maintain contacts, rename accounts, and change or deactivate users.
//!
//! Corrections of ended shifts need no route of their own: the change routes of `changes.rs` take a
//! `"reason"`, and the domain lets operators (never clients) change an ended shift only with one.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigie_domain::contact::ContactDetails;
use vigie_domain::schedule::{CopyScheduleCommand, DeleteScheduleCommand, EditShiftCommand, RemoveShiftCommand};
use vigie_domain::schedule::{RenameScheduleCommand, ScheduleCommand, ScheduleState};
use vigie_domain::{
    Account, AccountCommand, AccountId, Contact, ContactCommand, ContactId, Schedule, ScheduleId, ShiftId, User,
    UserCommand, UserId, account, contact, schedule, user,
};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{Caller, store};
use crate::commands::{self, ChangeHeaders, Changed, Created};
use crate::error::{ApiError, ApiResult};
use crate::routes::openapi::{
    ChangeHeaderParams, ChangeProblems, ContactDetailsSchema, MinPositionParam, ViewProblems,
};
use crate::routes::schedules::{Freshness, ensure_fresh, reachable_account, reachable_schedule, require_schedule};
use crate::routes::views::{self, JsonBody};
use crate::unique_names;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rename_schedule, delete_schedule))
        .routes(routes!(copy_schedule))
        .routes(routes!(edit_shift, remove_shift))
        .routes(routes!(update_contact))
        .routes(routes!(deactivate_contact))
        .routes(routes!(reactivate_contact))
        .routes(routes!(rename_account))
        .routes(routes!(list_users))
        .routes(routes!(change_accounts))
        .routes(routes!(deactivate_user))
}

type Answer = ApiResult<(StatusCode, Json<Value>)>;

/// Runs a change and answers [`Changed`], or
/// [`Created`] (201) when the change creates the thing `created` names.
async fn answer(created: Option<uuid::Uuid>, change: impl Future<Output = ApiResult<Changed>>) -> Answer {
    let changed = change.await?;
    let (status, body) = match created {
        Some(id) => (StatusCode::CREATED, json!(Created::new(id, changed))),
        None => (StatusCode::OK, json!(changed)),
    };
    Ok((status, Json(body)))
}

/// Runs one schedule command for an operator on a schedule the caller reaches.
async fn schedule_change(
    app: &AppState,
    caller: &Caller,
    schedule_id: ScheduleId,
    headers: &HeaderMap,
    action: &str,
    command: impl Fn() -> ScheduleCommand,
) -> Answer {
    caller.require_operator(action)?;
    require_schedule(app, caller, schedule_id)?;
    let headers = ChangeHeaders::from_headers(headers)?;
    let change = commands::execute::<Schedule>(app, caller, schedule_id, &headers, None, |state, ctx| {
        schedule::decide(state, command(), ctx)
    });
    answer(None, change).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

/// Renames the schedule (operators).
#[utoipa::path(patch, path = "/api/v1/schedules/{schedule_id}", tag = "administration", request_body = NameBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn rename_schedule(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NameBody>,
) -> Answer {
    caller.require_operator("rename schedules")?;
    let (account_id, old_name) = account_and_name(&app, &caller, schedule_id)?;
    let claimed = unique_names::claim_schedule_name(&app, account_id, schedule_id, &body.name).await?;
    let renamed = schedule_change(&app, &caller, schedule_id, &headers, "rename schedules", || {
        RenameScheduleCommand { name: body.name.clone(), name_taken: !claimed }.into()
    })
    .await;
    match &renamed {
        Ok(_) => {
            // In the schedule's turn, so that no rename lands between reading its name and settling
            // the claims: a settle that read a name since replaced would take it back and give up
            // the one the schedule has.
            let _turn = app.stream_turns().take(&vigie_domain::schedule::stream_id(schedule_id)).await;
            let now_named = current_name(&app, schedule_id);
            unique_names::settle_schedule_name(&app, account_id, schedule_id, Some(&now_named)).await;
        }
        // A new spelling of its own name keeps the one claim it had.
        Err(_) if claimed && !unique_names::same_name(&old_name, &body.name) => {
            unique_names::release_schedule_name(&app, account_id, schedule_id, &body.name).await;
        }
        Err(_) => {}
    }
    renamed
}

/// The schedule's name as the live model has it now.
fn current_name(app: &AppState, schedule_id: ScheduleId) -> String {
    let live = app.live().read();
    live.schedules.get(schedule_id).and_then(|s| s.info()).map(|info| info.name.clone()).unwrap_or_default()
}

/// The account and the name of a schedule the caller reaches (404 otherwise).
fn account_and_name(app: &AppState, caller: &Caller, schedule_id: ScheduleId) -> ApiResult<(AccountId, String)> {
    require_schedule(app, caller, schedule_id)?;
    let live = app.live().read();
    let info = live.schedules.get(schedule_id).and_then(|s| s.info()).ok_or_else(|| ApiError::not_found("schedule"))?;
    Ok((info.account_id, info.name.clone()))
}

/// Deletes the schedule (operators).
///
/// Deleting keeps the schedule's history: its `history` route and the global feed still serve
/// it, and reads `as_of` a moment before the deletion show the schedule as it was. Otherwise
/// the schedule leaves every listing and answers 404 from then on. A schedule with a shift
/// running now is not deleted (422 `schedule_has_running_shift`): a started shift cannot be removed.
#[utoipa::path(delete, path = "/api/v1/schedules/{schedule_id}", tag = "administration",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn delete_schedule(
    State(app): State<AppState>,
    caller: Caller,
    Path(schedule_id): Path<ScheduleId>,
    headers: HeaderMap,
) -> Answer {
    caller.require_operator("delete schedules")?;
    let (account_id, _) = account_and_name(&app, &caller, schedule_id)?;
    let deleted =
        schedule_change(&app, &caller, schedule_id, &headers, "delete schedules", || DeleteScheduleCommand.into())
            .await;
    if deleted.is_ok() {
        unique_names::settle_schedule_name(&app, account_id, schedule_id, None).await;
    }
    deleted
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CopyBody {
    name: String,
    #[serde(default)]
    with_assignments: bool,
}

/// What copying a schedule answers: as [`Created`], and who was left behind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Copied {
    /// The new schedule's id.
    id: uuid::Uuid,
    /// The new schedule's version: send it as `If-Match` with the next change.
    version: u64,
    /// The log position of the change's last event: send it as `min_position` to read the change back.
    position: u64,
    /// Deactivated contacts assigned to shifts or overrides of the source that have not started:
    /// a copy with assignments leaves those shifts or parts uncovered. Empty for a copy without.
    contacts_left_out: Vec<ContactLeftOut>,
}

/// A deactivated contact whose assignments a copy did not take.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ContactLeftOut {
    id: uuid::Uuid,
    name: String,
}

/// A new schedule of the same account with the source's shifts and series that have not
/// started, and with `with_assignments` their base contacts and overrides too, except those of
/// deactivated contacts, which it names. Answers 201 with the new id.
#[utoipa::path(post, path = "/api/v1/schedules/{schedule_id}/copy", tag = "administration", request_body = CopyBody,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 201, description = "The new schedule's `id`, `version`, the change's `position`, and the deactivated contacts whose assignments were not copied.", body = Copied),
        ChangeProblems,
    ))]
async fn copy_schedule(
    State(app): State<AppState>,
    caller: Caller,
    Path(source_id): Path<ScheduleId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CopyBody>,
) -> Answer {
    caller.require_operator("copy schedules")?;
    let source = reachable_schedule(&app, &caller, source_id)?;
    let new_id = ScheduleId::new_v7();
    let inactive = crate::routes::changes::inactive_contacts(&app, source_id);
    let mut headers = ChangeHeaders::from_headers(&headers)?;
    // If-Match names the version of the schedule copied (the copy starts at nothing): a copy
    // made from a version the operator did not see is refused.
    headers.check_if_match(source.version())?;
    headers.if_match = None;
    let account_id = source.info().map(|info| info.account_id).ok_or_else(|| ApiError::not_found("schedule"))?;
    let claimed = unique_names::claim_schedule_name(&app, account_id, new_id, &body.name).await?;
    let change = commands::execute::<Schedule>(&app, &caller, new_id, &headers, None, |state, ctx| {
        let command = CopyScheduleCommand {
            schedule_id: new_id,
            name: body.name.clone(),
            source: source.clone(),
            with_assignments: body.with_assignments,
            inactive_contacts: inactive.clone(),
            name_taken: !claimed,
        };
        schedule::decide(state, command.into(), ctx)
    });
    let copied = change.await.map(|Changed { version, position }| {
        let contacts_left_out =
            if body.with_assignments { contacts_left_out(&app, &source, &inactive) } else { Vec::new() };
        let copied = Copied { id: new_id.into(), version, position, contacts_left_out };
        (StatusCode::CREATED, Json(json!(copied)))
    });
    if copied.is_err() && claimed {
        unique_names::release_schedule_name(&app, account_id, new_id, &body.name).await;
    }
    copied
}

/// The deactivated contacts on the source's shifts and overrides that a copy takes (those not
/// started), by name.
fn contacts_left_out(app: &AppState, source: &ScheduleState, inactive: &[ContactId]) -> Vec<ContactLeftOut> {
    let now = chrono::Utc::now();
    let on_copied_shifts: std::collections::HashSet<ContactId> = source
        .shifts()
        .into_iter()
        .filter(|shift| shift.start >= now)
        .flat_map(|shift| shift.assignee.into_iter().chain(shift.overrides.iter().map(|o| o.contact_id)))
        .filter(|contact| inactive.contains(contact))
        .collect();
    let live = app.live().read();
    let mut left_out: Vec<ContactLeftOut> = on_copied_shifts
        .into_iter()
        .filter_map(|id| live.contact(id))
        .map(|contact| ContactLeftOut { id: contact.id.into(), name: contact.details.name.clone() })
        .collect();
    left_out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    left_out
}

/// The fields of a shift to change; an absent field keeps its value.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ShiftEdit {
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    start: Option<String>,
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    end: Option<String>,
    /// Call order within the role: 0 is called first, then 1, up to 99.
    #[schema(value_type = Option<u32>, maximum = 99)]
    rank: Option<i64>,
    name: Option<String>,
    role: Option<String>,
}

impl ShiftEdit {
    fn changes_nothing(&self) -> bool {
        let ShiftEdit { start, end, rank, name, role } = self;
        start.is_none() && end.is_none() && rank.is_none() && name.is_none() && role.is_none()
    }
}

/// Changes a future shift's times, rank, name or role (operators).
#[utoipa::path(patch, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}", tag = "administration", request_body = ShiftEdit,
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn edit_shift(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ShiftEdit>,
) -> Answer {
    caller.require_operator("edit shifts")?;
    if body.changes_nothing() {
        return Err(ApiError::bad_request("Give at least one of start, end, rank, name or role to change."));
    }
    let start = body.start.as_deref().map(|v| views::parse_boundary("start", v)).transpose()?;
    let end = body.end.as_deref().map(|v| views::parse_boundary("end", v)).transpose()?;
    let rank = body.rank.map(views::rank).transpose()?;
    schedule_change(&app, &caller, schedule_id, &headers, "edit shifts", || {
        EditShiftCommand { shift_id, start, end, rank, name: body.name.clone(), role: body.role.clone() }.into()
    })
    .await
}

/// Removes a future shift (operators).
#[utoipa::path(delete, path = "/api/v1/schedules/{schedule_id}/shifts/{shift_id}", tag = "administration",
    params(
        ("schedule_id" = uuid::Uuid, Path, description = "The schedule."),
        ("shift_id" = uuid::Uuid, Path, description = "The shift."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn remove_shift(
    State(app): State<AppState>,
    caller: Caller,
    Path((schedule_id, shift_id)): Path<(ScheduleId, ShiftId)>,
    headers: HeaderMap,
) -> Answer {
    schedule_change(&app, &caller, schedule_id, &headers, "remove shifts", || RemoveShiftCommand { shift_id }.into())
        .await
}

/// Runs one contact command for an operator on a contact of an account the caller reaches.
async fn contact_change(
    app: &AppState,
    caller: &Caller,
    contact_id: ContactId,
    headers: &HeaderMap,
    command: impl Fn() -> ContactCommand,
) -> Answer {
    caller.require_operator("maintain the directory")?;
    let account_id = app.live().read().contact(contact_id).map(|c| c.account_id);
    match account_id {
        Some(account_id) if caller.reaches(account_id) => {}
        _ => return Err(ApiError::not_found("contact")),
    }
    let headers = ChangeHeaders::from_headers(headers)?;
    let change = commands::execute::<Contact>(app, caller, contact_id, &headers, None, |state, ctx| {
        contact::decide(state, command(), ctx)
    });
    answer(None, change).await
}

/// Replaces a contact's details with the ones given, in full (as `POST …/contacts` takes them).
#[utoipa::path(put, path = "/api/v1/contacts/{contact_id}", tag = "administration", request_body = ContactDetailsSchema,
    params(
        ("contact_id" = uuid::Uuid, Path, description = "The contact."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn update_contact(
    State(app): State<AppState>,
    caller: Caller,
    Path(contact_id): Path<ContactId>,
    headers: HeaderMap,
    JsonBody(details): JsonBody<ContactDetailsSchema>,
) -> Answer {
    let details = ContactDetails::from(details);
    contact_change(&app, &caller, contact_id, &headers, || ContactCommand::Update { details: details.clone() }).await
}

/// Deactivates the contact: it can no longer be put on call (operators).
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/deactivate", tag = "administration",
    params(
        ("contact_id" = uuid::Uuid, Path, description = "The contact."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn deactivate_contact(
    State(app): State<AppState>,
    caller: Caller,
    Path(contact_id): Path<ContactId>,
    headers: HeaderMap,
) -> Answer {
    contact_change(&app, &caller, contact_id, &headers, || ContactCommand::Deactivate).await
}

/// Reactivates the contact (operators).
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/reactivate", tag = "administration",
    params(
        ("contact_id" = uuid::Uuid, Path, description = "The contact."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn reactivate_contact(
    State(app): State<AppState>,
    caller: Caller,
    Path(contact_id): Path<ContactId>,
    headers: HeaderMap,
) -> Answer {
    contact_change(&app, &caller, contact_id, &headers, || ContactCommand::Reactivate).await
}

/// Renames the account (operators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}", tag = "administration", request_body = NameBody,
    params(
        ("account_id" = uuid::Uuid, Path, description = "The account."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn rename_account(
    State(app): State<AppState>,
    caller: Caller,
    Path(account_id): Path<AccountId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NameBody>,
) -> Answer {
    caller.require_operator("rename accounts")?;
    reachable_account(&app, &caller, account_id)?;
    let headers = ChangeHeaders::from_headers(&headers)?;
    let change = commands::execute::<Account>(&app, &caller, account_id, &headers, None, |state, ctx| {
        account::decide(state, AccountCommand::Rename(account::RenameAccountCommand { name: body.name.clone() }), ctx)
    });
    answer(None, change).await
}

/// Every user, by username, so that operators can find whom to change.
#[utoipa::path(get, path = "/api/v1/users", tag = "administration",
    params(MinPositionParam),
    responses(
        (status = 200, description = "The users, by username.", body = Vec<UserListed>),
        ViewProblems,
    ))]
async fn list_users(
    State(app): State<AppState>,
    caller: Caller,
    Query(fresh): Query<Freshness>,
) -> ApiResult<Json<Vec<UserListed>>> {
    caller.require_operator("list users")?;
    ensure_fresh(&app, fresh.min_position).await?;
    let live = app.live().read();
    let mut users: Vec<UserListed> = live
        .users
        .iter()
        .filter_map(|(_, state)| state.user.as_ref())
        .map(|u| UserListed {
            id: u.id.into(),
            username: u.username.clone(),
            role: u.role.as_str(),
            account_ids: u.account_ids.iter().map(|&id| id.into()).collect(),
            active: u.active,
        })
        .collect();
    users.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(Json(users))
}

/// A user as operators see them in the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct UserListed {
    id: uuid::Uuid,
    username: String,
    /// `client`, `operator`, `dispatcher` or `auditor`.
    role: &'static str,
    /// The accounts a client reaches (empty for the other roles, which reach every account).
    account_ids: Vec<uuid::Uuid>,
    /// False once the user is deactivated: they can no longer log in.
    active: bool,
}

/// The user, if it exists (404 otherwise).
fn known_user(app: &AppState, user_id: UserId) -> ApiResult<()> {
    if app.live().read().users.get(user_id).is_some_and(|u| u.user.is_some()) {
        Ok(())
    } else {
        Err(ApiError::not_found("user"))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountsBody {
    #[schema(value_type = Vec<uuid::Uuid>)]
    account_ids: Vec<AccountId>,
}

/// Sets the accounts a user reaches, in full; their open sessions see the change at once.
#[utoipa::path(put, path = "/api/v1/users/{user_id}/accounts", tag = "administration", request_body = AccountsBody,
    params(
        ("user_id" = uuid::Uuid, Path, description = "The user."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn change_accounts(
    State(app): State<AppState>,
    caller: Caller,
    Path(user_id): Path<UserId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AccountsBody>,
) -> Answer {
    caller.require_operator("change a user's accounts")?;
    known_user(&app, user_id)?;
    for account in &body.account_ids {
        reachable_account(&app, &caller, *account)?;
    }
    let headers = ChangeHeaders::from_headers(&headers)?;
    let accounts_of = schedule_accounts(&app);
    let change = commands::execute::<User>(&app, &caller, user_id, &headers, None, |state, ctx| {
        // A schedule made since the snapshot is left alone: its feeds still need its account to work.
        let elsewhere = |schedule_id| accounts_of.get(schedule_id).is_some_and(|a| !body.account_ids.contains(a));
        let feeds_elsewhere = state.feeds.iter().filter(|(_, schedule_id)| elsewhere(schedule_id)).map(|(&f, _)| f);
        let command = UserCommand::ChangeAccounts {
            account_ids: body.account_ids.clone(),
            feeds_elsewhere: feeds_elsewhere.collect(),
        };
        user::decide(state, command, ctx)
    });
    answer(None, change).await
}

/// The account of every schedule, which never changes: the user's feeds are
/// matched against it when the change is decided, on the user as they are then.
fn schedule_accounts(app: &AppState) -> std::collections::HashMap<ScheduleId, AccountId> {
    let live = app.live().read();
    live.schedules.iter().filter_map(|(&id, state)| Some((id, state.info()?.account_id))).collect()
}

/// Deactivates a user, ends every session they have and revokes their calendar
/// feeds. An operator cannot deactivate themself, so the service team always
/// keeps someone who can log in.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/deactivate", tag = "administration",
    params(
        ("user_id" = uuid::Uuid, Path, description = "The user."),
        ChangeHeaderParams,
    ),
    responses(
        (status = 200, description = "The new `version` and the change's log `position`.", body = Changed),
        ChangeProblems,
    ))]
async fn deactivate_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(user_id): Path<UserId>,
    headers: HeaderMap,
) -> Answer {
    caller.require_operator("deactivate users")?;
    known_user(&app, user_id)?;
    if user_id == caller.user_id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_deactivate_yourself",
            "You cannot deactivate yourself; ask another operator.",
        ));
    }
    let headers = ChangeHeaders::from_headers(&headers)?;
    let change = async {
        let changed = commands::execute::<User>(&app, &caller, user_id, &headers, None, |state, ctx| {
            user::decide(state, UserCommand::Deactivate, ctx)
        })
        .await?;
        store::delete_sessions_of(app.db(), user_id).await?;
        Ok(changed)
    };
    answer(None, change).await
}
