//! Portal users: a username, a role and the accounts they reach. Credentials and feed tokens live
//! outside events; only the facts that a password changed or a calendar feed came or went are recorded.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::{CommandContext, Role};
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity};
use crate::event::{domain_events, no_upcasters};
use crate::ids::{AccountId, ScheduleId, UserId};

domain_events! {
    /// Every event of a user stream.
    pub enum UserEvent upcast with no_upcasters {
        UserCreated = 1,
        UserAccountsChanged = 1,
        UserDeactivated = 1,
        PasswordChanged = 1,
        PasswordReset = 1,
        CalendarFeedCreated = 1,
        CalendarFeedRevoked = 1,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCreated {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub account_ids: Vec<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAccountsChanged {
    pub account_ids: Vec<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeactivated {}

/// The user changed their own password (the hash is stored elsewhere, never here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChanged {}

/// An operator reset the user's password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordReset {}

/// The user created a secret calendar feed of a schedule (the token is stored elsewhere, never here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarFeedCreated {
    pub feed_id: Uuid,
    pub schedule_id: ScheduleId,
}

/// One of the user's calendar feeds stopped working: revoked by its owner or an operator, or
/// along with a password reset or a deactivation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarFeedRevoked {
    pub feed_id: Uuid,
    pub schedule_id: ScheduleId,
}

#[derive(Debug, Clone)]
pub enum UserCommand {
    /// Operators. `username_taken` is looked up by the caller.
    Create { user_id: UserId, username: String, role: Role, account_ids: Vec<AccountId>, username_taken: bool },
    /// Operators.
    /// `feeds_elsewhere`: the user's calendar feeds of schedules in none of
    /// `account_ids`, looked up by the caller; they are revoked, since their
    /// creator no longer sees those schedules.
    ChangeAccounts { account_ids: Vec<AccountId>, feeds_elsewhere: Vec<Uuid> },
    /// Operators.
    Deactivate,
    /// The user themself, after the caller checked the current password.
    ChangePassword,
    /// Operators; also revokes the user's calendar feeds, since a reset takes a compromised account back.
    ResetPassword,
    /// The user themself, for a schedule of `account_id`, which a client must reach as the
    /// user stands now. Creating a feed that exists already (a retry) records nothing;
    /// one revoked since is refused.
    CreateCalendarFeed { feed_id: Uuid, schedule_id: ScheduleId, account_id: AccountId },
    /// The feed's owner or an operator.
    RevokeCalendarFeed { feed_id: Uuid },
}

/// A user's state; `None` before creation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserState {
    pub user: Option<UserInfo>,
    /// The calendar feeds the user created that still work, and the schedule each shows.
    pub feeds: BTreeMap<Uuid, ScheduleId>,
    /// The user's feeds revoked since, which never work again.
    pub revoked_feeds: BTreeSet<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub account_ids: Vec<AccountId>,
    pub active: bool,
}

fn valid_username(username: &str) -> bool {
    (1..=64).contains(&username.chars().count()) && username.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c))
}

fn check_accounts(role: Role, account_ids: &[AccountId]) -> Result<Vec<AccountId>, DomainError> {
    let mut ids = account_ids.to_vec();
    ids.sort();
    ids.dedup();
    if role == Role::Client && ids.is_empty() {
        return Err(DomainError::ClientWithoutAccount);
    }
    // Staff reach every account whatever a list said, so a list would only mislead its readers.
    if role != Role::Client && !ids.is_empty() {
        return Err(DomainError::AccountsForClientsOnly);
    }
    Ok(ids)
}

pub fn decide(state: &UserState, command: UserCommand, ctx: &CommandContext) -> Result<Vec<UserEvent>, DomainError> {
    if let UserCommand::Create { user_id, username, role, account_ids, username_taken } = command {
        ctx.require_operator("create users")?;
        if state.user.is_some() {
            return Err(DomainError::AlreadyExists(Entity::User));
        }
        let username = username.trim().to_owned();
        if !valid_username(&username) {
            return Err(DomainError::InvalidUsername);
        }
        if username_taken {
            return Err(DomainError::UsernameTaken);
        }
        let account_ids = check_accounts(role, &account_ids)?;
        return Ok(vec![UserCreated { user_id, username, role, account_ids }.into()]);
    }
    let user = state.user.as_ref().ok_or(DomainError::NotFound(Entity::User))?;
    if !user.active {
        return Err(DomainError::UserInactive);
    }
    match command {
        UserCommand::Create { .. } => Err(DomainError::AlreadyExists(Entity::User)),
        UserCommand::ChangeAccounts { account_ids, feeds_elsewhere } => {
            ctx.require_operator("change a user's accounts")?;
            let account_ids = check_accounts(user.role, &account_ids)?;
            let mut current = user.account_ids.clone();
            current.sort();
            if account_ids == current {
                // The same list, maybe in another order or with repeats: nothing changes.
                return Ok(vec![]);
            }
            // Staff see every account whatever their list says, so their feeds stay.
            let revoked = state
                .feeds
                .iter()
                .filter(|(feed_id, _)| user.role == Role::Client && feeds_elsewhere.contains(feed_id))
                .map(|(&feed_id, &schedule_id)| CalendarFeedRevoked { feed_id, schedule_id }.into());
            Ok([UserAccountsChanged { account_ids }.into()].into_iter().chain(revoked).collect())
        }
        UserCommand::Deactivate => {
            ctx.require_operator("deactivate users")?;
            Ok([UserDeactivated {}.into()].into_iter().chain(feeds_revoked(state)).collect())
        }
        UserCommand::ChangePassword => {
            // Anyone, dispatch and auditors included, may change their own password.
            if ctx.actor.user_id != user.id {
                return Err(DomainError::NotYourPassword);
            }
            Ok(vec![PasswordChanged {}.into()])
        }
        UserCommand::ResetPassword => {
            ctx.require_operator("reset passwords")?;
            Ok([PasswordReset {}.into()].into_iter().chain(feeds_revoked(state)).collect())
        }
        UserCommand::CreateCalendarFeed { feed_id, schedule_id, account_id } => {
            // A feed carries its creator's rights, so nobody creates one in another's name.
            if ctx.actor.user_id != user.id {
                return Err(DomainError::NotYourCalendarFeed);
            }
            // Checked here, on the user as the log has them, and not only on the session:
            // a move out of the account may have landed since the request began.
            if user.role == Role::Client && !user.account_ids.contains(&account_id) {
                return Err(DomainError::NotFound(Entity::Schedule));
            }
            if state.feeds.contains_key(&feed_id) {
                return Ok(vec![]);
            }
            if state.revoked_feeds.contains(&feed_id) {
                return Err(DomainError::CalendarFeedRevoked);
            }
            Ok(vec![CalendarFeedCreated { feed_id, schedule_id }.into()])
        }
        UserCommand::RevokeCalendarFeed { feed_id } => {
            if ctx.actor.user_id != user.id {
                ctx.require_operator("revoke another user's calendar feed")?;
            }
            // Revoking twice (two clicks, two nodes) finds it gone the second time.
            let &schedule_id = state.feeds.get(&feed_id).ok_or(DomainError::NotFound(Entity::CalendarFeed))?;
            Ok(vec![CalendarFeedRevoked { feed_id, schedule_id }.into()])
        }
    }
}

/// A revocation for each of the user's feeds that still works.
fn feeds_revoked(state: &UserState) -> impl Iterator<Item = UserEvent> + '_ {
    state.feeds.iter().map(|(&feed_id, &schedule_id)| CalendarFeedRevoked { feed_id, schedule_id }.into())
}

pub fn evolve(mut state: UserState, event: &UserEvent) -> UserState {
    match event {
        UserEvent::UserCreated(e) => {
            state.user = Some(UserInfo {
                id: e.user_id,
                username: e.username.clone(),
                role: e.role,
                account_ids: e.account_ids.clone(),
                active: true,
            });
        }
        UserEvent::UserAccountsChanged(e) => {
            if let Some(user) = &mut state.user {
                user.account_ids.clone_from(&e.account_ids);
            }
        }
        UserEvent::UserDeactivated(_) => {
            if let Some(user) = &mut state.user {
                user.active = false;
            }
        }
        UserEvent::PasswordChanged(_) | UserEvent::PasswordReset(_) => {}
        UserEvent::CalendarFeedCreated(e) => {
            state.feeds.insert(e.feed_id, e.schedule_id);
        }
        UserEvent::CalendarFeedRevoked(e) => {
            state.feeds.remove(&e.feed_id);
            state.revoked_feeds.insert(e.feed_id);
        }
    }
    state
}

/// The user aggregate: streams `user-<uuid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct User;

impl Aggregate for User {
    const CATEGORY: &'static str = "user";
    type Id = UserId;
    type State = UserState;
    type Command = UserCommand;
    type Event = UserEvent;

    fn decide(s: &UserState, c: UserCommand, ctx: &CommandContext) -> Result<Vec<UserEvent>, DomainError> {
        decide(s, c, ctx)
    }

    fn evolve(state: UserState, event: &UserEvent) -> UserState {
        evolve(state, event)
    }
}

pub fn stream_id(id: UserId) -> String {
    User::stream_id(id)
}
