//! The directory: an account's contacts, maintained by operators only (clients ask the service team
//! by e-mail). A deactivated contact stays on record but cannot be newly assigned.

use serde::{Deserialize, Serialize};

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::{DomainError, Entity, optional_line, optional_text, required_line};
use crate::event::{domain_events, no_upcasters};
use crate::ids::{AccountId, ContactId};

domain_events! {
    /// Every event of a contact stream.
    pub enum ContactEvent upcast with no_upcasters {
        ContactAdded = 1,
        ContactUpdated = 1,
        ContactDeactivated = 1,
        ContactReactivated = 1,
    }
}

/// A contact's details, as entered and as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetails {
    pub name: String,
    /// At most three.
    pub phones: Vec<String>,
    pub sms: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactAdded {
    pub contact_id: ContactId,
    pub account_id: AccountId,
    #[serde(flatten)]
    pub details: ContactDetails,
}

/// The details after the change, in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactUpdated {
    #[serde(flatten)]
    pub details: ContactDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactDeactivated {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactReactivated {}

#[derive(Debug, Clone)]
pub enum ContactCommand {
    Add { contact_id: ContactId, account_id: AccountId, details: ContactDetails },
    Update { details: ContactDetails },
    Deactivate,
    Reactivate,
}

/// A contact's state; `None` before it is added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactState {
    pub contact: Option<ContactInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactInfo {
    pub id: ContactId,
    pub account_id: AccountId,
    pub details: ContactDetails,
    pub active: bool,
}

/// Trims the details, drops blank phone numbers and checks the limits.
pub fn validate_details(details: ContactDetails) -> Result<ContactDetails, DomainError> {
    let phones: Vec<String> = details
        .phones
        .iter()
        .map(|p| optional_line("phone number", Some(p), 40))
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    if phones.len() > 3 {
        return Err(DomainError::TooManyPhones);
    }
    let sms = optional_line("SMS number", details.sms.as_deref(), 40)?;
    // Dispatch dials these numbers: "call me maybe" must not reach the person placing the call.
    if !phones.iter().chain(&sms).all(|number| is_phone_number(number)) {
        return Err(DomainError::InvalidPhone);
    }
    let email = optional_line("e-mail address", details.email.as_deref(), 254)?;
    if email.as_deref().is_some_and(|e| !is_email_address(e)) {
        return Err(DomainError::InvalidEmail);
    }
    Ok(ContactDetails {
        name: required_line("contact name", &details.name, 100)?,
        phones,
        sms,
        email,
        notes: optional_text("notes", details.notes.as_deref(), 2000)?,
    })
}

/// Digits (at least three), spaces and `+ - ( ) . /`, with an optional extension (`x12`, `ext. 12`).
fn is_phone_number(number: &str) -> bool {
    let lower = number.to_lowercase();
    let (main, extension) = match lower.split_once("ext").or_else(|| lower.split_once('x')) {
        Some((main, extension)) => (main, Some(extension.trim_start_matches('.').trim())),
        None => (lower.as_str(), None),
    };
    main.chars().filter(char::is_ascii_digit).count() >= 3
        && main.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        && extension.is_none_or(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()))
}

/// One address: `local@domain.tld`, no spaces, commas or second `@`, no empty labels in the domain.
fn is_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    let forbidden = |c: char| c.is_whitespace() || ",;<>\"()[]\\".contains(c) || c == '@';
    !local.is_empty()
        && !local.chars().any(forbidden)
        && !domain.chars().any(forbidden)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

pub fn decide(
    state: &ContactState,
    command: ContactCommand,
    ctx: &CommandContext,
) -> Result<Vec<ContactEvent>, DomainError> {
    ctx.require_operator("maintain the directory")?;
    if let ContactCommand::Add { contact_id, account_id, details } = command {
        if state.contact.is_some() {
            return Err(DomainError::AlreadyExists(Entity::Contact));
        }
        let details = validate_details(details)?;
        return Ok(vec![ContactAdded { contact_id, account_id, details }.into()]);
    }
    let contact = state.contact.as_ref().ok_or(DomainError::NotFound(Entity::Contact))?;
    match command {
        ContactCommand::Add { .. } => Err(DomainError::AlreadyExists(Entity::Contact)),
        ContactCommand::Update { details } => {
            let details = validate_details(details)?;
            // The details it already has: nothing to record.
            if details == contact.details {
                return Ok(vec![]);
            }
            Ok(vec![ContactUpdated { details }.into()])
        }
        ContactCommand::Deactivate if !contact.active => Err(DomainError::ContactAlreadyInactive),
        ContactCommand::Deactivate => Ok(vec![ContactDeactivated {}.into()]),
        ContactCommand::Reactivate if contact.active => Err(DomainError::ContactAlreadyActive),
        ContactCommand::Reactivate => Ok(vec![ContactReactivated {}.into()]),
    }
}

pub fn evolve(mut state: ContactState, event: &ContactEvent) -> ContactState {
    match event {
        ContactEvent::ContactAdded(e) => {
            state.contact = Some(ContactInfo {
                id: e.contact_id,
                account_id: e.account_id,
                details: e.details.clone(),
                active: true,
            });
        }
        ContactEvent::ContactUpdated(e) => {
            if let Some(c) = &mut state.contact {
                c.details = e.details.clone();
            }
        }
        ContactEvent::ContactDeactivated(_) => {
            if let Some(c) = &mut state.contact {
                c.active = false;
            }
        }
        ContactEvent::ContactReactivated(_) => {
            if let Some(c) = &mut state.contact {
                c.active = true;
            }
        }
    }
    state
}

impl ContactState {
    /// The facts a schedule needs to assign this contact.
    pub fn facts(&self) -> Option<crate::schedule::ContactFacts> {
        self.contact.as_ref().map(|c| crate::schedule::ContactFacts {
            id: c.id,
            account_id: c.account_id,
            active: c.active,
        })
    }
}

/// The contact aggregate: streams `contact-<uuid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Contact;

impl Aggregate for Contact {
    const CATEGORY: &'static str = "contact";
    type Id = ContactId;
    type State = ContactState;
    type Command = ContactCommand;
    type Event = ContactEvent;

    fn decide(s: &ContactState, c: ContactCommand, ctx: &CommandContext) -> Result<Vec<ContactEvent>, DomainError> {
        decide(s, c, ctx)
    }

    fn evolve(state: ContactState, event: &ContactEvent) -> ContactState {
        evolve(state, event)
    }
}

pub fn stream_id(id: ContactId) -> String {
    Contact::stream_id(id)
}
