//! Vigie's domain: the rules of DOMAIN.md as pure, synchronous code.
//!
//! Each aggregate (account, user, contact, schedule, message, call) offers the same two functions:
//! `decide(&state, command, &ctx) -> Result<Vec<Event>, DomainError>` and
//! `evolve(state, &event) -> state`, also reachable through the [`Aggregate`] trait. There is no I/O
//! and no clock: the [`CommandContext`] carries the instant, the actor and the reason, and commands
//! carry any fact that lives elsewhere (for example whether a contact is active).
//!
//! The schedule's state also answers the read questions: who is on call at an instant, the segments
//! of a shift, the coverage of a day and a range summary.
//!
//! Events go to the store as `(event_type, schema_version, data)` through [`DomainEvent`]; streams
//! are named by `Aggregate::stream_id` (`schedule-<uuid>`, `contact-<uuid>`, …).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use vigie_domain::schedule::*;
//! use vigie_domain::*;
//!
//! let ops = Actor { user_id: UserId::new_v7(), username: "ops".into(), role: Role::Operator };
//! let ctx = CommandContext::new(ops, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
//! let account_id = AccountId::new_v7();
//! let shift_id = ShiftId::new_v7();
//! let commands: Vec<ScheduleCommand> = vec![
//!     CreateScheduleCommand {
//!         schedule_id: ScheduleId::new_v7(),
//!         account_id,
//!         name: "01 Horaire".into(),
//!         time_zone: chrono_tz::America::Toronto,
//!         name_taken: false,
//!     }
//!     .into(),
//!     AddShiftCommand {
//!         shift_id,
//!         start: Utc.with_ymd_and_hms(2026, 5, 1, 11, 30, 0).unwrap(),
//!         end: Utc.with_ymd_and_hms(2026, 5, 8, 11, 30, 0).unwrap(),
//!         rank: 0,
//!         name: "Rotation".into(),
//!         role: "OC".into(),
//!     }
//!     .into(),
//!     AssignCommand {
//!         shift_id,
//!         contact: ContactFacts { id: ContactId::new_v7(), account_id, active: true },
//!         comment: None,
//!         recurring: None,
//!     }
//!     .into(),
//! ];
//! let mut state = ScheduleState::default();
//! for command in commands {
//!     for event in schedule::decide(&state, command, &ctx)? {
//!         state = schedule::evolve(state, &event);
//!     }
//! }
//! let on_call = state.on_call_at(Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap(), None);
//! assert_eq!(on_call[0].source, Source::Base);
//! # Ok::<(), DomainError>(())
//! ```

pub mod account;
pub mod actor;
pub mod aggregate;
pub mod calls;
pub mod contact;
pub mod error;
pub mod event;
pub mod ids;
pub mod inbox;
pub mod schedule;
pub mod testing;
pub mod user;

pub use account::{Account, AccountCommand, AccountEvent, AccountState};
pub use actor::{Actor, CommandContext, Role};
pub use aggregate::Aggregate;
pub use calls::{Call, CallCommand, CallEvent, CallState};
pub use contact::{Contact, ContactCommand, ContactEvent, ContactState};
pub use error::{DomainError, Entity, ErrorKind, comparable, invisible, parse_time_zone};
pub use event::{DomainEvent, EventDecodeError};
pub use ids::{
    AccountId, CallId, ContactId, MessageId, OverrideId, RecordingId, ScheduleId, SeriesId, ShiftId, UserId,
};
pub use inbox::{Message, MessageCommand, MessageEvent, MessageState};
pub use schedule::{Schedule, ScheduleCommand, ScheduleEvent, ScheduleState};
pub use user::{User, UserCommand, UserEvent, UserState};
