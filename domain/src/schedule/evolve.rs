//! Folding schedule events into the state. Events are facts: nothing here refuses or fails, and an
//! event naming a shift the state does not know is ignored.

use std::collections::HashMap;
use std::sync::Arc;

use thin_vec::ThinVec;

use crate::schedule::events::*;
use crate::schedule::state::{Override, ScheduleInfo, ScheduleState, Series, Shift};

/// Applies one event to the schedule's state.
pub fn evolve(mut state: ScheduleState, event: &ScheduleEvent) -> ScheduleState {
    state.apply(event);
    state
}

impl ScheduleState {
    /// Applies one event in place; [`evolve`] is the same as a pure function.
    pub fn apply(&mut self, event: &ScheduleEvent) {
        self.version += 1;
        match event {
            ScheduleEvent::ScheduleCreated(e) => {
                self.info = Some(ScheduleInfo {
                    id: e.schedule_id,
                    account_id: e.account_id,
                    name: e.name.clone(),
                    time_zone: e.time_zone,
                    copied_from: None,
                    deleted: false,
                });
            }
            ScheduleEvent::ScheduleRenamed(e) => {
                if let Some(info) = &mut self.info {
                    info.name = e.name.clone();
                }
            }
            ScheduleEvent::ScheduleCopied(e) => self.apply_copy(e),
            ScheduleEvent::ScheduleDeleted(_) => {
                if let Some(info) = &mut self.info {
                    info.deleted = true;
                }
            }
            ScheduleEvent::ShiftAdded(e) => self.insert_shift(Shift {
                id: e.shift_id,
                start: e.start,
                end: e.end,
                rank: e.rank,
                name: e.name.as_str().into(),
                role: e.role.as_str().into(),
                series_id: None,
                assignee: None,
                assign_comment: None,
                overrides: ThinVec::new(),
                comments: ThinVec::new(),
            }),
            ScheduleEvent::SeriesCreated(e) => {
                let (name, role): (Arc<str>, Arc<str>) = (e.name.as_str().into(), e.role.as_str().into());
                for s in &e.shifts {
                    self.insert_shift(Shift {
                        id: s.shift_id,
                        start: s.start,
                        end: s.end,
                        rank: e.rank,
                        name: name.clone(),
                        role: role.clone(),
                        series_id: Some(e.series_id),
                        assignee: None,
                        assign_comment: None,
                        overrides: ThinVec::new(),
                        comments: ThinVec::new(),
                    });
                }
                self.series.insert(
                    e.series_id,
                    Series {
                        id: e.series_id,
                        rule: e.rule.clone(),
                        shift_ids: e.shifts.iter().map(|s| s.shift_id).collect(),
                    },
                );
            }
            ScheduleEvent::ShiftEdited(e) => {
                // Start, rank or role may move the shift in the lane index: take it out and back.
                if let Some(mut shift) = self.take_shift(e.shift_id) {
                    shift.start = e.start;
                    shift.end = e.end;
                    shift.rank = e.rank;
                    if *shift.name != *e.name {
                        shift.name = e.name.as_str().into();
                    }
                    if *shift.role != *e.role {
                        shift.role = e.role.as_str().into();
                    }
                    self.insert_shift(shift);
                }
            }
            // A removed shift keeps its place in its series: "assign recurring, every
            // 2nd" counts occurrences, so removing one week keeps the fortnightly rhythm.
            ScheduleEvent::ShiftRemoved(e) => {
                self.take_shift(e.shift_id);
            }
            ScheduleEvent::ShiftAssigned(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id) {
                    shift.assignee = Some(e.contact_id);
                    shift.assign_comment = e.comment.as_deref().map(Box::from);
                }
            }
            ScheduleEvent::OverrideAdded(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id) {
                    let at = shift.overrides.partition_point(|o| o.start < e.start);
                    shift.overrides.insert(
                        at,
                        Override {
                            id: e.override_id,
                            contact_id: e.contact_id,
                            start: e.start,
                            end: e.end,
                            comment: e.comment.clone(),
                        },
                    );
                }
            }
            ScheduleEvent::OverrideRemoved(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id) {
                    shift.overrides.retain(|o| o.id != e.override_id);
                }
            }
            ScheduleEvent::OverrideCutShort(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id)
                    && let Some(cut) = shift.overrides.iter_mut().find(|o| o.id == e.override_id)
                {
                    cut.end = e.end;
                }
            }
            ScheduleEvent::ShiftUnassigned(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id) {
                    shift.assignee = None;
                    shift.assign_comment = None;
                }
            }
            ScheduleEvent::ShiftsSwapped(e) => {
                // The assignment's comment travels with the contact.
                let comment_a = self.shifts.get(&e.shift_a).and_then(|s| s.assign_comment.clone());
                let comment_b = self.shifts.get(&e.shift_b).and_then(|s| s.assign_comment.clone());
                if let Some(a) = self.shifts.get_mut(&e.shift_a) {
                    a.assignee = e.contact_a;
                    a.assign_comment = comment_b;
                }
                if let Some(b) = self.shifts.get_mut(&e.shift_b) {
                    b.assignee = e.contact_b;
                    b.assign_comment = comment_a;
                }
            }
            ScheduleEvent::ShiftCommented(e) => {
                if let Some(shift) = self.shifts.get_mut(&e.shift_id) {
                    shift.comments.push(crate::schedule::state::Comment {
                        text: e.text.clone(),
                        at: e.at,
                        by: e.by.clone(),
                    });
                }
            }
        }
    }

    fn apply_copy(&mut self, e: &ScheduleCopied) {
        self.info = Some(ScheduleInfo {
            id: e.schedule_id,
            account_id: e.account_id,
            name: e.name.clone(),
            time_zone: e.time_zone,
            copied_from: Some(e.copied_from),
            deleted: false,
        });
        for s in &e.series {
            self.series
                .insert(s.series_id, Series { id: s.series_id, rule: s.rule.clone(), shift_ids: s.shift_ids.clone() });
        }
        // The copied shifts share their names and roles, as their originals did.
        let mut texts: HashMap<&str, Arc<str>> = HashMap::new();
        for r in &e.shifts {
            let name = texts.entry(&r.name).or_insert_with(|| r.name.as_str().into()).clone();
            let role = texts.entry(&r.role).or_insert_with(|| r.role.as_str().into()).clone();
            self.insert_shift(Shift {
                id: r.shift_id,
                start: r.start,
                end: r.end,
                rank: r.rank,
                name,
                role,
                series_id: r.series_id,
                assignee: r.assignee,
                assign_comment: None,
                overrides: r
                    .overrides
                    .iter()
                    .map(|o| Override {
                        id: o.override_id,
                        contact_id: o.contact_id,
                        start: o.start,
                        end: o.end,
                        comment: o.comment.clone(),
                    })
                    .collect(),
                comments: ThinVec::new(),
            });
        }
    }
}
