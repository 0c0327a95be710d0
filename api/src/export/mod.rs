//! Exports of a schedule range for people outside the portal: a PDF to print or share, and an iCalendar feed.
//!
//! Both renderers work from a [`Roster`]: a plain copy of what the range shows, taken from the live
//! model under its read lock, so that rendering (the slow part) holds no lock.

pub mod feeds;
pub mod ical;
pub mod pdf;
mod pdf_fonts;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use vigie_domain::schedule::{ScheduleState, Source, Summary};
use vigie_domain::{ContactId, ShiftId};
use vigie_projections::live::LiveModel;

/// What a schedule range shows: one row per segment, in the order of the roster.
#[derive(Debug, Clone)]
pub struct Roster {
    /// The account's number and name, e.g. "4000 Demo Genesis".
    pub account: String,
    pub schedule: String,
    pub time_zone: Tz,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub rows: Vec<Row>,
    pub summary: Summary,
}

/// One segment of a shift: a stretch of time with one contact, or nobody.
#[derive(Debug, Clone)]
pub struct Row {
    pub shift_id: ShiftId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rank: u32,
    pub shift_name: String,
    pub role: String,
    /// Who covers the segment; `None` is a gap.
    pub contact: Option<OnCall>,
    /// `Override` when a covering contact replaces the base contact here.
    pub source: Source,
    /// The override's comment, or the assignment's comment and the shift's notes.
    pub comment: Option<String>,
}

/// The contact covering a segment, as a printed roster needs it.
#[derive(Debug, Clone)]
pub struct OnCall {
    pub id: ContactId,
    pub name: String,
    pub phones: Vec<String>,
    pub sms: Option<String>,
    /// Deactivated contacts stay on the roster, flagged, until someone replaces them.
    pub active: bool,
}

impl Roster {
    /// The segments of every shift overlapping `[from, to)` as the schedule stands in `state`.
    pub fn new(live: &LiveModel, state: &ScheduleState, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let info = state.info();
        let account = info
            .and_then(|i| live.account(i.account_id))
            .map(|a| format!("{} {}", a.number, a.name))
            .unwrap_or_default();
        let mut rows = Vec::new();
        for shift in state.shifts_overlapping(from, to) {
            let notes = shift_notes(shift.assign_comment.as_deref(), shift.comments.iter().map(|c| c.text.as_str()));
            for segment in shift.segments().into_iter().filter(|s| s.end > from && s.start < to) {
                let comment = match segment.override_id.and_then(|id| shift.find_override(id)) {
                    Some(o) => o.comment.clone(),
                    None => notes.clone(),
                };
                rows.push(Row {
                    shift_id: shift.id,
                    start: segment.start,
                    end: segment.end,
                    rank: shift.rank,
                    shift_name: shift.name.to_string(),
                    role: shift.role.to_string(),
                    contact: segment.contact_id.map(|id| on_call(live, id)),
                    source: segment.source,
                    comment,
                });
            }
        }
        Self {
            account,
            schedule: info.map(|i| i.name.clone()).unwrap_or_default(),
            time_zone: state.time_zone(),
            from,
            to,
            rows,
            summary: state.summary(from, to),
        }
    }
}

/// The assignment's comment and the shift's notes, on one line.
fn shift_notes<'a>(assign_comment: Option<&'a str>, comments: impl Iterator<Item = &'a str>) -> Option<String> {
    let all: Vec<&str> = assign_comment.into_iter().chain(comments).filter(|c| !c.trim().is_empty()).collect();
    (!all.is_empty()).then(|| all.join("; "))
}

fn on_call(live: &LiveModel, id: ContactId) -> OnCall {
    match live.contact(id) {
        Some(c) => OnCall {
            id,
            name: c.details.name.clone(),
            phones: c.details.phones.clone(),
            sms: c.details.sms.clone(),
            active: c.active,
        },
        // A contact the model does not know cannot come from the log; show the gap rather than fail.
        None => OnCall { id, name: "(unknown contact)".into(), phones: vec![], sms: None, active: false },
    }
}

/// How the summary line reads in both exports, as in the manual.
pub fn summary_line(summary: &Summary) -> String {
    format!(
        "{} assigned {} unassigned · Total hours assigned: {:.2}",
        summary.assigned, summary.unassigned, summary.hours_assigned
    )
}

/// A roster like the manual's: weekly 07:30 rotations in Toronto across the spring daylight-saving
/// change (8 March 2026), with an override, a gap and an accented name.
#[cfg(test)]
pub(crate) fn sample_roster() -> Roster {
    use chrono::NaiveDate;
    use vigie_domain::schedule::local_to_utc;

    let tz = chrono_tz::America::Toronto;
    let at = |day: u32, hour: u32, minute: u32| {
        let local = NaiveDate::from_ymd_opt(2026, 3, day).and_then(|d| d.and_hms_opt(hour, minute, 0));
        local_to_utc(tz, local.expect("a valid local time"))
    };
    let person = |name: &str, phone: &str| OnCall {
        id: ContactId::new_v7(),
        name: name.into(),
        phones: vec![phone.into()],
        sms: Some("514-555-0100".into()),
        active: true,
    };
    let week = |shift_id, start, end, contact: Option<OnCall>, source, comment: Option<&str>| Row {
        shift_id,
        start,
        end,
        rank: 0,
        shift_name: "Rotation".into(),
        role: "OC".into(),
        contact,
        source,
        comment: comment.map(Into::into),
    };
    let (first, second) = (ShiftId::new_v7(), ShiftId::new_v7());
    let rows = vec![
        week(
            first,
            at(2, 7, 30),
            at(9, 7, 30),
            Some(person("Anthony Giosi", "514-555-0145")),
            Source::Base,
            Some("Back from leave"),
        ),
        week(second, at(9, 7, 30), at(11, 19, 0), Some(person("Luc Lambert", "438-555-0167")), Source::Override, None),
        week(second, at(11, 19, 0), at(12, 7, 30), Some(person("Rémi Côté", "819-555-0123")), Source::Base, None),
        week(second, at(12, 7, 30), at(16, 7, 30), None, Source::None, None),
    ];
    Roster {
        account: "4000 Demo Genesis".into(),
        schedule: "01 Horaire".into(),
        time_zone: tz,
        from: at(2, 0, 0),
        to: at(16, 0, 0),
        rows,
        summary: Summary { assigned: 0, unassigned: 2, hours_assigned: 16.5 },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use vigie_domain::schedule::{
        OverrideAdded, ScheduleCreated, ScheduleEvent, ShiftAdded, ShiftAssigned, ShiftCommented, Source,
    };
    use vigie_domain::{AccountId, Aggregate, Contact, ContactId, OverrideId, Schedule, ScheduleId, ShiftId};
    use vigie_eventstore::{Metadata, StoredEvent};
    use vigie_projections::live::LiveModel;

    use super::Roster;

    /// A contact as the log records it, for the live model to learn its name and phones.
    fn contact_added(id: ContactId, account_id: AccountId, name: &str, phone: &str) -> StoredEvent {
        let data = json!({"contact_id": id, "account_id": account_id, "name": name, "phones": [phone],
                          "sms": null, "email": null, "notes": null});
        StoredEvent {
            position: 1,
            event_id: uuid::Uuid::now_v7(),
            stream_id: Contact::stream_id(id),
            stream_version: 1,
            event_type: "ContactAdded".into(),
            schema_version: 1,
            data: serde_json::value::to_raw_value(&data).expect("JSON"),
            metadata: Metadata::default(),
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn an_override_splits_its_shift_into_rows_with_their_own_contact_and_comment() {
        let tz = chrono_tz::America::Toronto;
        let at = |day, hour| tz.with_ymd_and_hms(2026, 5, day, hour, 30, 0).unwrap().with_timezone(&Utc);
        let (account_id, anthony, luc) = (AccountId::new_v7(), ContactId::new_v7(), ContactId::new_v7());
        let mut live = LiveModel::default();
        live.apply(&contact_added(anthony, account_id, "Anthony Giosi", "514-555-0145"));
        live.apply(&contact_added(luc, account_id, "Luc Lambert", "438-555-0167"));

        let shift_id = ShiftId::new_v7();
        let schedule_id = ScheduleId::new_v7();
        let events = [
            ScheduleEvent::ScheduleCreated(ScheduleCreated {
                schedule_id,
                account_id,
                name: "01 Horaire".into(),
                time_zone: tz,
            }),
            ScheduleEvent::ShiftAdded(ShiftAdded {
                shift_id,
                start: at(4, 7),
                end: at(11, 7),
                rank: 0,
                name: "Rotation".into(),
                role: "OC".into(),
                reason: None,
            }),
            ScheduleEvent::ShiftAssigned(ShiftAssigned {
                shift_id,
                contact_id: anthony,
                comment: Some("Back from leave".into()),
                reason: None,
            }),
            ScheduleEvent::OverrideAdded(OverrideAdded {
                override_id: OverrideId::new_v7(),
                shift_id,
                contact_id: luc,
                start: at(5, 7),
                end: at(6, 7),
                comment: Some("Dentist".into()),
                reason: None,
            }),
            ScheduleEvent::ShiftCommented(ShiftCommented {
                shift_id,
                text: "Cell phone first after 22:00".into(),
                by: "4000-TEST".into(),
                at: at(1, 9),
                reason: None,
            }),
        ];
        let state = Schedule::replay(&events);
        let roster = Roster::new(&live, &state, at(1, 0), at(31, 0));

        let rows: Vec<(&str, Source, Option<&str>)> = roster
            .rows
            .iter()
            .map(|r| (r.contact.as_ref().map_or("", |c| c.name.as_str()), r.source, r.comment.as_deref()))
            .collect();
        let notes = Some("Back from leave; Cell phone first after 22:00");
        assert_eq!(
            rows,
            [
                ("Anthony Giosi", Source::Base, notes),
                ("Luc Lambert", Source::Override, Some("Dentist")),
                ("Anthony Giosi", Source::Base, notes),
            ]
        );
        assert_eq!(roster.rows[1].contact.as_ref().map(|c| c.phones.clone()), Some(vec!["438-555-0167".to_owned()]));
        assert_eq!(super::summary_line(&roster.summary), "1 assigned 0 unassigned · Total hours assigned: 168.00");

        // A range ending inside the override leaves out what comes after it.
        let part = Roster::new(&live, &state, at(1, 0), at(5, 19));
        assert_eq!(part.rows.len(), 2);
        assert_eq!(part.summary.hours_assigned, 36.0);
    }
}
