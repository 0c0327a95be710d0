//! Who is on call: the contact covering each shift at an instant, and the segments of a shift.
//!
//! Resolution uses the lane index of the state: in each (role, rank) lane a binary search finds the
//! one shift that can cover the instant, then a binary search in that shift's sorted overrides finds
//! the override covering it. Nothing scans every shift.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, OverrideId, ShiftId};
use crate::schedule::state::{ScheduleState, Shift};

/// Where the contact of a segment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Override,
    Base,
    /// Nobody: a gap that dispatch must see.
    None,
}

/// A stretch of a shift with one contact (or nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub source: Source,
    pub contact_id: Option<ContactId>,
    pub override_id: Option<OverrideId>,
}

/// One shift covering the asked instant, with whoever covers it then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCallEntry<'a> {
    pub shift_id: ShiftId,
    pub rank: u32,
    pub role: &'a str,
    pub shift_name: &'a str,
    pub shift_start: DateTime<Utc>,
    pub shift_end: DateTime<Utc>,
    pub source: Source,
    pub contact_id: Option<ContactId>,
    pub override_id: Option<OverrideId>,
    /// Start of the current segment.
    pub from: DateTime<Utc>,
    /// End of the current segment.
    pub until: DateTime<Utc>,
}

impl ScheduleState {
    /// Who is on call at `t`, one entry per shift covering `t`, in rank order (then role, then
    /// start). With `role`, only that role's shifts.
    pub fn on_call_at(&self, t: DateTime<Utc>, role: Option<&str>) -> Vec<OnCallEntry<'_>> {
        let mut entries: Vec<OnCallEntry<'_>> = self
            .lanes
            .iter()
            .filter(|(lane, _)| role.is_none_or(|r| super::same_role(&lane.role, r)))
            .filter_map(|(_, shifts)| {
                // The last shift starting at or before t is the only candidate in this lane.
                let (_, id) = shifts.starting_by(t).last()?;
                let shift = self.shifts.get(id)?;
                shift.covers(t).then(|| entry_at(shift, t))
            })
            .collect();
        entries.sort_by(|a, b| (a.rank, a.role, a.shift_start).cmp(&(b.rank, b.role, b.shift_start)));
        entries
    }

    /// The segments of a shift from its start to its end, in order; `None` for an unknown shift.
    pub fn segments(&self, shift_id: ShiftId) -> Option<Vec<Segment>> {
        self.shift(shift_id).map(Shift::segments)
    }
}

impl Shift {
    /// The segments covering this shift: overrides, and between them the base contact or a gap.
    pub fn segments(&self) -> Vec<Segment> {
        let mut segments = Vec::with_capacity(self.overrides.len() * 2 + 1);
        let mut cursor = self.start;
        for o in &self.overrides {
            if cursor < o.start {
                segments.push(self.base_segment(cursor, o.start));
            }
            segments.push(Segment {
                start: o.start,
                end: o.end,
                source: Source::Override,
                contact_id: Some(o.contact_id),
                override_id: Some(o.id),
            });
            cursor = o.end;
        }
        if cursor < self.end {
            segments.push(self.base_segment(cursor, self.end));
        }
        segments
    }

    /// The segment containing `t`, which must lie inside the shift.
    pub fn segment_at(&self, t: DateTime<Utc>) -> Segment {
        // Overrides are sorted and disjoint: those starting at or before t come first.
        let before = self.overrides.partition_point(|o| o.start <= t);
        let previous = before.checked_sub(1).map(|i| &self.overrides[i]);
        if let Some(o) = previous.filter(|o| t < o.end) {
            return Segment {
                start: o.start,
                end: o.end,
                source: Source::Override,
                contact_id: Some(o.contact_id),
                override_id: Some(o.id),
            };
        }
        let from = previous.map_or(self.start, |o| o.end);
        let until = self.overrides.get(before).map_or(self.end, |o| o.start);
        self.base_segment(from, until)
    }

    fn base_segment(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Segment {
        Segment {
            start,
            end,
            source: if self.assignee.is_some() { Source::Base } else { Source::None },
            contact_id: self.assignee,
            override_id: None,
        }
    }
}

fn entry_at(shift: &Shift, t: DateTime<Utc>) -> OnCallEntry<'_> {
    let segment = shift.segment_at(t);
    OnCallEntry {
        shift_id: shift.id,
        rank: shift.rank,
        role: &shift.role,
        shift_name: &shift.name,
        shift_start: shift.start,
        shift_end: shift.end,
        source: segment.source,
        contact_id: segment.contact_id,
        override_id: segment.override_id,
        from: segment.start,
        until: segment.end,
    }
}
