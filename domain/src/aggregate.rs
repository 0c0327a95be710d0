//! The shape every aggregate shares: decide what happens, then evolve the state by what happened.

use std::fmt::{Debug, Display};

use crate::actor::CommandContext;
use crate::error::DomainError;
use crate::event::DomainEvent;

/// One consistency boundary (a schedule, a contact, a message, …) kept as a stream of events.
///
/// `decide` never changes anything: it looks at the state and the command and answers with the events
/// that the command causes, or a refusal. `evolve` folds one event into the state and never refuses,
/// because an event is a fact that already happened.
pub trait Aggregate {
    /// The stream category, lowercase letters: streams are named `category-<uuid>`.
    const CATEGORY: &'static str;
    type Id: Copy + Display;
    type State: Default + Clone + Debug + PartialEq;
    type Command: Debug;
    type Event: DomainEvent + Clone + Debug + PartialEq;

    fn decide(
        state: &Self::State,
        command: Self::Command,
        ctx: &CommandContext,
    ) -> Result<Vec<Self::Event>, DomainError>;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// The event store's stream name, e.g. `schedule-0190…`.
    fn stream_id(id: Self::Id) -> String {
        format!("{}-{}", Self::CATEGORY, id)
    }

    /// Rebuilds a state by folding events from the default state.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events.into_iter().fold(Self::State::default(), Self::evolve)
    }
}
