//! Deciding who is on call: assign, assign recurring, override, unassign, swap and comment.
//!
//! Clients and operators may do all of these. A change that would alter who was on call before
//! now (on a shift that has ended, or on the elapsed part of a running one) is refused to
//! clients, and operators must give a written reason, which the event keeps; unassigning a
//! running override ends it now instead. Comments change nobody's duty, so only a shift's end
//! limits them.

use crate::actor::{CommandContext, Role};
use crate::error::{DomainError, Entity, optional_text, required_text};
use crate::schedule::commands::*;
use crate::schedule::decide::live;
use crate::schedule::events::*;
use crate::schedule::state::{ScheduleState, Shift};

const COMMENT_MAX: usize = 2000;

fn find_shift(state: &ScheduleState, id: crate::ids::ShiftId) -> Result<&Shift, DomainError> {
    state.shift(id).ok_or(DomainError::NotFound(Entity::Shift))
}

/// A contact may be newly assigned only if active and in the schedule's account.
fn check_contact(state: &ScheduleState, contact: &ContactFacts) -> Result<(), DomainError> {
    let info = live(state)?;
    if contact.account_id != info.account_id {
        return Err(DomainError::ContactOfAnotherAccount);
    }
    if !contact.active {
        return Err(DomainError::ContactInactive);
    }
    Ok(())
}

pub(crate) fn assign(
    state: &ScheduleState,
    c: AssignCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    let shift = find_shift(state, c.shift_id)?;
    ctx.may_change_on_call(shift.end, shift.start)?;
    check_contact(state, &c.contact)?;
    let comment = optional_text("comment", c.comment.as_deref(), COMMENT_MAX)?;
    let targets = match c.recurring {
        None => vec![shift],
        Some(recurrence) => recurring_targets(state, shift, recurrence)?,
    };
    targets
        .into_iter()
        // A shift that already has this contact, with this comment, has nothing to record.
        .filter(|target| {
            target.assignee != Some(c.contact.id) || target.assign_comment.as_deref() != comment.as_deref()
        })
        .map(|target| {
            Ok(ShiftAssigned {
                shift_id: target.id,
                contact_id: c.contact.id,
                comment: comment.clone(),
                reason: ctx.may_change_on_call(target.end, target.start)?,
            }
            .into())
        })
        .collect()
}

/// This shift and every `every`-th following shift of its series, up to the local date `until`.
fn recurring_targets<'a>(
    state: &'a ScheduleState,
    shift: &'a Shift,
    recurrence: Recurrence,
) -> Result<Vec<&'a Shift>, DomainError> {
    if recurrence.every == 0 {
        return Err(DomainError::InvalidRecurrence);
    }
    let series = shift.series_id.and_then(|id| state.series(id)).ok_or(DomainError::NotInSeries)?;
    let position = series.shift_ids.iter().position(|id| *id == shift.id).ok_or(DomainError::NotInSeries)?;
    let tz = state.time_zone();
    if recurrence.until.is_some_and(|until| until < shift.start.with_timezone(&tz).date_naive()) {
        return Err(DomainError::UntilBeforeShift);
    }
    // The series' ids include removed shifts, so that every `every`-th occurrence is counted.
    Ok(series.shift_ids[position..]
        .iter()
        .step_by(recurrence.every as usize)
        .filter_map(|id| state.shift(*id))
        .take_while(|s| recurrence.until.is_none_or(|until| s.start.with_timezone(&tz).date_naive() <= until))
        .collect())
}

pub(crate) fn add_override(
    state: &ScheduleState,
    c: OverrideCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    let shift = find_shift(state, c.shift_id)?;
    let start = ctx.effective_start(c.start);
    // An override over before it could take effect would change only the past.
    let from = if start < c.end { start } else { c.start };
    let reason = ctx.may_change_on_call(shift.end, from.max(shift.start))?;
    check_contact(state, &c.contact)?;
    // The manual's order: the start against the shift's start, then the end against its end.
    // A start "from now" is checked where it takes effect: a client whose clock lags asks
    // for a moment before a shift that has just begun, and means from now on.
    if from < shift.start {
        return Err(DomainError::OverrideStartsBeforeShift);
    }
    if c.end > shift.end {
        return Err(DomainError::OverrideEndsAfterShift);
    }
    if c.end <= c.start {
        return Err(DomainError::EndNotAfterStart);
    }
    if shift.find_override(c.override_id).is_some() {
        return Err(DomainError::AlreadyExists(Entity::Override));
    }
    if let Some(other) = shift.overrides.iter().find(|o| o.start < c.end && start < o.end) {
        return Err(DomainError::OverrideOverlaps { conflicting_override_id: other.id });
    }
    Ok(vec![
        OverrideAdded {
            override_id: c.override_id,
            shift_id: shift.id,
            contact_id: c.contact.id,
            start,
            end: c.end,
            comment: optional_text("comment", c.comment.as_deref(), COMMENT_MAX)?,
            reason,
        }
        .into(),
    ])
}

pub(crate) fn unassign(
    state: &ScheduleState,
    c: UnassignCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    let shift = find_shift(state, c.shift_id)?;
    let event = match c.override_id {
        Some(override_id) => {
            let o = shift.find_override(override_id).ok_or(DomainError::NotFound(Entity::Override))?;
            let running = o.start < ctx.now && ctx.now < o.end;
            let removes_whole = ctx.role() == Role::Operator && ctx.reason().is_some();
            if running && !removes_whole {
                // The base contact covers again from now on; who covered until now stays as
                // dispatch saw it. Only an operator's written reason removes the override whole.
                ctx.may_change_on_call(shift.end, ctx.now)?;
                let end = ctx.next_whole_second().min(o.end);
                if end == o.end {
                    // Already ends then (cut a moment ago, in this same second): nothing changes.
                    return Ok(vec![]);
                }
                OverrideCutShort { override_id, shift_id: shift.id, contact_id: o.contact_id, end }.into()
            } else {
                let reason = ctx.may_change_on_call(shift.end, o.start).map_err(|error| match error {
                    // "Add an override that starts now" is beside the point for one that is over.
                    DomainError::PastOnCall if o.end <= ctx.now => DomainError::OverrideEnded,
                    error => error,
                })?;
                OverrideRemoved { override_id, shift_id: shift.id, contact_id: o.contact_id, reason }.into()
            }
        }
        None => {
            let reason = ctx.may_change_on_call(shift.end, shift.start)?;
            let contact_id = shift.assignee.ok_or(DomainError::NothingToUnassign)?;
            ShiftUnassigned { shift_id: shift.id, contact_id, reason }.into()
        }
    };
    Ok(vec![event])
}

pub(crate) fn swap(
    state: &ScheduleState,
    c: SwapCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    if c.shift_a == c.shift_b {
        return Err(DomainError::SwapSameShift);
    }
    let a = find_shift(state, c.shift_a)?;
    let b = find_shift(state, c.shift_b)?;
    let reason = ctx.may_change_on_call(a.end, a.start)?;
    let reason = ctx.may_change_on_call(b.end, b.start)?.or(reason);
    if a.assignee == b.assignee {
        // Two empty shifts, or one contact on both: swapping changes nothing.
        return Ok(vec![]);
    }
    // Each contact is newly assigned to the other shift, which a deactivated one cannot be.
    if [a.assignee, b.assignee].iter().flatten().any(|contact| c.inactive_contacts.contains(contact)) {
        return Err(DomainError::ContactInactive);
    }
    Ok(vec![
        ShiftsSwapped { shift_a: a.id, shift_b: b.id, contact_a: b.assignee, contact_b: a.assignee, reason }.into(),
    ])
}

pub(crate) fn comment(
    state: &ScheduleState,
    c: CommentCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    let shift = find_shift(state, c.shift_id)?;
    let reason = ctx.may_change_shift_ending(shift.end)?;
    Ok(vec![
        ShiftCommented {
            shift_id: shift.id,
            text: required_text("comment", &c.text, COMMENT_MAX)?,
            by: ctx.actor.username.clone(),
            at: ctx.now,
            reason,
        }
        .into(),
    ])
}
