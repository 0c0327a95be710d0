//! Client accounts: a number, a name, a time zone and an optional parent account.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity, required_line};
use crate::event::{domain_events, no_upcasters};
use crate::ids::AccountId;

domain_events! {
    /// Every event of an account stream.
    pub enum AccountEvent upcast with no_upcasters {
        AccountOpened = 1,
        AccountRenamed = 1,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountOpened {
    pub account_id: AccountId,
    pub number: String,
    pub name: String,
    pub time_zone: Tz,
    pub parent_id: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRenamed {
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum AccountCommand {
    Open(OpenAccountCommand),
    Rename(RenameAccountCommand),
}

/// Operators: a new account. The caller checks that the parent exists and tells whether the number
/// is already used by another account.
#[derive(Debug, Clone)]
pub struct OpenAccountCommand {
    pub account_id: AccountId,
    pub number: String,
    pub name: String,
    pub time_zone: Tz,
    pub parent_id: Option<AccountId>,
    pub number_taken: bool,
}

#[derive(Debug, Clone)]
pub struct RenameAccountCommand {
    pub name: String,
}

impl From<OpenAccountCommand> for AccountCommand {
    fn from(c: OpenAccountCommand) -> Self {
        AccountCommand::Open(c)
    }
}

impl From<RenameAccountCommand> for AccountCommand {
    fn from(c: RenameAccountCommand) -> Self {
        AccountCommand::Rename(c)
    }
}

/// An account's state; `None` before it is opened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountState {
    pub account: Option<AccountOpened>,
}

pub fn decide(
    state: &AccountState,
    command: AccountCommand,
    ctx: &CommandContext,
) -> Result<Vec<AccountEvent>, DomainError> {
    match command {
        AccountCommand::Open(c) => {
            ctx.require_operator("open accounts")?;
            if state.account.is_some() {
                return Err(DomainError::AlreadyExists(Entity::Account));
            }
            if c.parent_id == Some(c.account_id) {
                return Err(DomainError::OwnParent);
            }
            let number = required_line("account number", &c.number, 20)?;
            if c.number_taken {
                return Err(DomainError::AccountNumberTaken);
            }
            Ok(vec![
                AccountOpened {
                    account_id: c.account_id,
                    number,
                    name: required_line("account name", &c.name, 100)?,
                    time_zone: c.time_zone,
                    parent_id: c.parent_id,
                }
                .into(),
            ])
        }
        AccountCommand::Rename(c) => {
            ctx.require_operator("rename accounts")?;
            let Some(account) = &state.account else {
                return Err(DomainError::NotFound(Entity::Account));
            };
            let name = required_line("account name", &c.name, 100)?;
            // Its own name again: nothing to record, as for a schedule.
            if name == account.name {
                return Ok(vec![]);
            }
            Ok(vec![AccountRenamed { name }.into()])
        }
    }
}

pub fn evolve(mut state: AccountState, event: &AccountEvent) -> AccountState {
    match event {
        AccountEvent::AccountOpened(e) => state.account = Some(e.clone()),
        AccountEvent::AccountRenamed(e) => {
            if let Some(account) = &mut state.account {
                account.name = e.name.clone();
            }
        }
    }
    state
}

/// The account aggregate: streams `account-<uuid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Account;

impl Aggregate for Account {
    const CATEGORY: &'static str = "account";
    type Id = AccountId;
    type State = AccountState;
    type Command = AccountCommand;
    type Event = AccountEvent;

    fn decide(
        state: &AccountState,
        command: AccountCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<AccountEvent>, DomainError> {
        decide(state, command, ctx)
    }

    fn evolve(state: AccountState, event: &AccountEvent) -> AccountState {
        evolve(state, event)
    }
}

pub fn stream_id(id: AccountId) -> String {
    Account::stream_id(id)
}
