//! Who is on call: assign, assign recurring, override, unassign, swap, comment, and the rules for
//! shifts that have ended.

use chrono::NaiveDate;
use vigie_domain::schedule::*;
use vigie_domain::testing::given;
use vigie_domain::*;

use crate::support::*;

fn assign(n: u128, c: u128) -> AssignCommand {
    AssignCommand { shift_id: shift(n), contact: facts(c), comment: None, recurring: None }
}

fn override_of(o: u128, n: u128, c: u128, start: &str, end: &str) -> OverrideCommand {
    OverrideCommand {
        override_id: override_id(o),
        shift_id: shift(n),
        contact: facts(c),
        start: t(start),
        end: t(end),
        comment: None,
    }
}

const MAY_01: &str = "2023-05-01T07:30:00-04:00";
const MAY_03: &str = "2023-05-03T07:30:00-04:00";
const MAY_05: &str = "2023-05-05T07:30:00-04:00";
const MAY_08: &str = "2023-05-08T07:30:00-04:00";

fn contact_on_call(state: &ScheduleState, at: &str) -> Option<ContactId> {
    state.on_call_at(t(at), None).first().and_then(|e| e.contact_id)
}

#[test]
fn a_client_assigns_a_shift_with_a_comment() {
    let command = AssignCommand { comment: Some("semaine de Patrick".into()), ..assign(2, 1) };
    let state = given::<Schedule>(manual_schedule()).when(command, &client()).then([ShiftAssigned {
        shift_id: shift(2),
        contact_id: contact(1),
        comment: Some("semaine de Patrick".into()),
        reason: None,
    }
    .into()]);
    assert_eq!(contact_on_call(&state, "2023-05-02T00:00:00-04:00"), Some(contact(1)));
}

#[test]
fn assigning_replaces_the_earlier_base_contact() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    let state = given::<Schedule>(events).when(assign(2, 2), &client()).state_after();
    assert_eq!(state.shift(shift(2)).and_then(|s| s.assignee), Some(contact(2)));
}

#[test]
fn assigning_the_contact_a_shift_already_has_records_nothing() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    given::<Schedule>(events.clone()).when(assign(2, 1), &client()).then([]);
    // A new comment is news, though.
    let with_comment = AssignCommand { comment: Some("encore lui".into()), ..assign(2, 1) };
    given::<Schedule>(events).when(with_comment, &client()).then([ShiftAssigned {
        shift_id: shift(2),
        contact_id: contact(1),
        comment: Some("encore lui".into()),
        reason: None,
    }
    .into()]);
}

#[test]
fn a_deactivated_contact_cannot_be_assigned() {
    let mut command = assign(2, 1);
    command.contact.active = false;
    let error = given::<Schedule>(manual_schedule())
        .when(command, &client())
        .then_error("This contact is deactivated and cannot be assigned.");
    assert_eq!(error.code(), "contact_inactive");
    let mut command = override_of(1, 2, 1, MAY_01, MAY_03);
    command.contact.active = false;
    given::<Schedule>(manual_schedule())
        .when(command, &client())
        .then_error("This contact is deactivated and cannot be assigned.");
}

#[test]
fn a_contact_of_another_account_cannot_be_assigned() {
    let mut command = assign(2, 1);
    command.contact.account_id = other_account();
    given::<Schedule>(manual_schedule())
        .when(command, &client())
        .then_error("This contact belongs to another account.");
}

#[test]
fn assigning_an_unknown_shift_is_refused() {
    let error =
        given::<Schedule>(manual_schedule()).when(assign(9, 1), &client()).then_error("This shift does not exist.");
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

fn weekly_series(weeks: u32) -> Vec<ScheduleEvent> {
    let command = crate::schedules::weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(weeks));
    let mut events = vec![created()];
    events.extend(given::<Schedule>([created()]).when(command, &operator()).events());
    events
}

fn series_shift_ids(events: &[ScheduleEvent]) -> Vec<ShiftId> {
    state_of(events).shifts().iter().map(|s| s.id).collect()
}

/// The shifts an assignment's events put the contact on, in order; any other event fails the test.
fn assigned_shifts(events: &[ScheduleEvent]) -> Vec<ShiftId> {
    events
        .iter()
        .map(|e| match e {
            ScheduleEvent::ShiftAssigned(a) => a.shift_id,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn assign_recurring_sets_this_and_the_following_shifts_of_the_series() {
    let events = weekly_series(6);
    let ids = series_shift_ids(&events);
    let command = AssignCommand {
        shift_id: ids[1],
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 2, until: None }),
    };
    let assigned = assigned_shifts(&given::<Schedule>(events.clone()).when(command, &client()).events());
    assert_eq!(assigned, [ids[1], ids[3], ids[5]]);

    let until = NaiveDate::from_ymd_opt(2023, 5, 22).expect("date");
    let command = AssignCommand {
        shift_id: ids[0],
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 1, until: Some(until) }),
    };
    assert_eq!(given::<Schedule>(events).when(command, &client()).events().len(), 4);
}

#[test]
fn assign_recurring_keeps_its_rhythm_when_a_shift_of_the_series_was_removed() {
    let mut events = weekly_series(6);
    let ids = series_shift_ids(&events);
    events.push(ShiftRemoved { shift_id: ids[1] }.into());
    let command = AssignCommand {
        shift_id: ids[0],
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 2, until: None }),
    };
    let assigned = assigned_shifts(&given::<Schedule>(events).when(command, &client()).events());
    assert_eq!(assigned, [ids[0], ids[2], ids[4]], "every other week, as the series was laid out");
}

#[test]
fn assign_recurring_refuses_a_last_date_before_the_shift() {
    let events = weekly_series(3);
    let ids = series_shift_ids(&events);
    let before = NaiveDate::from_ymd_opt(2023, 4, 30).expect("date");
    let command = AssignCommand {
        shift_id: ids[0],
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 1, until: Some(before) }),
    };
    let error = given::<Schedule>(events.clone())
        .when(command.clone(), &client())
        .then_error("The last date to repeat to comes before this shift.");
    assert_eq!(error.code(), "until_before_shift");
    // The shift's own date is enough to assign it alone.
    let first_day = state_of(&events).shift(ids[0]).expect("shift").start.date_naive();
    let command = AssignCommand { recurring: Some(Recurrence { every: 1, until: Some(first_day) }), ..command };
    assert_eq!(given::<Schedule>(events).when(command, &client()).events().len(), 1);
}

#[test]
fn assign_recurring_needs_a_series() {
    let command = AssignCommand { recurring: Some(Recurrence { every: 1, until: None }), ..assign(2, 1) };
    given::<Schedule>(manual_schedule())
        .when(command, &client())
        .then_error("Assign Recurring needs a shift that belongs to a series.");
}

#[test]
fn an_override_inside_the_shift_is_added() {
    let command = OverrideCommand { comment: Some("Luc remplace".into()), ..override_of(1, 2, 8, MAY_01, MAY_03) };
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    let state = given::<Schedule>(events).when(command, &client()).then([OverrideAdded {
        override_id: override_id(1),
        shift_id: shift(2),
        contact_id: contact(8),
        start: t(MAY_01),
        end: t(MAY_03),
        comment: Some("Luc remplace".into()),
        reason: None,
    }
    .into()]);
    assert_eq!(contact_on_call(&state, "2023-05-02T00:00:00-04:00"), Some(contact(8)));
    assert_eq!(contact_on_call(&state, "2023-05-04T00:00:00-04:00"), Some(contact(1)));
}

#[test]
fn an_override_may_not_start_before_the_shift() {
    // The manual's own example: 04/30 7:30 AM on a shift starting 5/01 7:30 am.
    let error = given::<Schedule>(manual_schedule())
        .when(override_of(1, 2, 8, "2023-04-30T07:30:00-04:00", MAY_03), &client())
        .then_error("The start time cannot occur before the original shift start time.");
    assert_eq!(error.code(), "override_starts_before_shift");
    assert_eq!(error.kind(), ErrorKind::Rejected);
}

#[test]
fn an_override_may_not_end_after_the_shift() {
    let error = given::<Schedule>(manual_schedule())
        .when(override_of(1, 2, 8, MAY_05, "2023-05-08T08:00:00-04:00"), &client())
        .then_error("The end time cannot occur after the original shift end time.");
    assert_eq!(error.code(), "override_ends_after_shift");
}

#[test]
fn an_override_ends_after_it_starts() {
    given::<Schedule>(manual_schedule())
        .when(override_of(1, 2, 8, MAY_03, MAY_03), &client())
        .then_error("The end time must be after the start time.");
}

#[test]
fn overlapping_overrides_are_refused_naming_the_collision() {
    let mut events = manual_schedule();
    events.push(override_added(1, 2, 8, MAY_01, MAY_03));
    events.push(override_added(2, 2, 9, MAY_05, MAY_08));
    let error = given::<Schedule>(events.clone())
        .when(override_of(3, 2, 7, "2023-05-04T07:30:00-04:00", "2023-05-06T07:30:00-04:00"), &client())
        .then_error(&format!("This override overlaps override {}.", override_id(2)));
    assert_eq!(error, DomainError::OverrideOverlaps { conflicting_override_id: override_id(2) });
    assert_eq!(error.code(), "override_overlaps");
    // Touching the neighbours exactly is fine: several overrides may fill a shift.
    let state = given::<Schedule>(events).when(override_of(3, 2, 7, MAY_03, MAY_05), &client()).state_after();
    let sources: Vec<_> = state.segments(shift(2)).expect("shift").iter().map(|s| s.contact_id).collect();
    assert_eq!(sources, [Some(contact(8)), Some(contact(7)), Some(contact(9))]);
}

#[test]
fn unassigning_an_override_gives_the_time_back_to_the_base_contact() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    events.push(override_added(1, 2, 8, MAY_01, MAY_03));
    let state = given::<Schedule>(events)
        .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(1)) }, &client())
        .then([OverrideRemoved {
            override_id: override_id(1),
            shift_id: shift(2),
            contact_id: contact(8),
            reason: None,
        }
        .into()]);
    assert_eq!(contact_on_call(&state, "2023-05-02T00:00:00-04:00"), Some(contact(1)));
}

#[test]
fn unassigning_the_base_empties_the_shift_and_keeps_overrides() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    events.push(override_added(1, 2, 8, MAY_01, MAY_03));
    let state = given::<Schedule>(events)
        .when(UnassignCommand { shift_id: shift(2), override_id: None }, &client())
        .then([ShiftUnassigned { shift_id: shift(2), contact_id: contact(1), reason: None }.into()]);
    assert_eq!(contact_on_call(&state, "2023-05-02T00:00:00-04:00"), Some(contact(8)));
    let gap = &state.on_call_at(t("2023-05-04T00:00:00-04:00"), None)[0];
    assert_eq!((gap.source, gap.contact_id), (Source::None, None));
}

#[test]
fn unassigning_nothing_is_refused() {
    given::<Schedule>(manual_schedule())
        .when(UnassignCommand { shift_id: shift(2), override_id: None }, &client())
        .then_error("This shift has no base contact to unassign.");
    given::<Schedule>(manual_schedule())
        .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(5)) }, &client())
        .then_error("This override does not exist.");
}

#[test]
fn swap_exchanges_the_base_contacts() {
    let mut events = manual_schedule();
    events.push(assigned(1, 1));
    let state = given::<Schedule>(events)
        .when(SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![] }, &client())
        .then([ShiftsSwapped {
            shift_a: shift(1),
            shift_b: shift(2),
            contact_a: None,
            contact_b: Some(contact(1)),
            reason: None,
        }
        .into()]);
    assert_eq!(state.shift(shift(1)).and_then(|s| s.assignee), None);
    assert_eq!(state.shift(shift(2)).and_then(|s| s.assignee), Some(contact(1)));
}

#[test]
fn swap_may_not_put_a_deactivated_contact_on_a_shift() {
    let mut events = manual_schedule();
    events.push(assigned(1, 1));
    events.push(assigned(2, 2));
    for inactive in [contact(1), contact(2)] {
        let command = SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![inactive] };
        let error = given::<Schedule>(events.clone())
            .when(command, &client())
            .then_error("This contact is deactivated and cannot be assigned.");
        assert_eq!(error.code(), "contact_inactive");
    }
    // A deactivated contact elsewhere in the directory does not matter.
    let command = SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![contact(3)] };
    assert_eq!(given::<Schedule>(events).when(command, &client()).events().len(), 1);
}

#[test]
fn swapping_two_shifts_with_the_same_contact_or_none_changes_nothing() {
    given::<Schedule>(manual_schedule())
        .when(SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![] }, &client())
        .then([]);
    let mut events = manual_schedule();
    events.push(assigned(1, 1));
    events.push(assigned(2, 1));
    given::<Schedule>(events)
        .when(SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![] }, &client())
        .then([]);
}

#[test]
fn swap_needs_two_different_known_shifts() {
    given::<Schedule>(manual_schedule())
        .when(SwapCommand { shift_a: shift(1), shift_b: shift(1), inactive_contacts: vec![] }, &client())
        .then_error("Choose two different shifts to swap.");
    given::<Schedule>(manual_schedule())
        .when(SwapCommand { shift_a: shift(1), shift_b: shift(9), inactive_contacts: vec![] }, &client())
        .then_error("This shift does not exist.");
}

#[test]
fn a_comment_is_kept_with_its_author_and_changes_nobody_on_call() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    let before = state_of(&events);
    let state = given::<Schedule>(events)
        .when(CommentCommand { shift_id: shift(2), text: "Luc Lambert de garde".into() }, &client())
        .then([ShiftCommented {
            shift_id: shift(2),
            text: "Luc Lambert de garde".into(),
            by: "anthony".into(),
            at: t(NOW),
            reason: None,
        }
        .into()]);
    let at = t("2023-05-02T00:00:00-04:00");
    assert_eq!(state.on_call_at(at, None), before.on_call_at(at, None));
    assert_eq!(state.shift(shift(2)).map(|s| s.comments.len()), Some(1));
}

#[test]
fn a_blank_comment_is_refused() {
    given::<Schedule>(manual_schedule())
        .when(CommentCommand { shift_id: shift(2), text: "  ".into() }, &client())
        .then_error("The comment cannot be empty.");
    let long = "x".repeat(2001);
    given::<Schedule>(manual_schedule())
        .when(CommentCommand { shift_id: shift(2), text: long }, &client())
        .then_error("The comment cannot be longer than 2000 characters.");
}

/// Shift 2 (5/01 7:30 → 5/08 7:30) has been running for a day and a half.
const DURING_SHIFT_2: &str = "2023-05-02T19:30:00-04:00";

#[test]
fn clients_cannot_change_who_was_on_call_on_the_elapsed_part_of_a_running_shift() {
    let mut events = manual_schedule();
    events.extend([assigned(1, 1), assigned(2, 2), override_added(7, 2, 3, MAY_01, "2023-05-02T07:30:00-04:00")]);
    let ctx = client_at(DURING_SHIFT_2);
    let ended = given::<Schedule>(events.clone())
        .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(7)) }, &ctx)
        .then_error("This override has already ended; who was on call then stays as it was.");
    assert_eq!((ended.code(), ended.kind()), ("override_ended", ErrorKind::Forbidden));
    let commands: Vec<ScheduleCommand> = vec![
        assign(2, 4).into(),
        override_of(8, 2, 4, "2023-05-02T12:00:00-04:00", MAY_08).into(),
        UnassignCommand { shift_id: shift(2), override_id: None }.into(),
        SwapCommand { shift_a: shift(2), shift_b: shift(3), inactive_contacts: vec![] }.into(),
    ];
    let mut events_with_a_future_shift = events.clone();
    events_with_a_future_shift.push(shift_added(3, MAY_08, "2023-05-15T07:30:00-04:00"));
    events_with_a_future_shift.push(assigned(3, 5));
    for command in commands {
        let error = given::<Schedule>(events_with_a_future_shift.clone()).when(command, &ctx).then_error(
            "Clients cannot change who was on call before now. On a shift that has started, add an override \
                 that starts now to change who is on call from now on.",
        );
        assert_eq!((error.code(), error.kind()), ("past_on_call", ErrorKind::Forbidden));
    }
}

#[test]
fn on_a_running_shift_a_client_changes_who_is_on_call_from_now_on() {
    let events = manual_schedule();
    // The client's clock says 19:28; the server reads the request at 19:30.
    let from_now = override_of(8, 2, 4, "2023-05-02T19:28:00-04:00", MAY_08);
    let state = given::<Schedule>(events.clone()).when(from_now, &client_at(DURING_SHIFT_2)).state_after();
    assert_eq!(contact_on_call(&state, "2023-05-03T00:00:00-04:00"), Some(contact(4)));
    // A comment changes nobody's duty: it is welcome on a running shift.
    given::<Schedule>(events)
        .when(CommentCommand { shift_id: shift(2), text: "Luc prend le relais".into() }, &client_at(DURING_SHIFT_2))
        .events();
}

#[test]
fn operators_change_the_elapsed_part_of_a_running_shift_only_with_a_reason() {
    let mut events = manual_schedule();
    events.push(assigned(2, 2));
    let error = given::<Schedule>(events.clone())
        .when(assign(2, 4), &operator_at(DURING_SHIFT_2))
        .then_error("This changes who was on call before now: give a written reason.");
    assert_eq!(error.code(), "past_on_call_needs_reason");
    given::<Schedule>(events)
        .when(assign(2, 4), &operator_at(DURING_SHIFT_2).with_reason("Anthony était malade depuis lundi"))
        .then([ShiftAssigned {
            shift_id: shift(2),
            contact_id: contact(4),
            comment: None,
            reason: Some("Anthony était malade depuis lundi".into()),
        }
        .into()]);
}

#[test]
fn unassigning_a_running_override_ends_it_now_and_the_base_contact_covers_again() {
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), override_added(8, 2, 4, "2023-05-02T07:30:00-04:00", MAY_08)]);
    // A client's reason changes nothing: only an operator's removes the override whole.
    let with_reason = client_at(DURING_SHIFT_2).with_reason("Luc est rentré");
    for ctx in [client_at(DURING_SHIFT_2), operator_at(DURING_SHIFT_2), with_reason] {
        let state = given::<Schedule>(events.clone())
            .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(8)) }, &ctx)
            .then([OverrideCutShort {
                override_id: override_id(8),
                shift_id: shift(2),
                contact_id: contact(4),
                end: t(DURING_SHIFT_2),
            }
            .into()]);
        // Who covered the elapsed part is what dispatch acted on, and stays.
        assert_eq!(contact_on_call(&state, "2023-05-02T12:00:00-04:00"), Some(contact(4)));
        assert_eq!(contact_on_call(&state, "2023-05-03T00:00:00-04:00"), Some(contact(1)));
    }
}

#[test]
fn a_running_override_is_cut_at_the_next_whole_second_so_the_past_stays_as_it_was() {
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), override_added(8, 2, 4, "2023-05-02T07:30:00-04:00", MAY_08)]);
    let now = "2023-05-02T19:30:00.250-04:00";
    let cut = given::<Schedule>(events)
        .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(8)) }, &client_at(now))
        .events();
    let ScheduleEvent::OverrideCutShort(first) = &cut[0] else { panic!("{cut:?}") };
    assert_eq!(first.end, t("2023-05-02T19:30:01-04:00"));
    // Unassigned again in the same second (a double click): nothing more changes.
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), override_added(8, 2, 4, "2023-05-02T07:30:00-04:00", MAY_08)]);
    events.extend(cut);
    given::<Schedule>(events)
        .when(
            UnassignCommand { shift_id: shift(2), override_id: Some(override_id(8)) },
            &client_at("2023-05-02T19:30:00.900-04:00"),
        )
        .then([]);
}

#[test]
fn an_operator_with_a_reason_removes_a_running_override_whole() {
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), override_added(8, 2, 4, "2023-05-02T07:30:00-04:00", MAY_08)]);
    let state = given::<Schedule>(events)
        .when(
            UnassignCommand { shift_id: shift(2), override_id: Some(override_id(8)) },
            &operator_at(DURING_SHIFT_2).with_reason("Saisi par erreur : Luc n'a jamais été de garde"),
        )
        .then([OverrideRemoved {
            override_id: override_id(8),
            shift_id: shift(2),
            contact_id: contact(4),
            reason: Some("Saisi par erreur : Luc n'a jamais été de garde".into()),
        }
        .into()]);
    assert_eq!(contact_on_call(&state, "2023-05-02T12:00:00-04:00"), Some(contact(1)));
}

/// Moments after shift 2 started, then the same moment with a fraction of a second.
const SHIFT_2_STARTED: &str = "2023-05-01T07:31:00-04:00";
const SHIFT_2_STARTED_AND_A_BIT: &str = "2023-05-01T07:31:00.400-04:00";

#[test]
fn an_override_from_the_clients_now_takes_effect_at_the_servers_next_second() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    // The client's clock says 7:29; the server reads the request at 7:31:00.4.
    let from_now = override_of(8, 2, 4, "2023-05-01T07:30:00-04:00", MAY_03);
    let state = given::<Schedule>(events).when(from_now, &client_at(SHIFT_2_STARTED_AND_A_BIT)).then([OverrideAdded {
        override_id: override_id(8),
        shift_id: shift(2),
        contact_id: contact(4),
        start: t("2023-05-01T07:31:01-04:00"),
        end: t(MAY_03),
        comment: None,
        reason: None,
    }
    .into()]);
    // Who dispatch saw on call until now stays so.
    assert_eq!(contact_on_call(&state, "2023-05-01T07:30:30-04:00"), Some(contact(1)));
    assert_eq!(contact_on_call(&state, "2023-05-01T07:31:01-04:00"), Some(contact(4)));
}

#[test]
fn an_override_from_a_lagging_clients_now_fits_a_shift_that_has_just_begun() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    // Shift 2 began at 7:30; the client's clock says 7:28, two minutes behind the server's.
    let from_now = override_of(8, 2, 4, "2023-05-01T07:28:00-04:00", MAY_03);
    given::<Schedule>(events.clone()).when(from_now, &client_at(SHIFT_2_STARTED_AND_A_BIT)).then([OverrideAdded {
        override_id: override_id(8),
        shift_id: shift(2),
        contact_id: contact(4),
        start: t("2023-05-01T07:31:01-04:00"),
        end: t(MAY_03),
        comment: None,
        reason: None,
    }
    .into()]);
    // A shift that has not begun still refuses an override starting before it, from now or not.
    events.push(shift_added(3, MAY_08, "2023-05-15T07:30:00-04:00"));
    let before_shift_3 = override_of(9, 3, 4, "2023-05-01T07:28:00-04:00", "2023-05-09T07:30:00-04:00");
    given::<Schedule>(events)
        .when(before_shift_3, &client_at(SHIFT_2_STARTED_AND_A_BIT))
        .then_error("The start time cannot occur before the original shift start time.");
}

#[test]
fn an_override_over_before_now_is_refused_to_clients_however_recent() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    let past = override_of(8, 2, 4, MAY_01, "2023-05-01T07:30:30-04:00");
    let error = given::<Schedule>(events.clone()).when(past.clone(), &client_at(SHIFT_2_STARTED)).then_error(
        "Clients cannot change who was on call before now. On a shift that has started, add an override \
             that starts now to change who is on call from now on.",
    );
    assert_eq!(error.code(), "past_on_call");
    // An operator's reason corrects the past as asked.
    given::<Schedule>(events)
        .when(past, &operator_at(SHIFT_2_STARTED).with_reason("Luc a pris l'appel de 7 h 30"))
        .then([OverrideAdded {
            override_id: override_id(8),
            shift_id: shift(2),
            contact_id: contact(4),
            start: t(MAY_01),
            end: t("2023-05-01T07:30:30-04:00"),
            comment: None,
            reason: Some("Luc a pris l'appel de 7 h 30".into()),
        }
        .into()]);
}

#[test]
fn an_override_that_started_a_moment_ago_is_cut_short_not_removed() {
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), override_added(8, 2, 4, "2023-05-01T07:30:40-04:00", MAY_03)]);
    let state = given::<Schedule>(events)
        .when(
            UnassignCommand { shift_id: shift(2), override_id: Some(override_id(8)) },
            &client_at(SHIFT_2_STARTED_AND_A_BIT),
        )
        .then([OverrideCutShort {
            override_id: override_id(8),
            shift_id: shift(2),
            contact_id: contact(4),
            end: t("2023-05-01T07:31:01-04:00"),
        }
        .into()]);
    assert_eq!(contact_on_call(&state, "2023-05-01T07:30:50-04:00"), Some(contact(4)));
    assert_eq!(contact_on_call(&state, "2023-05-01T07:31:01-04:00"), Some(contact(1)));
}

#[test]
fn a_shift_that_started_a_moment_ago_is_running_for_base_changes() {
    let mut events = manual_schedule();
    events.extend([assigned(2, 1), shift_added(3, MAY_08, "2023-05-15T07:30:00-04:00")]);
    let commands: Vec<ScheduleCommand> = vec![
        assign(2, 4).into(),
        UnassignCommand { shift_id: shift(2), override_id: None }.into(),
        SwapCommand { shift_a: shift(2), shift_b: shift(3), inactive_contacts: vec![] }.into(),
    ];
    for command in commands {
        let error = given::<Schedule>(events.clone()).when(command, &client_at(SHIFT_2_STARTED)).then_error(
            "Clients cannot change who was on call before now. On a shift that has started, add an override \
                 that starts now to change who is on call from now on.",
        );
        assert_eq!(error.code(), "past_on_call");
    }
}

const AFTER_BOTH: &str = "2023-05-10T00:00:00-04:00";

#[test]
fn clients_cannot_change_a_shift_that_has_ended() {
    let mut events = manual_schedule();
    events.push(assigned(1, 1));
    let ctx = client_at(AFTER_BOTH);
    let commands: Vec<ScheduleCommand> = vec![
        assign(1, 2).into(),
        override_of(1, 1, 8, "2023-04-25T07:30:00-04:00", "2023-04-26T07:30:00-04:00").into(),
        UnassignCommand { shift_id: shift(1), override_id: None }.into(),
        SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![] }.into(),
        CommentCommand { shift_id: shift(1), text: "trop tard".into() }.into(),
    ];
    for command in commands {
        let error = given::<Schedule>(events.clone())
            .when(command, &ctx)
            .then_error("Clients cannot change a shift that has ended.");
        assert_eq!(error.kind(), ErrorKind::Forbidden);
    }
    // Even with a reason: corrections are the service team's.
    given::<Schedule>(events)
        .when(assign(1, 2), &ctx.with_reason("oubli"))
        .then_error("Clients cannot change a shift that has ended.");
}

#[test]
fn operators_correct_an_ended_shift_only_with_a_reason() {
    let mut events = manual_schedule();
    events.push(assigned(1, 1));
    let error = given::<Schedule>(events.clone())
        .when(assign(1, 2), &operator_at(AFTER_BOTH).with_reason("   "))
        .then_error("A written reason is required to correct a shift that has ended.");
    assert_eq!(error.code(), "reason_required");
    let ctx = operator_at(AFTER_BOTH).with_reason("Patrick a fait la garde, pas Anthony");
    given::<Schedule>(events.clone()).when(assign(1, 2), &ctx).then([ShiftAssigned {
        shift_id: shift(1),
        contact_id: contact(2),
        comment: None,
        reason: Some("Patrick a fait la garde, pas Anthony".into()),
    }
    .into()]);
    given::<Schedule>(events.clone()).when(UnassignCommand { shift_id: shift(1), override_id: None }, &ctx).then([
        ShiftUnassigned {
            shift_id: shift(1),
            contact_id: contact(1),
            reason: Some("Patrick a fait la garde, pas Anthony".into()),
        }
        .into(),
    ]);
    let events = given::<Schedule>(events)
        .when(override_of(1, 1, 8, "2023-04-25T07:30:00-04:00", "2023-04-26T07:30:00-04:00"), &ctx)
        .events();
    assert!(matches!(&events[..], [ScheduleEvent::OverrideAdded(o)] if o.reason.is_some()));
}

#[test]
fn assign_recurring_repeats_every_one_or_more_shifts() {
    let events = weekly_series(3);
    let ids = series_shift_ids(&events);
    let command = AssignCommand {
        shift_id: ids[0],
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 0, until: None }),
    };
    given::<Schedule>(events).when(command, &client()).then_error("Assign Recurring repeats every 1 or more shifts.");
}
