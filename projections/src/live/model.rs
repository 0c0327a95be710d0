//! What the live model holds, and how each event of the log changes it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use vigie_domain::{
    Account, AccountId, Aggregate, Contact, ContactId, DomainEvent, Schedule, ScheduleId, User, UserId,
    account::AccountState, contact::ContactState, schedule::ScheduleEvent, user::UserEvent,
};
use vigie_eventstore::StoredEvent;

use super::dispatch::DispatchIndex;

/// Every aggregate of one kind, by id, with the stream version each is at.
#[derive(Debug)]
pub struct Aggregates<A: Aggregate> {
    states: HashMap<A::Id, (A::State, u64)>,
}

// Two models are equal when they hold the same states at the same versions:
// how a rebuild from scratch is checked against the incrementally kept one.
impl<A: Aggregate> PartialEq for Aggregates<A>
where
    A::Id: Hash + Eq,
{
    fn eq(&self, other: &Self) -> bool {
        self.states == other.states
    }
}

impl<A: Aggregate> Default for Aggregates<A> {
    fn default() -> Self {
        Self { states: HashMap::new() }
    }
}

impl<A: Aggregate> Aggregates<A>
where
    A::Id: Hash + Eq,
{
    /// The aggregate's state, if it has any event.
    pub fn get(&self, id: A::Id) -> Option<&A::State> {
        self.states.get(&id).map(|(state, _)| state)
    }

    /// The state and stream version to decide a command against: a missing
    /// aggregate is the default state at version 0.
    pub fn for_command(&self, id: A::Id) -> (A::State, u64) {
        self.states.get(&id).cloned().unwrap_or_default()
    }

    /// Runs `f` on the state and version to decide a command against, without copying the
    /// state: a missing aggregate is the default state at version 0.
    pub fn with_state<T>(&self, id: A::Id, f: impl FnOnce(&A::State, u64) -> T) -> T {
        match self.states.get(&id) {
            Some((state, version)) => f(state, *version),
            None => f(&A::State::default(), 0),
        }
    }

    /// The aggregate's stream version: how many events it has, 0 for none.
    pub fn version(&self, id: A::Id) -> u64 {
        self.states.get(&id).map_or(0, |(_, version)| *version)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&A::Id, &A::State)> {
        self.states.iter().map(|(id, (state, _))| (id, state))
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    fn apply(&mut self, id: A::Id, event: &A::Event, version: u64) {
        let (state, _) = self.states.remove(&id).unwrap_or_default();
        self.states.insert(id, (A::evolve(state, event), version));
    }
}

/// Accounts, users, contacts and schedules as the log says they are now.
#[derive(Debug, Default, PartialEq)]
pub struct LiveModel {
    pub accounts: Aggregates<Account>,
    pub users: Aggregates<User>,
    pub contacts: Aggregates<Contact>,
    pub schedules: Aggregates<Schedule>,
    usernames: HashMap<String, UserId>,
    account_numbers: HashMap<String, AccountId>,
    contacts_by_account: HashMap<AccountId, BTreeSet<ContactId>>,
    /// Each account's live schedules, kept in the order views list them (name, then id).
    schedules_by_account: HashMap<AccountId, Vec<ScheduleId>>,
    dispatch: DispatchIndex,
    /// Accounts whose schedules changed since the dispatch index was last brought up to date;
    /// always empty between batches.
    stale_dispatch: HashSet<AccountId>,
    /// The record time of the newest event applied.
    known_at: Option<DateTime<Utc>>,
}

impl LiveModel {
    /// Applies events of the log in order, then brings the dispatch index up to date.
    pub fn apply_all(&mut self, events: &[StoredEvent]) {
        for stored in events {
            self.apply_one(stored);
        }
        if let Some(last) = events.last() {
            self.known_at = Some(last.recorded_at);
        }
        // Once per account per batch: a catch-up over a whole year of shifts reindexes each account a few times, not once per event.
        for account_id in std::mem::take(&mut self.stale_dispatch) {
            let schedules = listed(&self.schedules_by_account, &self.schedules, account_id);
            self.dispatch.reindex(account_id, schedules);
        }
    }

    /// Applies one event of the log.
    pub fn apply(&mut self, stored: &StoredEvent) {
        self.apply_all(std::slice::from_ref(stored));
    }

    /// The instant this model is the log as known at: the record time of the newest event
    /// applied. A read as of it gives what the model answers, even while the model is a few
    /// changes behind the log (`None` before any event).
    pub fn known_at(&self) -> Option<DateTime<Utc>> {
        self.known_at
    }

    /// Who is on call, per account, without reaching into the schedules.
    pub fn dispatch(&self) -> &DispatchIndex {
        &self.dispatch
    }

    /// Events of other categories (messages, calls) belong to the SQL read
    /// models and are passed over; an event this program cannot read is logged
    /// and passed over rather than stopping every view.
    fn apply_one(&mut self, stored: &StoredEvent) {
        let outcome = match stored.stream_id.split_once('-') {
            Some((Account::CATEGORY, id)) => self.apply_account(id, stored),
            Some((User::CATEGORY, id)) => self.apply_user(id, stored),
            Some((Contact::CATEGORY, id)) => self.apply_contact(id, stored),
            Some((Schedule::CATEGORY, id)) => self.apply_schedule(id, stored),
            _ => Ok(()),
        };
        if let Err(error) = outcome {
            tracing::error!(position = stored.position, stream = %stored.stream_id, %error, "cannot apply an event");
        }
    }

    fn apply_account(&mut self, id: &str, stored: &StoredEvent) -> Result<(), String> {
        let (id, event) = decode::<Account>(id, stored)?;
        if let vigie_domain::AccountEvent::AccountOpened(opened) = &event {
            self.account_numbers.insert(opened.number.clone(), id);
        }
        self.accounts.apply(id, &event, stored.stream_version);
        Ok(())
    }

    fn apply_user(&mut self, id: &str, stored: &StoredEvent) -> Result<(), String> {
        let (id, event) = decode::<User>(id, stored)?;
        if let UserEvent::UserCreated(created) = &event {
            self.usernames.insert(created.username.to_lowercase(), id);
        }
        self.users.apply(id, &event, stored.stream_version);
        Ok(())
    }

    fn apply_contact(&mut self, id: &str, stored: &StoredEvent) -> Result<(), String> {
        let (id, event) = decode::<Contact>(id, stored)?;
        if let vigie_domain::ContactEvent::ContactAdded(added) = &event {
            self.contacts_by_account.entry(added.account_id).or_default().insert(id);
        }
        self.contacts.apply(id, &event, stored.stream_version);
        Ok(())
    }

    fn apply_schedule(&mut self, id: &str, stored: &StoredEvent) -> Result<(), String> {
        let (id, event) = decode::<Schedule>(id, stored)?;
        self.schedules.apply(id, &event, stored.stream_version);
        if let Some(info) = self.schedules.get(id).and_then(|s| s.info()) {
            self.stale_dispatch.insert(info.account_id);
        }
        let listing_changed = matches!(
            event,
            ScheduleEvent::ScheduleCreated(_)
                | ScheduleEvent::ScheduleCopied(_)
                | ScheduleEvent::ScheduleRenamed(_)
                | ScheduleEvent::ScheduleDeleted(_)
        );
        if listing_changed {
            self.relist_schedule(id);
        }
        Ok(())
    }

    /// Puts a schedule in its account's listing at its place by name, or takes it out once deleted.
    fn relist_schedule(&mut self, id: ScheduleId) {
        let Some(info) = self.schedules.get(id).and_then(|s| s.info()) else { return };
        let listing = self.schedules_by_account.entry(info.account_id).or_default();
        listing.retain(|listed| *listed != id);
        if !info.deleted {
            listing.push(id);
        }
        let schedules = &self.schedules;
        let name = |id: &ScheduleId| schedules.get(*id).and_then(|s| s.info()).map(|i| i.name.as_str()).unwrap_or("");
        listing.sort_by(|a, b| name(a).cmp(name(b)).then(a.cmp(b)));
    }

    /// The user with this login name (names are compared without case).
    pub fn user_by_name(&self, username: &str) -> Option<UserId> {
        self.usernames.get(&username.to_lowercase()).copied()
    }

    /// Whether an account already uses this number.
    pub fn account_by_number(&self, number: &str) -> Option<AccountId> {
        self.account_numbers.get(number).copied()
    }

    pub fn account(&self, id: AccountId) -> Option<&vigie_domain::account::AccountOpened> {
        self.accounts.get(id).and_then(|state: &AccountState| state.account.as_ref())
    }

    /// The account's contacts, in the order they were added.
    pub fn contacts_of(&self, account_id: AccountId) -> Vec<&vigie_domain::contact::ContactInfo> {
        let ids = self.contacts_by_account.get(&account_id);
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.contacts.get(*id).and_then(|c: &ContactState| c.contact.as_ref()))
            .collect()
    }

    pub fn contact(&self, id: ContactId) -> Option<&vigie_domain::contact::ContactInfo> {
        self.contacts.get(id).and_then(|c| c.contact.as_ref())
    }

    /// The account's schedules that have not been deleted, by name. Allocates
    /// nothing: dispatch calls it on every request.
    pub fn schedules_of(
        &self,
        account_id: AccountId,
    ) -> impl Iterator<Item = (ScheduleId, &vigie_domain::ScheduleState)> + '_ {
        listed(&self.schedules_by_account, &self.schedules, account_id)
    }

    /// Every schedule the account ever had, deleted ones too, in no particular
    /// order: what an auditor's question about a past moment has to look through.
    pub fn schedules_ever_of(&self, account_id: AccountId) -> Vec<ScheduleId> {
        let of_account = |state: &vigie_domain::ScheduleState| state.info().is_some_and(|i| i.account_id == account_id);
        self.schedules.iter().filter(|(_, state)| of_account(state)).map(|(id, _)| *id).collect()
    }
}

/// The account's listed schedules with their states, in listing order.
fn listed<'m>(
    listings: &'m HashMap<AccountId, Vec<ScheduleId>>,
    schedules: &'m Aggregates<Schedule>,
    account_id: AccountId,
) -> impl Iterator<Item = (ScheduleId, &'m vigie_domain::ScheduleState)> + 'm {
    listings.get(&account_id).into_iter().flatten().filter_map(|id| schedules.get(*id).map(|state| (*id, state)))
}

/// The aggregate id from the stream id, and the event decoded (and upcast).
fn decode<A: Aggregate>(id: &str, stored: &StoredEvent) -> Result<(A::Id, A::Event), String>
where
    A::Id: FromStr,
{
    let id = id.parse::<A::Id>().map_err(|_| format!("stream id {} does not name an aggregate", stored.stream_id))?;
    let data = stored.data_as::<serde_json::Value>().map_err(|e| e.to_string())?;
    let event = A::Event::from_stored(&stored.event_type, stored.schema_version, data).map_err(|e| e.to_string())?;
    Ok((id, event))
}

/// The aggregates the live model keeps, and where it keeps each kind.
pub trait LiveAggregate: Aggregate + Sized {
    fn of(model: &LiveModel) -> &Aggregates<Self>;
}

impl LiveAggregate for Account {
    fn of(model: &LiveModel) -> &Aggregates<Self> {
        &model.accounts
    }
}

impl LiveAggregate for User {
    fn of(model: &LiveModel) -> &Aggregates<Self> {
        &model.users
    }
}

impl LiveAggregate for Contact {
    fn of(model: &LiveModel) -> &Aggregates<Self> {
        &model.contacts
    }
}

impl LiveAggregate for Schedule {
    fn of(model: &LiveModel) -> &Aggregates<Self> {
        &model.schedules
    }
}
