//! A schedule range as an iCalendar (RFC 5545) document that calendar apps subscribe to: one event per segment.
//!
//! Instants are written in UTC, so no VTIMEZONE is needed and a daylight-saving change cannot shift
//! an event; the calendar app shows each one in its user's zone. A segment's UID is its shift's id
//! and its start, so an app refreshing the feed updates the same event when only the contact changes.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, Property};

use crate::export::{Roster, Row};
use vigie_domain::schedule::Source;

/// How often calendar apps should fetch the feed again.
const REFRESH_MINUTES: i64 = 60;

/// The iCalendar text of a roster; `now` stamps the events (DTSTAMP).
pub fn render(roster: &Roster, now: DateTime<Utc>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Vigie//On-call schedule//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name(&format!("{} – {}", roster.schedule, roster.account))
        .timezone(roster.time_zone.name())
        .ttl(&chrono::Duration::minutes(REFRESH_MINUTES));
    calendar.extend(roster.rows.iter().map(|row| event(row, now)));
    calendar.done().to_string()
}

/// A stable UID: the shift and the segment's start identify the segment across refreshes.
pub fn uid(row: &Row) -> String {
    format!("{}-{}@vigie", row.shift_id, row.start.format("%Y%m%dT%H%M%SZ"))
}

fn event(row: &Row, now: DateTime<Utc>) -> Event {
    Event::new()
        .uid(&uid(row))
        .timestamp(now)
        .starts(row.start)
        .ends(row.end)
        .summary(&summary(row))
        .description(&description(row))
        // Being on call does not make anyone busy: the feed must not block their agenda.
        .add_property("TRANSP", "TRANSPARENT")
        .done()
}

/// "On call: Luc Lambert (Rotation, rank 0)", or "Not covered (Rotation, rank 0)" for a gap.
pub fn summary(row: &Row) -> String {
    let shift = format!("({}, rank {})", row.shift_name, row.rank);
    match &row.contact {
        Some(contact) => format!("On call: {} {shift}", contact.name),
        None => format!("Not covered {shift}"),
    }
}

fn description(row: &Row) -> String {
    let mut lines = vec![format!("Shift: {}, role {}, rank {}", row.shift_name, row.role, row.rank)];
    match &row.contact {
        Some(contact) => {
            if row.source == Source::Override {
                lines.push(format!("{} covers this part of the shift (override).", contact.name));
            }
            if !contact.active {
                lines.push(format!("{} is deactivated in the directory.", contact.name));
            }
            for (n, phone) in contact.phones.iter().enumerate() {
                lines.push(format!("Tel ({}): {phone}", n + 1));
            }
            if let Some(sms) = &contact.sms {
                lines.push(format!("SMS: {sms}"));
            }
        }
        None => lines.push("Nobody is on call for this part of the shift.".into()),
    }
    if let Some(comment) = &row.comment {
        lines.push(format!("Comment: {comment}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use icalendar::{Calendar, CalendarDateTime, Component, DatePerhapsTime};

    use crate::export::sample_roster;

    fn utc(instant: Option<DatePerhapsTime>) -> DateTime<Utc> {
        match instant {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t,
            other => panic!("expected an instant in UTC, got {other:?}"),
        }
    }

    #[test]
    fn the_feed_parses_back_with_one_event_per_segment_across_the_clock_change() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let text = super::render(&sample_roster(), now);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"), "{text}");
        // RFC 5545 folds lines longer than 75 octets.
        assert!(text.split("\r\n").all(|line| line.len() <= 75), "a line is not folded:\n{text}");

        let calendar: Calendar = text.parse().expect("the feed parses as iCalendar");
        let events: Vec<_> = calendar.events().collect();
        let summaries: Vec<&str> = events.iter().filter_map(|e| e.get_summary()).collect();
        assert_eq!(
            summaries,
            [
                "On call: Anthony Giosi (Rotation, rank 0)",
                "On call: Luc Lambert (Rotation, rank 0)",
                "On call: Rémi Côté (Rotation, rank 0)",
                "Not covered (Rotation, rank 0)",
            ]
        );
        // 07:30 in Toronto is 12:30 UTC before 8 March and 11:30 UTC after: the first week lasts 167 hours.
        let first = events[0];
        assert_eq!(utc(first.get_start()), Utc.with_ymd_and_hms(2026, 3, 2, 12, 30, 0).unwrap());
        assert_eq!(utc(first.get_end()), Utc.with_ymd_and_hms(2026, 3, 9, 11, 30, 0).unwrap());
        assert!(text.contains("DTSTART:20260302T123000Z") && text.contains("DTEND:20260309T113000Z"), "{text}");

        let description = first.get_description().expect("a description");
        assert!(description.contains("Tel (1): 514-555-0145"), "{description}");
        assert!(description.contains("Comment: Back from leave"), "{description}");
        let covering = events[1].get_description().expect("a description");
        assert!(covering.contains("Luc Lambert covers this part of the shift (override)."), "{covering}");

        let uids: std::collections::HashSet<&str> = events.iter().filter_map(|e| e.get_uid()).collect();
        assert_eq!(uids.len(), 4, "UIDs repeat: {uids:?}");
        let again = super::render(&sample_roster(), now + chrono::Duration::hours(1));
        let shift_uid = events[0].get_uid().expect("a UID");
        assert!(shift_uid.ends_with("-20260302T123000Z@vigie"), "{shift_uid}");
        assert_ne!(again, text, "DTSTAMP follows the time of the fetch");
    }

    #[test]
    fn commas_semicolons_and_newlines_in_comments_are_escaped() {
        let mut roster = sample_roster();
        roster.rows[0].comment = Some("Call Luc; then Anthony, if\nneeded".into());
        let text = super::render(&roster, Utc::now());
        assert!(text.contains(r"Call Luc\; then Anthony\, if\nneeded"), "{text}");
        let calendar: Calendar = text.parse().expect("the feed parses as iCalendar");
        let description = calendar.events().next().and_then(|e| e.get_description().map(str::to_owned));
        assert!(description.is_some_and(|d| d.contains("Call Luc; then Anthony, if\nneeded")));
    }
}
