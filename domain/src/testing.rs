//! A given/when/then harness for any aggregate: given past events, when a command is decided, then
//! expect these events or this refusal. Used by this crate's tests and open to the other crates'.
//!
//! ```
//! # use vigie_domain::testing::given;
//! # use vigie_domain::Schedule;
//! # fn check(events: Vec<vigie_domain::ScheduleEvent>, cmd: vigie_domain::ScheduleCommand, ctx: vigie_domain::CommandContext) {
//! given::<Schedule>(events).when(cmd, &ctx).then_error("This shift does not exist.");
//! # }
//! ```

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::DomainError;

/// Starts a scenario from past events.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let history: Vec<A::Event> = events.into_iter().collect();
    Given { state: A::replay(&history) }
}

/// The state built from the given events.
#[derive(Debug)]
pub struct Given<A: Aggregate> {
    pub state: A::State,
}

impl<A: Aggregate> Given<A> {
    /// Decides a command against the given state.
    pub fn when(self, command: impl Into<A::Command>, ctx: &CommandContext) -> Then<A> {
        let outcome = A::decide(&self.state, command.into(), ctx);
        Then { state: self.state, outcome }
    }
}

/// The outcome of a decision, to check.
#[derive(Debug)]
pub struct Then<A: Aggregate> {
    pub state: A::State,
    pub outcome: Result<Vec<A::Event>, DomainError>,
}

impl<A: Aggregate> Then<A> {
    /// Expects exactly these events; returns the state after them for further checks.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A::State {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "unexpected events");
                events.iter().fold(self.state, A::evolve)
            }
            Err(error) => panic!("expected events, got the refusal {error:?}: {error}"),
        }
    }

    /// Expects success and returns the events, for checks that do not spell every event out.
    #[track_caller]
    pub fn events(self) -> Vec<A::Event> {
        match self.outcome {
            Ok(events) => events,
            Err(error) => panic!("expected events, got the refusal {error:?}: {error}"),
        }
    }

    /// Expects success and returns the state after the events.
    #[track_caller]
    pub fn state_after(self) -> A::State {
        let state = self.state;
        match self.outcome {
            Ok(events) => events.iter().fold(state, A::evolve),
            Err(error) => panic!("expected events, got the refusal {error:?}: {error}"),
        }
    }

    /// Expects a refusal with exactly this message; returns it for further checks.
    #[track_caller]
    pub fn then_error(self, message: &str) -> DomainError {
        match self.outcome {
            Ok(events) => panic!("expected the refusal {message:?}, got events {events:?}"),
            Err(error) => {
                assert_eq!(error.to_string(), message, "unexpected refusal {error:?}");
                error
            }
        }
    }
}
