//! The on-call schedule aggregate: shifts and series, who is assigned to them, and the read
//! questions dispatch and the calendar ask (who is on call, segments, coverage, summary).

mod assignments;
pub mod commands;
pub mod coverage;
mod decide;
pub mod events;
mod evolve;
pub mod oncall;
pub mod series;
pub mod state;

pub use commands::*;
pub use coverage::{Coverage, Summary};
pub use decide::{RANK_MAX, decide};
pub use events::*;
pub use evolve::evolve;
pub use oncall::{OnCallEntry, Segment, Source};
pub use series::{RepeatUnit, SeriesEnd, SeriesRule, local_to_utc};
pub use state::{Comment, Lane, Override, ScheduleInfo, ScheduleState, Series, Shift};

use crate::actor::CommandContext;
use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::ids::ScheduleId;

/// The schedule aggregate, for generic code (`Schedule::stream_id(id)` is `schedule-<uuid>`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Schedule;

impl Aggregate for Schedule {
    const CATEGORY: &'static str = "schedule";
    type Id = ScheduleId;
    type State = ScheduleState;
    type Command = ScheduleCommand;
    type Event = ScheduleEvent;

    fn decide(
        state: &ScheduleState,
        command: ScheduleCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<ScheduleEvent>, DomainError> {
        decide(state, command, ctx)
    }

    fn evolve(state: ScheduleState, event: &ScheduleEvent) -> ScheduleState {
        evolve(state, event)
    }
}

/// Whether two roles are one: a role is the same however it is typed ("OC", "oc", "O\u{200B}C",
/// "Médecin" with its accent apart), so that neither the overlap rule nor dispatch's role filter
/// can be slipped past by typing it otherwise. Plain ASCII letters, the usual case, allocate nothing.
pub fn same_role(a: &str, b: &str) -> bool {
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if plain(a) && plain(b) { a.eq_ignore_ascii_case(b) } else { crate::comparable(a) == crate::comparable(b) }
}

/// The event store stream of a schedule: `schedule-<uuid>`.
pub fn stream_id(id: ScheduleId) -> String {
    Schedule::stream_id(id)
}
