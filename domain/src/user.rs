//! Portal users: a username, a role and the accounts they reach. Credentials live outside events;
//! only the fact that a password changed is recorded.

use serde::{Deserialize, Serialize};

use crate::actor::{CommandContext, Role};
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity};
use crate::event::{domain_events, no_upcasters};
use crate::ids::{AccountId, UserId};

domain_events! {
    /// Every event of a user stream.
    pub enum UserEvent upcast with no_upcasters {
        UserCreated = 1,
        UserAccountsChanged = 1,
        UserDeactivated = 1,
        PasswordChanged = 1,
        PasswordReset = 1,
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

#[derive(Debug, Clone)]
pub enum UserCommand {
    /// Operators. `username_taken` is looked up by the caller.
    Create { user_id: UserId, username: String, role: Role, account_ids: Vec<AccountId>, username_taken: bool },
    /// Operators.
    ChangeAccounts { account_ids: Vec<AccountId> },
    /// Operators.
    Deactivate,
    /// The user themself, after the caller checked the current password.
    ChangePassword,
    /// Operators.
    ResetPassword,
}

/// A user's state; `None` before creation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserState {
    pub user: Option<UserInfo>,
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
        UserCommand::ChangeAccounts { account_ids } => {
            ctx.require_operator("change a user's accounts")?;
            let account_ids = check_accounts(user.role, &account_ids)?;
            Ok(vec![UserAccountsChanged { account_ids }.into()])
        }
        UserCommand::Deactivate => {
            ctx.require_operator("deactivate users")?;
            Ok(vec![UserDeactivated {}.into()])
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
            Ok(vec![PasswordReset {}.into()])
        }
    }
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
