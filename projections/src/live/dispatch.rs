//! The dispatch index: who is on call for an account at an instant, from a few flat arrays per account.
//!
//! The schedules answer the question themselves (`ScheduleState::on_call_at`), but reaching them
//! costs a dozen scattered memory reads per schedule: the hash maps of schedules and of shifts, the
//! B-tree nodes of each lane. Dispatch asks about any account at any moment, so with thousands of
//! accounts nearly every one of those reads misses the cache. Here each account's lanes are laid out
//! in contiguous arrays: one hash lookup finds the account, then each lane is a binary search over
//! its shift starts and one read of the shift found. The live model rebuilds an account's entry after
//! every batch of events touching one of its schedules, before it publishes the batch's position, so
//! the index is never behind the model it belongs to.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use vigie_domain::schedule::oncall::{OnCallEntry, Source};
use vigie_domain::schedule::state::Shift;
use vigie_domain::{AccountId, ContactId, OverrideId, ScheduleId, ScheduleState, ShiftId};

/// Every account's lanes, by account.
#[derive(Debug, Default, PartialEq)]
pub struct DispatchIndex {
    accounts: HashMap<AccountId, AccountLanes>,
}

/// One shift covering the asked instant, with whoever covers it then, and its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchEntry<'a> {
    pub schedule_id: ScheduleId,
    pub schedule_name: &'a str,
    pub time_zone: Tz,
    pub on_call: OnCallEntry<'a>,
}

/// Which shifts a lookup is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct DispatchFilter<'q> {
    pub role: Option<&'q str>,
    pub schedule_id: Option<ScheduleId>,
}

/// An account's live schedules, lanes, shifts and overrides, each kind in one array.
#[derive(Debug, Default, PartialEq)]
struct AccountLanes {
    /// In listing order (name, then id).
    schedules: Box<[ScheduleHeader]>,
    /// Schedule after schedule; inside one, by rank, then role.
    lanes: Box<[LaneHeader]>,
    /// Every lane's shift starts, lane after lane: what the binary searches read.
    starts: Box<[DateTime<Utc>]>,
    /// The shifts, in the same order as `starts`.
    shifts: Box<[ShiftSlot]>,
    /// Every shift's overrides, shift after shift, each shift's sorted by start.
    overrides: Box<[OverrideSlot]>,
    /// The shifts' names, each once: a year of weekly shifts usually shares one.
    shift_names: Box<[Arc<str>]>,
    /// The contacts the shifts and overrides name, each once: an account has a handful.
    contacts: Box<[ContactId]>,
}

/// In `contacts`: nobody.
const NOBODY: u32 = u32::MAX;

#[derive(Debug, PartialEq)]
struct ScheduleHeader {
    id: ScheduleId,
    name: Arc<str>,
    time_zone: Tz,
}

#[derive(Debug, PartialEq)]
struct LaneHeader {
    schedule: u32,
    rank: u32,
    role: Arc<str>,
    /// The lane's shifts: `starts[first..end]` and `shifts[first..end]`.
    first: u32,
    end: u32,
}

/// A shift in 40 bytes: a million of them is the bulk of the index.
#[derive(Debug, PartialEq)]
struct ShiftSlot {
    id: ShiftId,
    end: DateTime<Utc>,
    /// In `contacts`, or `NOBODY`.
    assignee: u32,
    /// In `shift_names`.
    name: u32,
    /// The shift's overrides run from here to the next shift's first (or the end of `overrides`).
    first_override: u32,
}

#[derive(Debug, PartialEq)]
struct OverrideSlot {
    id: OverrideId,
    /// In `contacts`.
    contact: u32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl DispatchIndex {
    /// Who is on call for the account at `at`: one entry per shift covering it, schedule by
    /// schedule in listing order, each schedule's by rank, then role. Allocates nothing.
    pub fn on_call<'a>(
        &'a self,
        account_id: AccountId,
        at: DateTime<Utc>,
        filter: DispatchFilter<'a>,
    ) -> impl Iterator<Item = DispatchEntry<'a>> + 'a {
        let account = self.accounts.get(&account_id);
        account.into_iter().flat_map(move |account| {
            account.lanes.iter().filter_map(move |lane| {
                let schedule = &account.schedules[lane.schedule as usize];
                if filter.schedule_id.is_some_and(|id| id != schedule.id)
                    || filter.role.is_some_and(|role| !vigie_domain::schedule::same_role(role, &lane.role))
                {
                    return None;
                }
                account.entry_at(schedule, lane, at)
            })
        })
    }

    /// Replaces the account's entry with its live schedules as they are now (none removes it).
    pub(super) fn reindex<'s>(
        &mut self,
        account_id: AccountId,
        schedules: impl Iterator<Item = (ScheduleId, &'s ScheduleState)>,
    ) {
        let lanes = AccountLanes::build(schedules);
        if lanes.lanes.is_empty() {
            self.accounts.remove(&account_id);
        } else {
            self.accounts.insert(account_id, lanes);
        }
    }
}

impl AccountLanes {
    fn build<'s>(schedules: impl Iterator<Item = (ScheduleId, &'s ScheduleState)>) -> Self {
        let (mut headers, mut lanes, mut starts, mut slots, mut overrides) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut names, mut contacts) = (Interned::default(), Interned::default());
        for (id, state) in schedules {
            let Some(info) = state.info() else { continue };
            let schedule = headers.len() as u32;
            headers.push(ScheduleHeader { id, name: info.name.as_str().into(), time_zone: info.time_zone });
            // Dispatch lists a schedule's shifts by rank first; the state keeps lanes by role first.
            let mut by_rank: Vec<_> = state.lanes().collect();
            by_rank.sort_by(|(a, _), (b, _)| (a.rank, &a.role).cmp(&(b.rank, &b.role)));
            for (lane, shifts) in by_rank {
                let first = starts.len() as u32;
                for shift in shifts {
                    starts.push(shift.start);
                    slots.push(ShiftSlot::of(shift, &mut overrides, &mut names, &mut contacts));
                }
                let end = starts.len() as u32;
                lanes.push(LaneHeader { schedule, rank: lane.rank, role: lane.role.clone(), first, end });
            }
        }
        Self {
            schedules: headers.into(),
            lanes: lanes.into(),
            starts: starts.into(),
            shifts: slots.into(),
            overrides: overrides.into(),
            shift_names: names.list.into(),
            contacts: contacts.list.into(),
        }
    }

    /// The lane's shift covering `at`, if any, with the segment of it that covers `at`.
    fn entry_at<'a>(
        &'a self,
        schedule: &'a ScheduleHeader,
        lane: &'a LaneHeader,
        at: DateTime<Utc>,
    ) -> Option<DispatchEntry<'a>> {
        let (first, end) = (lane.first as usize, lane.end as usize);
        // Shifts of a lane never overlap: the last one starting at or before `at` is the only candidate.
        let index = first + self.starts[first..end].partition_point(|start| *start <= at).checked_sub(1)?;
        let (start, shift) = (self.starts[index], &self.shifts[index]);
        if at >= shift.end {
            return None;
        }
        let last_override =
            self.shifts.get(index + 1).map_or(self.overrides.len(), |next| next.first_override as usize);
        let overrides = &self.overrides[shift.first_override as usize..last_override];
        let segment = segment_at(start, shift, overrides, at);
        let contact = |index: u32| self.contacts.get(index as usize).copied();
        Some(DispatchEntry {
            schedule_id: schedule.id,
            schedule_name: &schedule.name,
            time_zone: schedule.time_zone,
            on_call: OnCallEntry {
                shift_id: shift.id,
                rank: lane.rank,
                role: &lane.role,
                shift_name: &self.shift_names[shift.name as usize],
                shift_start: start,
                shift_end: shift.end,
                source: segment.source,
                contact_id: segment.contact.and_then(contact),
                override_id: segment.override_id,
                from: segment.from,
                until: segment.until,
            },
        })
    }
}

impl ShiftSlot {
    fn of(
        shift: &Shift,
        overrides: &mut Vec<OverrideSlot>,
        names: &mut Interned<Arc<str>>,
        contacts: &mut Interned<ContactId>,
    ) -> Self {
        let first_override = overrides.len() as u32;
        overrides.extend(shift.overrides.iter().map(|o| OverrideSlot {
            id: o.id,
            contact: contacts.index_of(&o.contact_id),
            start: o.start,
            end: o.end,
        }));
        Self {
            id: shift.id,
            end: shift.end,
            assignee: shift.assignee.map_or(NOBODY, |id| contacts.index_of(&id)),
            name: names.index_of(&shift.name),
            first_override,
        }
    }
}

/// Distinct values of an account (shift names, contacts), each once, in order of first use.
struct Interned<T> {
    list: Vec<T>,
    index: HashMap<T, u32>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Self { list: Vec::new(), index: HashMap::new() }
    }
}

impl<T: Clone + Eq + std::hash::Hash> Interned<T> {
    fn index_of(&mut self, value: &T) -> u32 {
        *self.index.entry(value.clone()).or_insert_with(|| {
            self.list.push(value.clone());
            self.list.len() as u32 - 1
        })
    }
}

struct SegmentAt {
    source: Source,
    /// In `contacts`; `None` for nobody.
    contact: Option<u32>,
    override_id: Option<OverrideId>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// The stretch of the shift containing `at`: an override, or the base contact (or nobody) between them.
fn segment_at(start: DateTime<Utc>, shift: &ShiftSlot, overrides: &[OverrideSlot], at: DateTime<Utc>) -> SegmentAt {
    let before = overrides.partition_point(|o| o.start <= at);
    let previous = before.checked_sub(1).map(|i| &overrides[i]);
    if let Some(o) = previous.filter(|o| at < o.end) {
        return SegmentAt {
            source: Source::Override,
            contact: Some(o.contact),
            override_id: Some(o.id),
            from: o.start,
            until: o.end,
        };
    }
    SegmentAt {
        source: if shift.assignee == NOBODY { Source::None } else { Source::Base },
        contact: (shift.assignee != NOBODY).then_some(shift.assignee),
        override_id: None,
        from: previous.map_or(start, |o| o.end),
        until: overrides.get(before).map_or(shift.end, |o| o.start),
    }
}
