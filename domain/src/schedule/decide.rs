//! Deciding schedule commands: the schedule itself and its shifts (operators' work).
//! Assignments (assign, override, unassign, swap, comment) are decided in `assignments`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::actor::CommandContext;
use crate::error::{DomainError, Entity, required_line};
use crate::ids::{OverrideId, ShiftId, derive_uuid, purpose};
use crate::schedule::assignments;
use crate::schedule::commands::*;
use crate::schedule::events::*;
use crate::schedule::state::{Lane, ScheduleInfo, ScheduleState, Shift};

pub(crate) const NAME_MAX: usize = 100;
pub(crate) const ROLE_MAX: usize = 50;
/// The highest rank: dispatch calls rank 0 first, then 1, and no answering service calls a
/// hundredth person. The bound also keeps ranks inside the 32-bit integers that clients read.
pub const RANK_MAX: u32 = 99;

/// Decides any schedule command against the schedule's state.
pub fn decide(
    state: &ScheduleState,
    command: ScheduleCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_writer()?;
    // Everything but creating a schedule needs one that exists and is not deleted.
    if !matches!(command, ScheduleCommand::Create(_) | ScheduleCommand::Copy(_)) {
        live(state)?;
    }
    match command {
        ScheduleCommand::Create(c) => create(state, c, ctx),
        ScheduleCommand::Copy(c) => copy(state, *c, ctx),
        ScheduleCommand::Rename(c) => rename(state, c, ctx),
        ScheduleCommand::Delete(_) => delete(state, ctx),
        ScheduleCommand::AddShift(c) => add_shift(state, c, ctx),
        ScheduleCommand::CreateSeries(c) => create_series(state, c, ctx),
        ScheduleCommand::EditShift(c) => edit_shift(state, c, ctx),
        ScheduleCommand::RemoveShift(c) => remove_shift(state, c, ctx),
        ScheduleCommand::Assign(c) => assignments::assign(state, c, ctx),
        ScheduleCommand::Override(c) => assignments::add_override(state, c, ctx),
        ScheduleCommand::Unassign(c) => assignments::unassign(state, c, ctx),
        ScheduleCommand::Swap(c) => assignments::swap(state, c, ctx),
        ScheduleCommand::Comment(c) => assignments::comment(state, c, ctx),
    }
}

/// The schedule's attributes, if it exists and has not been deleted.
pub(crate) fn live(state: &ScheduleState) -> Result<&ScheduleInfo, DomainError> {
    match state.info() {
        None => Err(DomainError::NotFound(Entity::Schedule)),
        Some(info) if info.deleted => Err(DomainError::ScheduleDeleted),
        Some(info) => Ok(info),
    }
}

fn create(
    state: &ScheduleState,
    c: CreateScheduleCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("create schedules")?;
    if state.info().is_some() {
        return Err(DomainError::AlreadyExists(Entity::Schedule));
    }
    let name = schedule_name(&c.name, c.name_taken)?;
    Ok(vec![
        ScheduleCreated { schedule_id: c.schedule_id, account_id: c.account_id, name, time_zone: c.time_zone }.into(),
    ])
}

fn rename(
    state: &ScheduleState,
    c: RenameScheduleCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("rename schedules")?;
    let name = schedule_name(&c.name, c.name_taken)?;
    if state.info().is_some_and(|info| info.name == name) {
        // The same name again changes nothing, so the history records nothing.
        return Ok(vec![]);
    }
    Ok(vec![ScheduleRenamed { name }.into()])
}

/// A schedule's name: required, and one no other schedule of the account has
/// (a client picks their schedule by its name).
fn schedule_name(name: &str, taken: bool) -> Result<String, DomainError> {
    let name = required_line("schedule name", name, NAME_MAX)?;
    if taken {
        return Err(DomainError::ScheduleNameTaken);
    }
    Ok(name)
}

/// A schedule with a shift running now is not deleted: that would remove a started shift, which
/// DOMAIN.md forbids, and dispatch would lose whoever is on call in the middle of the shift.
fn delete(state: &ScheduleState, ctx: &CommandContext) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("delete schedules")?;
    if !state.on_call_at(ctx.now, None).is_empty() {
        return Err(DomainError::ScheduleHasRunningShift);
    }
    Ok(vec![ScheduleDeleted {}.into()])
}

/// The new schedule starts with the source's shifts and series under fresh, derived ids.
///
/// Only shifts that have not started are copied: a copied past shift would
/// say the new schedule had someone (or nobody) on call back then, which
/// dispatch never acted on. Deactivated contacts stay behind, as they cannot
/// be newly assigned.
fn copy(
    state: &ScheduleState,
    c: CopyScheduleCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("copy schedules")?;
    if state.info().is_some() {
        return Err(DomainError::AlreadyExists(Entity::Schedule));
    }
    let source = live(&c.source)?;
    let name = schedule_name(&c.name, c.name_taken)?;
    let new_id = c.schedule_id.as_uuid();

    let mut old_series: Vec<_> = c.source.series.values().collect();
    old_series.sort_by_key(|s| s.id);
    let series_ids: HashMap<_, _> =
        (0u32..).zip(&old_series).map(|(i, s)| (s.id, derive_uuid(new_id, purpose::COPIED_SERIES, i).into())).collect();
    let mut shifts = c.source.shifts();
    shifts.retain(|shift| shift.start >= ctx.now);
    let shift_ids: HashMap<_, ShiftId> =
        (0u32..).zip(&shifts).map(|(i, s)| (s.id, derive_uuid(new_id, purpose::COPIED_SHIFT, i).into())).collect();

    let mut override_ids = (0u32..).map(|i| derive_uuid(new_id, purpose::COPIED_OVERRIDE, i).into());
    let shifts = shifts
        .iter()
        .map(|s| ShiftRecord {
            shift_id: shift_ids[&s.id],
            start: s.start,
            end: s.end,
            rank: s.rank,
            name: s.name.to_string(),
            role: s.role.to_string(),
            series_id: s.series_id.and_then(|id| series_ids.get(&id).copied()),
            assignee: s.assignee.filter(|contact| c.with_assignments && !c.inactive_contacts.contains(contact)),
            overrides: copied_overrides(s, &c, &mut override_ids),
        })
        .collect();
    let series = old_series
        .iter()
        .map(|s| CopiedSeries {
            series_id: series_ids[&s.id],
            rule: s.rule.clone(),
            shift_ids: s.shift_ids.iter().filter_map(|id| shift_ids.get(id).copied()).collect(),
        })
        .collect();
    Ok(vec![
        ScheduleCopied {
            schedule_id: c.schedule_id,
            account_id: source.account_id,
            name,
            time_zone: source.time_zone,
            copied_from: source.id,
            with_assignments: c.with_assignments,
            series,
            shifts,
        }
        .into(),
    ])
}

/// A shift's overrides as copied, under fresh ids, or none when assignments are not copied.
fn copied_overrides(
    shift: &Shift,
    copy: &CopyScheduleCommand,
    ids: &mut impl Iterator<Item = OverrideId>,
) -> Vec<OverrideRecord> {
    if !copy.with_assignments {
        return Vec::new();
    }
    shift
        .overrides
        .iter()
        .filter(|o| !copy.inactive_contacts.contains(&o.contact_id))
        .zip(ids)
        .map(|(o, override_id)| OverrideRecord {
            override_id,
            contact_id: o.contact_id,
            start: o.start,
            end: o.end,
            comment: o.comment.clone(),
        })
        .collect()
}

/// Checks that a shift ends after it starts and that its lane is free.
fn check_shift(
    state: &ScheduleState,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    lane: &Lane,
    except: Option<ShiftId>,
) -> Result<(), DomainError> {
    if end <= start {
        return Err(DomainError::EndNotAfterStart);
    }
    match state.lane_conflict(lane, start, end, except) {
        Some(conflicting_shift_id) => Err(DomainError::ShiftOverlaps { conflicting_shift_id }),
        None => Ok(()),
    }
}

/// Checks a rank given by a command; a shift stored before the bound keeps its rank when edited.
fn check_rank(rank: u32) -> Result<u32, DomainError> {
    if rank > RANK_MAX {
        return Err(DomainError::RankOutOfRange(RANK_MAX));
    }
    Ok(rank)
}

/// The lane of a shift: its role and rank. A role typed in another case than one the schedule
/// already has ("oc" beside "OC") is that role, and takes its spelling.
fn lane_of(state: &ScheduleState, rank: u32, role: &str) -> Result<(Lane, String), DomainError> {
    let typed = required_line("role", role, ROLE_MAX)?;
    let known = state.lanes.keys().map(|lane| &lane.role).find(|known| super::same_role(known, &typed));
    let role = known.map_or(typed, |known| known.to_string());
    Ok((Lane { role: role.as_str().into(), rank }, role))
}

fn add_shift(
    state: &ScheduleState,
    c: AddShiftCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("create shifts")?;
    if state.shift(c.shift_id).is_some() {
        return Err(DomainError::AlreadyExists(Entity::Shift));
    }
    let name = required_line("shift name", &c.name, NAME_MAX)?;
    let (lane, role) = lane_of(state, check_rank(c.rank)?, &c.role)?;
    check_shift(state, c.start, c.end, &lane, None)?;
    let reason = reason_for_the_past(ctx, c.start)?;
    Ok(vec![ShiftAdded { shift_id: c.shift_id, start: c.start, end: c.end, rank: c.rank, name, role, reason }.into()])
}

fn create_series(
    state: &ScheduleState,
    c: CreateSeriesCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("create shifts")?;
    if state.series(c.series_id).is_some() {
        return Err(DomainError::AlreadyExists(Entity::Series));
    }
    let name = required_line("shift name", &c.name, NAME_MAX)?;
    let (lane, role) = lane_of(state, check_rank(c.rank)?, &c.role)?;
    let occurrences = c.rule.occurrences(state.time_zone())?;
    let mut shifts: Vec<SeriesShift> = Vec::with_capacity(occurrences.len());
    for (index, (start, end)) in (0u32..).zip(occurrences) {
        let shift_id: ShiftId = derive_uuid(c.series_id.as_uuid(), purpose::SERIES_SHIFT, index).into();
        if state.shift(shift_id).is_some() {
            return Err(DomainError::AlreadyExists(Entity::Shift));
        }
        // Occurrences come in order, so only the previous one can overlap this one. It is not
        // stored: naming it as the conflicting shift would send the operator looking for nothing.
        if shifts.last().is_some_and(|previous| previous.end > start) {
            return Err(DomainError::SeriesOverlapsItself);
        }
        check_shift(state, start, end, &lane, None)?;
        shifts.push(SeriesShift { shift_id, start, end });
    }
    let reason = reason_for_the_past(ctx, shifts.first().map_or(ctx.now, |s| s.start))?;
    Ok(vec![SeriesCreated { series_id: c.series_id, rule: c.rule, rank: c.rank, name, role, shifts, reason }.into()])
}

/// A shift that starts before now rewrites who was on call then: like a correction of an
/// ended shift, it needs a written reason, which the event keeps.
fn reason_for_the_past(ctx: &CommandContext, start: DateTime<Utc>) -> Result<Option<String>, DomainError> {
    let reason = ctx.reason();
    if start < ctx.now && reason.is_none() {
        return Err(DomainError::PastShiftNeedsReason);
    }
    Ok(reason)
}

fn edit_shift(
    state: &ScheduleState,
    c: EditShiftCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("edit shifts")?;
    let shift = state.shift(c.shift_id).ok_or(DomainError::NotFound(Entity::Shift))?;
    if shift.has_started(ctx.now) {
        return Err(DomainError::ShiftStarted);
    }
    let start = c.start.unwrap_or(shift.start);
    let end = c.end.unwrap_or(shift.end);
    // Moving a future shift into the past would rewrite who was on call without a reason.
    if start <= ctx.now {
        return Err(DomainError::ShiftMovedIntoPast);
    }
    let rank = c.rank.map(check_rank).transpose()?.unwrap_or(shift.rank);
    let name = required_line("shift name", c.name.as_deref().unwrap_or(&shift.name), NAME_MAX)?;
    let (lane, role) = lane_of(state, rank, c.role.as_deref().unwrap_or(&shift.role))?;
    check_shift(state, start, end, &lane, Some(shift.id))?;
    if shift.overrides.iter().any(|o| o.start < start || o.end > end) {
        return Err(DomainError::OverridesOutsideShift);
    }
    // An edit to what the shift already is records nothing, as renaming a schedule to its own name.
    if (start, end, rank, name.as_str(), role.as_str())
        == (shift.start, shift.end, shift.rank, &*shift.name, &*shift.role)
    {
        return Ok(vec![]);
    }
    Ok(vec![ShiftEdited { shift_id: shift.id, start, end, rank, name, role }.into()])
}

fn remove_shift(
    state: &ScheduleState,
    c: RemoveShiftCommand,
    ctx: &CommandContext,
) -> Result<Vec<ScheduleEvent>, DomainError> {
    ctx.require_operator("remove shifts")?;
    let shift = state.shift(c.shift_id).ok_or(DomainError::NotFound(Entity::Shift))?;
    if shift.has_started(ctx.now) {
        return Err(DomainError::ShiftStarted);
    }
    Ok(vec![ShiftRemoved { shift_id: shift.id }.into()])
}
