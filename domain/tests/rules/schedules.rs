//! Schedules and shifts: operators create, rename, copy and delete schedules, and add, edit and
//! remove shifts and series.

use chrono::NaiveDate;
use vigie_domain::schedule::*;
use vigie_domain::testing::given;
use vigie_domain::*;

use crate::support::*;

fn create_command() -> CreateScheduleCommand {
    CreateScheduleCommand {
        schedule_id: schedule_id(),
        account_id: account(),
        name: " 01 Horaire ".into(),
        time_zone: TORONTO,
        name_taken: false,
    }
}

fn add_command(n: u128, start: &str, end: &str) -> AddShiftCommand {
    AddShiftCommand {
        shift_id: shift(n),
        start: t(start),
        end: t(end),
        rank: 0,
        name: "Rotation".into(),
        role: "OC".into(),
    }
}

#[test]
fn an_operator_creates_a_schedule() {
    given::<Schedule>([]).when(create_command(), &operator()).then([created()]);
}

#[test]
fn a_client_cannot_create_a_schedule() {
    given::<Schedule>([]).when(create_command(), &client()).then_error("Only the service team can create schedules.");
}

#[test]
fn dispatchers_and_auditors_change_nothing() {
    for ctx in [dispatcher(), auditor()] {
        let error = given::<Schedule>([])
            .when(create_command(), &ctx)
            .then_error("Dispatchers and auditors cannot change anything.");
        assert_eq!(error.kind(), ErrorKind::Forbidden);
        given::<Schedule>(manual_schedule())
            .when(CommentCommand { shift_id: shift(1), text: "hello".into() }, &ctx)
            .then_error("Dispatchers and auditors cannot change anything.");
    }
}

#[test]
fn a_schedule_is_created_once() {
    given::<Schedule>([created()]).when(create_command(), &operator()).then_error("This schedule already exists.");
}

#[test]
fn a_schedule_needs_a_name() {
    let command = CreateScheduleCommand { name: "  ".into(), ..create_command() };
    let error = given::<Schedule>([]).when(command, &operator()).then_error("The schedule name cannot be empty.");
    assert_eq!(error.code(), "blank_field");
    // Characters that show nothing (a zero-width space, a byte-order mark, a no-break space) are no name either.
    for invisible in ["\u{200B}", "\u{FEFF}", " \u{00A0}\u{200D} "] {
        let command = CreateScheduleCommand { name: invisible.into(), ..create_command() };
        given::<Schedule>([]).when(command, &operator()).then_error("The schedule name cannot be empty.");
    }
}

#[test]
fn two_schedules_of_an_account_never_share_a_name() {
    let taken = "This account already has a schedule with this name.";
    let error = given::<Schedule>([])
        .when(CreateScheduleCommand { name_taken: true, ..create_command() }, &operator())
        .then_error(taken);
    assert_eq!((error.code(), error.kind()), ("schedule_name_taken", ErrorKind::Conflict));
    given::<Schedule>([created()])
        .when(RenameScheduleCommand { name: "02 Horaire".into(), name_taken: true }, &operator())
        .then_error(taken);
    given::<Schedule>([])
        .when(CopyScheduleCommand { name_taken: true, ..copy_of(false) }, &operator())
        .then_error(taken);
}

#[test]
fn an_operator_renames_a_schedule() {
    let state = given::<Schedule>([created()])
        .when(RenameScheduleCommand { name: "02 Horaire".into(), name_taken: false }, &operator())
        .then([ScheduleRenamed { name: "02 Horaire".into() }.into()]);
    assert_eq!(state.info().map(|i| i.name.as_str()), Some("02 Horaire"));
}

#[test]
fn renaming_a_schedule_to_its_own_name_records_nothing() {
    given::<Schedule>([created()])
        .when(RenameScheduleCommand { name: " 01 Horaire ".into(), name_taken: false }, &operator())
        .then([]);
}

#[test]
fn an_unknown_schedule_refuses_commands() {
    let error = given::<Schedule>([])
        .when(RenameScheduleCommand { name: "x".into(), name_taken: false }, &operator())
        .then_error("This schedule does not exist.");
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn a_deleted_schedule_refuses_commands() {
    let state =
        given::<Schedule>([created()]).when(DeleteScheduleCommand, &operator()).then([ScheduleDeleted {}.into()]);
    assert!(!state.exists());
    given::<Schedule>([created(), ScheduleDeleted {}.into()])
        .when(add_command(1, "2023-05-01T07:30:00Z", "2023-05-02T07:30:00Z"), &operator())
        .then_error("This schedule has been deleted.");
}

#[test]
fn a_schedule_with_a_shift_running_now_is_not_deleted() {
    let mut events = manual_schedule();
    events.push(shift_added(3, "2023-04-13T07:30:00-04:00", "2023-04-20T07:30:00-04:00"));
    // Shifts that have ended or not started yet do not hold a deletion back.
    given::<Schedule>(events.clone()).when(DeleteScheduleCommand, &operator()).then([ScheduleDeleted {}.into()]);
    // One on call now does: the person dispatch calls would vanish mid-shift.
    events.push(shift_in_lane(4, "2023-04-20T07:30:00-04:00", "2023-04-20T19:30:00-04:00", 1, "OC"));
    let error = given::<Schedule>(events).when(DeleteScheduleCommand, &operator()).then_error(
        "This schedule has a shift running now, which cannot be removed: delete the schedule once that shift has ended.",
    );
    assert_eq!((error.code(), error.kind()), ("schedule_has_running_shift", ErrorKind::Rejected));
}

#[test]
fn a_client_cannot_delete_a_schedule() {
    given::<Schedule>([created()])
        .when(DeleteScheduleCommand, &client())
        .then_error("Only the service team can delete schedules.");
}

fn copy_of(with_assignments: bool) -> CopyScheduleCommand {
    let mut source = manual_schedule();
    source.push(assigned(2, 7));
    source.push(override_added(1, 2, 8, "2023-05-01T07:30:00-04:00", "2023-05-03T07:30:00-04:00"));
    CopyScheduleCommand {
        schedule_id: ScheduleId::from_uuid(uuid::Uuid::from_u128(0x5D)),
        name: "Copie".into(),
        source: state_of(&source),
        with_assignments,
        inactive_contacts: vec![],
        name_taken: false,
    }
}

#[test]
fn copying_with_assignments_keeps_contacts_and_overrides() {
    let state = given::<Schedule>([]).when(copy_of(true), &operator()).state_after();
    let info = state.info().expect("created");
    assert_eq!(info.copied_from, Some(schedule_id()));
    assert_eq!(info.account_id, account());
    let shifts = state.shifts();
    assert_eq!(shifts.len(), 2);
    assert!(shifts.iter().all(|s| s.id != shift(1) && s.id != shift(2)), "fresh ids");
    assert_eq!(shifts[1].assignee, Some(contact(7)));
    assert_eq!(shifts[1].overrides.len(), 1);
    assert_eq!(shifts[1].overrides[0].contact_id, contact(8));
}

#[test]
fn copying_without_assignments_keeps_only_the_shifts() {
    let state = given::<Schedule>([]).when(copy_of(false), &operator()).state_after();
    let shifts = state.shifts();
    assert_eq!(shifts.len(), 2);
    assert!(shifts.iter().all(|s| s.assignee.is_none() && s.overrides.is_empty()));
    assert_eq!(shifts[0].start, t("2023-04-24T07:30:00-04:00"));
}

#[test]
fn a_copy_leaves_out_the_shifts_that_have_started_so_the_past_stays_as_it_was() {
    // Shift 1 (4/24 → 5/01) is running; only shift 2 is copied.
    let state = given::<Schedule>([]).when(copy_of(true), &operator_at("2023-04-28T12:00:00-04:00")).state_after();
    let starts: Vec<_> = state.shifts().iter().map(|s| s.start).collect();
    assert_eq!(starts, [t("2023-05-01T07:30:00-04:00")]);
    assert!(
        state.on_call_at(t("2023-04-28T13:00:00-04:00"), None).is_empty(),
        "the copy had no shift before it existed"
    );
}

#[test]
fn a_copy_does_not_newly_assign_deactivated_contacts() {
    // Contact 7 is shift 2's base contact and contact 8 covers an override of it.
    for inactive in [contact(7), contact(8)] {
        let command = CopyScheduleCommand { inactive_contacts: vec![inactive], ..copy_of(true) };
        let state = given::<Schedule>([]).when(command, &operator()).state_after();
        let copied = &state.shifts()[1];
        let assigned: Vec<_> =
            copied.assignee.into_iter().chain(copied.overrides.iter().map(|o| o.contact_id)).collect();
        assert!(!assigned.contains(&inactive), "{assigned:?}");
        assert_eq!(assigned.len(), 1, "the active contact is still copied");
    }
}

#[test]
fn copying_a_missing_schedule_is_refused() {
    let command = CopyScheduleCommand { source: ScheduleState::default(), ..copy_of(true) };
    given::<Schedule>([]).when(command, &operator()).then_error("This schedule does not exist.");
}

#[test]
fn an_operator_adds_a_shift() {
    given::<Schedule>([created()])
        .when(add_command(1, "2023-04-24T07:30:00-04:00", "2023-05-01T07:30:00-04:00"), &operator())
        .then([shift_added(1, "2023-04-24T07:30:00-04:00", "2023-05-01T07:30:00-04:00")]);
}

#[test]
fn a_client_cannot_add_a_shift() {
    given::<Schedule>([created()])
        .when(add_command(1, "2023-05-01T07:30:00Z", "2023-05-02T07:30:00Z"), &client())
        .then_error("Only the service team can create shifts.");
}

#[test]
fn a_shift_ends_after_it_starts() {
    for end in ["2023-05-01T07:30:00Z", "2023-05-01T07:00:00Z"] {
        let error = given::<Schedule>([created()])
            .when(add_command(1, "2023-05-01T07:30:00Z", end), &operator())
            .then_error("The end time must be after the start time.");
        assert_eq!(error.code(), "end_not_after_start");
    }
}

#[test]
fn a_shift_needs_a_name_and_a_role() {
    let command = AddShiftCommand { name: "".into(), ..add_command(1, "2023-05-01T07:30:00Z", "2023-05-02T07:30:00Z") };
    given::<Schedule>([created()]).when(command, &operator()).then_error("The shift name cannot be empty.");
    let command =
        AddShiftCommand { role: " ".into(), ..add_command(1, "2023-05-01T07:30:00Z", "2023-05-02T07:30:00Z") };
    given::<Schedule>([created()]).when(command, &operator()).then_error("The role cannot be empty.");
}

#[test]
fn a_shift_id_is_used_once() {
    given::<Schedule>(manual_schedule())
        .when(add_command(1, "2024-05-01T07:30:00Z", "2024-05-02T07:30:00Z"), &operator())
        .then_error("This shift already exists.");
}

#[test]
fn shifts_of_the_same_role_and_rank_may_not_overlap() {
    let error = given::<Schedule>(manual_schedule())
        .when(add_command(3, "2023-05-07T07:30:00-04:00", "2023-05-09T07:30:00-04:00"), &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(2)));
    assert_eq!(error, DomainError::ShiftOverlaps { conflicting_shift_id: shift(2) });
    assert_eq!(error.kind(), ErrorKind::Conflict);
    // A shift inside a longer one is caught too.
    given::<Schedule>(manual_schedule())
        .when(add_command(3, "2023-05-02T00:00:00-04:00", "2023-05-03T00:00:00-04:00"), &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(2)));
}

#[test]
fn back_to_back_shifts_and_other_lanes_do_not_overlap() {
    given::<Schedule>(manual_schedule())
        .when(add_command(3, "2023-05-08T07:30:00-04:00", "2023-05-15T07:30:00-04:00"), &operator())
        .events();
    let other_rank = AddShiftCommand { rank: 1, ..add_command(3, "2023-05-02T00:00:00Z", "2023-05-03T00:00:00Z") };
    given::<Schedule>(manual_schedule()).when(other_rank, &operator()).events();
    let other_role =
        AddShiftCommand { role: "TECH".into(), ..add_command(3, "2023-05-02T00:00:00Z", "2023-05-03T00:00:00Z") };
    given::<Schedule>(manual_schedule()).when(other_role, &operator()).events();
}

#[test]
fn a_role_is_one_whatever_its_case() {
    // "oc" is the schedule's "OC": it may not overlap it, and takes its spelling.
    let lower = AddShiftCommand {
        role: "oc".into(),
        ..add_command(3, "2023-05-07T07:30:00-04:00", "2023-05-09T07:30:00-04:00")
    };
    given::<Schedule>(manual_schedule())
        .when(lower, &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(2)));
    let next = AddShiftCommand {
        role: "Oc".into(),
        ..add_command(3, "2023-05-08T07:30:00-04:00", "2023-05-15T07:30:00-04:00")
    };
    let state = given::<Schedule>(manual_schedule()).when(next, &operator()).state_after();
    assert_eq!(&*state.shift(shift(3)).unwrap().role, "OC");
    // Asking for the role in any case finds it.
    let on_call = state.on_call_at(t("2023-05-02T12:00:00-04:00"), Some("oc"));
    assert_eq!(on_call.iter().map(|e| e.shift_id).collect::<Vec<_>>(), [shift(2)]);
    // So does a role typed with an invisible character, or spaces around it.
    for typed in ["O\u{200B}C", " OC ", "\u{FF2F}\u{FF23}"] {
        let hidden = AddShiftCommand {
            role: typed.into(),
            ..add_command(3, "2023-05-07T07:30:00-04:00", "2023-05-09T07:30:00-04:00")
        };
        given::<Schedule>(manual_schedule())
            .when(hidden, &operator())
            .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(2)));
    }
    let on_call = state.on_call_at(t("2023-05-02T12:00:00-04:00"), Some("O\u{200B}C"));
    assert_eq!(on_call.iter().map(|e| e.shift_id).collect::<Vec<_>>(), [shift(2)]);
}

#[test]
fn a_role_with_an_accent_typed_apart_is_the_same_role() {
    let mut events =
        vec![created(), shift_in_lane(1, "2023-05-01T07:30:00-04:00", "2023-05-08T07:30:00-04:00", 0, "Médecin")];
    let apart = AddShiftCommand {
        role: "Me\u{301}decin".into(),
        ..add_command(2, "2023-05-02T07:30:00-04:00", "2023-05-03T07:30:00-04:00")
    };
    given::<Schedule>(events.clone())
        .when(apart, &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(1)));
    events.push(shift_in_lane(2, "2023-05-08T07:30:00-04:00", "2023-05-15T07:30:00-04:00", 0, "OC"));
    let state = given::<Schedule>(events)
        .when(EditShiftCommand { name: Some("x".into()), ..EditShiftCommand::of(shift(2)) }, &operator())
        .state_after();
    let on_call = state.on_call_at(t("2023-05-02T12:00:00-04:00"), Some("me\u{301}decin"));
    assert_eq!(on_call.iter().map(|e| e.shift_id).collect::<Vec<_>>(), [shift(1)]);
}

#[test]
fn a_rank_runs_from_0_to_99() {
    let refusal = "The rank is a whole number from 0 (called first) to 99.";
    let too_high =
        AddShiftCommand { rank: 100, ..add_command(3, "2023-05-08T07:30:00-04:00", "2023-05-15T07:30:00-04:00") };
    let error = given::<Schedule>(manual_schedule()).when(too_high, &operator()).then_error(refusal);
    assert_eq!(error.code(), "rank_out_of_range");
    assert_eq!(error.kind(), ErrorKind::Rejected);
    let last = AddShiftCommand { rank: 99, ..add_command(3, "2023-05-08T07:30:00-04:00", "2023-05-15T07:30:00-04:00") };
    given::<Schedule>(manual_schedule()).when(last, &operator()).events();
    let series =
        CreateSeriesCommand { rank: u32::MAX, ..weekly("2023-05-08T07:30", "2023-05-15T07:30", SeriesEnd::Count(2)) };
    given::<Schedule>(manual_schedule()).when(series, &operator()).then_error(refusal);
    let edit = EditShiftCommand { rank: Some(100), ..EditShiftCommand::of(shift(2)) };
    given::<Schedule>(manual_schedule()).when(edit, &operator()).then_error(refusal);
}

#[test]
fn a_shift_stored_with_a_higher_rank_keeps_it_when_edited() {
    // Ranks had no bound before; such a shift may still be renamed without choosing a new rank.
    let events = vec![created(), shift_in_lane(2, "2023-05-01T07:30:00-04:00", "2023-05-08T07:30:00-04:00", 500, "OC")];
    let rename = EditShiftCommand { name: Some("Relève".into()), ..EditShiftCommand::of(shift(2)) };
    let events = given::<Schedule>(events).when(rename, &operator()).events();
    let [ScheduleEvent::ShiftEdited(edited)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((edited.rank, edited.name.as_str()), (500, "Relève"));
}

#[test]
fn an_edit_to_what_the_shift_already_is_records_nothing() {
    let same = EditShiftCommand {
        start: Some(t("2023-05-01T07:30:00-04:00")),
        rank: Some(0),
        name: Some(" Rotation ".into()),
        role: Some("OC".into()),
        ..EditShiftCommand::of(shift(2))
    };
    given::<Schedule>(manual_schedule()).when(same, &operator()).then([]);
}

#[test]
fn an_operator_edits_a_future_shift() {
    let command = EditShiftCommand {
        end: Some(t("2023-05-08T08:00:00-04:00")),
        name: Some("Semaine".into()),
        ..EditShiftCommand::of(shift(2))
    };
    let state = given::<Schedule>(manual_schedule()).when(command, &operator()).then([ShiftEdited {
        shift_id: shift(2),
        start: t("2023-05-01T07:30:00-04:00"),
        end: t("2023-05-08T08:00:00-04:00"),
        rank: 0,
        name: "Semaine".into(),
        role: "OC".into(),
    }
    .into()]);
    assert_eq!(state.on_call_at(t("2023-05-08T07:45:00-04:00"), None).len(), 1);
}

#[test]
fn moving_a_shift_to_another_rank_moves_it_in_the_index() {
    let command = EditShiftCommand { rank: Some(1), ..EditShiftCommand::of(shift(2)) };
    let state = given::<Schedule>(manual_schedule()).when(command, &operator()).state_after();
    let entries = state.on_call_at(t("2023-05-02T00:00:00-04:00"), None);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].rank, 1);
}

#[test]
fn a_started_or_ended_shift_cannot_be_edited_or_removed() {
    for now in ["2023-04-24T07:30:00-04:00", "2023-05-02T00:00:00-04:00", "2023-06-01T00:00:00Z"] {
        let ctx = operator_at(now).with_reason("correction");
        let error = given::<Schedule>(manual_schedule())
            .when(EditShiftCommand { name: Some("x".into()), ..EditShiftCommand::of(shift(1)) }, &ctx)
            .then_error("You cannot edit or remove a shift that has started or ended.");
        assert_eq!(error.code(), "shift_started");
        given::<Schedule>(manual_schedule())
            .when(RemoveShiftCommand { shift_id: shift(1) }, &ctx)
            .then_error("You cannot edit or remove a shift that has started or ended.");
    }
}

#[test]
fn a_shift_or_series_that_starts_in_the_past_needs_a_written_reason() {
    // Now is 2023-04-20 noon.
    let past = add_command(3, "2023-04-10T07:30:00-04:00", "2023-04-17T07:30:00-04:00");
    let error = given::<Schedule>([created()])
        .when(past.clone(), &operator())
        .then_error("A shift that starts in the past changes who was on call: give a written reason.");
    assert_eq!(error.code(), "past_shift_needs_reason");
    let state = given::<Schedule>([created()]).when(past, &operator().with_reason("Oubli du 10 avril")).state_after();
    assert_eq!(state.shifts().len(), 1);
    given::<Schedule>([created()])
        .when(weekly("2023-04-03T07:30", "2023-04-10T07:30", SeriesEnd::Count(4)), &operator())
        .then_error("A shift that starts in the past changes who was on call: give a written reason.");
    let events = given::<Schedule>([created()])
        .when(weekly("2023-04-03T07:30", "2023-04-10T07:30", SeriesEnd::Count(4)), &operator().with_reason("Reprise"))
        .events();
    assert_eq!(events[0].reason(), Some("Reprise"), "the history keeps the reason");
}

#[test]
fn a_future_shift_cannot_be_moved_into_the_past() {
    // Now is 2023-04-20 noon; shift 2 starts on 1 May.
    for start in ["2023-04-19T07:30:00-04:00", "2023-04-20T12:00:00-04:00"] {
        let command = EditShiftCommand { start: Some(t(start)), ..EditShiftCommand::of(shift(2)) };
        let error = given::<Schedule>(manual_schedule())
            .when(command, &operator().with_reason("correction"))
            .then_error("A shift can only be moved to start in the future.");
        assert_eq!(error.code(), "shift_moved_into_past");
    }
    let later = EditShiftCommand { start: Some(t("2023-05-02T07:30:00-04:00")), ..EditShiftCommand::of(shift(2)) };
    given::<Schedule>(manual_schedule()).when(later, &operator()).events();
}

#[test]
fn an_edit_may_not_create_an_overlap_or_leave_overrides_outside() {
    let into_overlap =
        EditShiftCommand { start: Some(t("2023-04-30T07:30:00-04:00")), ..EditShiftCommand::of(shift(2)) };
    given::<Schedule>(manual_schedule())
        .when(into_overlap, &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(1)));
    let mut events = manual_schedule();
    events.push(override_added(1, 2, 8, "2023-05-06T07:30:00-04:00", "2023-05-08T07:30:00-04:00"));
    let shorter = EditShiftCommand { end: Some(t("2023-05-07T07:30:00-04:00")), ..EditShiftCommand::of(shift(2)) };
    given::<Schedule>(events)
        .when(shorter, &operator())
        .then_error("The shift's overrides must stay between its new start and end times.");
}

#[test]
fn a_client_cannot_edit_or_remove_shifts() {
    given::<Schedule>(manual_schedule())
        .when(EditShiftCommand::of(shift(2)), &client())
        .then_error("Only the service team can edit shifts.");
    given::<Schedule>(manual_schedule())
        .when(RemoveShiftCommand { shift_id: shift(2) }, &client())
        .then_error("Only the service team can remove shifts.");
}

#[test]
fn an_operator_removes_a_future_shift() {
    let state = given::<Schedule>(manual_schedule())
        .when(RemoveShiftCommand { shift_id: shift(2) }, &operator())
        .then([ShiftRemoved { shift_id: shift(2) }.into()]);
    assert!(state.shift(shift(2)).is_none());
    assert!(state.on_call_at(t("2023-05-02T00:00:00Z"), None).is_empty());
}

#[test]
fn unknown_shifts_are_refused() {
    given::<Schedule>(manual_schedule())
        .when(RemoveShiftCommand { shift_id: shift(9) }, &operator())
        .then_error("This shift does not exist.");
}

pub fn weekly(first_start: &str, first_end: &str, end: SeriesEnd) -> CreateSeriesCommand {
    CreateSeriesCommand {
        series_id: series_id(1),
        rule: SeriesRule {
            first_start: local(first_start),
            first_end: local(first_end),
            every: 1,
            unit: RepeatUnit::Weeks,
            end,
        },
        rank: 0,
        name: "Rotation".into(),
        role: "OC".into(),
    }
}

#[test]
fn a_series_repeats_for_a_count() {
    let events = given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(3)), &operator())
        .events();
    let [ScheduleEvent::SeriesCreated(series)] = events.as_slice() else { panic!("{events:?}") };
    let starts: Vec<_> = series.shifts.iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [t("2023-05-01T07:30:00-04:00"), t("2023-05-08T07:30:00-04:00"), t("2023-05-15T07:30:00-04:00")]
    );
}

#[test]
fn a_series_repeats_until_a_date_every_n_days() {
    let mut command = weekly(
        "2023-05-01T08:00",
        "2023-05-01T17:00",
        SeriesEnd::Until(NaiveDate::from_ymd_opt(2023, 5, 7).expect("date")),
    );
    command.rule.every = 2;
    command.rule.unit = RepeatUnit::Days;
    let state = given::<Schedule>([created()]).when(command, &operator()).state_after();
    let starts: Vec<_> = state.shifts().iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [
            t("2023-05-01T08:00:00-04:00"),
            t("2023-05-03T08:00:00-04:00"),
            t("2023-05-05T08:00:00-04:00"),
            t("2023-05-07T08:00:00-04:00"),
        ]
    );
    let series = state.series(series_id(1)).expect("series");
    assert_eq!(series.shift_ids.len(), 4);
    assert!(state.shifts().iter().all(|s| s.series_id == Some(series_id(1))));
}

#[test]
fn a_series_is_refused_when_its_shifts_overlap() {
    // Eight days long, repeated weekly: each shift overlaps the next.
    let error = given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-09T07:30", SeriesEnd::Count(2)), &operator())
        .then_error("Each shift of this series would overlap the next: a shift must end before the series repeats.");
    assert_eq!((error.code(), error.kind()), ("series_overlaps_itself", ErrorKind::Rejected));
    given::<Schedule>(manual_schedule())
        .when(weekly("2023-04-20T07:30", "2023-04-25T07:30", SeriesEnd::Count(2)), &operator())
        .then_error(&format!("This shift overlaps shift {} of the same role and rank.", shift(1)));
}

#[test]
fn a_series_needs_a_repeat_and_a_shift() {
    let mut command = weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(2));
    command.rule.every = 0;
    given::<Schedule>([created()])
        .when(command, &operator())
        .then_error("A series repeats every 1 or more days or weeks.");
    given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(0)), &operator())
        .then_error("A series has at least one shift.");
    given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-01T07:30", SeriesEnd::Count(2)), &operator())
        .then_error("The end time must be after the start time.");
    given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(5000)), &operator())
        .then_error("A series has at most 3660 shifts.");
}

#[test]
fn a_series_steps_at_most_a_year_and_a_day() {
    let mut command = weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(3));
    command.rule.every = 53;
    let error = given::<Schedule>([created()])
        .when(command.clone(), &operator())
        .then_error("A series must repeat at least once every 366 days.");
    assert_eq!(error.code(), "series_step_too_long");
    command.rule.every = u32::MAX;
    given::<Schedule>([created()])
        .when(command, &operator())
        .then_error("A series must repeat at least once every 366 days.");
}

#[test]
fn a_series_stays_between_the_years_1000_and_9000() {
    for (start, end, count) in
        [("8999-12-01T07:30", "8999-12-08T07:30", 3000), ("9001-01-01T07:30", "9001-01-02T07:30", 1)]
    {
        let error = given::<Schedule>([created()])
            .when(weekly(start, end, SeriesEnd::Count(count)), &operator())
            .then_error("A series' shifts fall between the years 1000 and 9000.");
        assert_eq!(error.code(), "series_out_of_range");
    }
}

#[test]
fn a_series_whose_only_shift_falls_in_the_spring_gap_is_refused_for_that_reason() {
    // 02:15 to 02:45 on 2024-03-10 does not exist in Toronto.
    let error = given::<Schedule>([created()])
        .when(weekly("2024-03-10T02:15", "2024-03-10T02:45", SeriesEnd::Count(1)), &operator())
        .then_error("Every shift of this series falls in the hour that the change to daylight saving time skips, so it has no shift.");
    assert_eq!(error.code(), "series_only_in_skipped_hour");
    // A series with no occurrence at all is refused as before.
    given::<Schedule>([created()])
        .when(weekly("2024-03-01T02:15", "2024-03-01T02:45", SeriesEnd::Count(0)), &operator())
        .then_error("A series has at least one shift.");
}

#[test]
fn a_daily_shift_that_falls_wholly_in_the_spring_gap_is_left_out_that_night() {
    // 02:00 to 03:00 does not exist in Toronto on 2024-03-10: the clocks jump from 02:00 to 03:00.
    let mut command = weekly("2024-03-08T02:00", "2024-03-08T03:00", SeriesEnd::Count(4));
    command.rule.unit = RepeatUnit::Days;
    let state = given::<Schedule>([created()]).when(command, &operator()).state_after();
    let days: Vec<String> = state
        .shifts()
        .iter()
        .map(|s| s.start.with_timezone(&state.time_zone()).format("%m-%d %H:%M").to_string())
        .collect();
    assert_eq!(days, ["03-08 02:00", "03-09 02:00", "03-11 02:00"]);
}

#[test]
fn a_client_cannot_create_a_series() {
    given::<Schedule>([created()])
        .when(weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(2)), &client())
        .then_error("Only the service team can create shifts.");
}

#[test]
fn stream_ids_name_the_category() {
    assert_eq!(schedule::stream_id(schedule_id()), format!("schedule-{}", schedule_id()));
    assert_eq!(Schedule::stream_id(schedule_id()), "schedule-00000000-0000-0000-0000-00000000005c");
}

#[test]
fn every_refusal_has_its_own_stable_code() {
    use vigie_domain::error::Entity;
    let errors = [
        DomainError::ReadOnlyRole,
        DomainError::OperatorOnly("x"),
        DomainError::ShiftEnded,
        DomainError::ReasonRequired,
        DomainError::NotYourPassword,
        DomainError::NotFound(Entity::Shift),
        DomainError::AlreadyExists(Entity::Shift),
        DomainError::ScheduleDeleted,
        DomainError::Blank("x"),
        DomainError::TooLong { field: "x", max: 1 },
        DomainError::UnknownTimeZone("x".into()),
        DomainError::TooManyPhones,
        DomainError::InvalidEmail,
        DomainError::InvalidUsername,
        DomainError::EndNotAfterStart,
        DomainError::ShiftOverlaps { conflicting_shift_id: shift(1) },
        DomainError::ShiftStarted,
        DomainError::OverridesOutsideShift,
        DomainError::InvalidRepeat,
        DomainError::EmptySeries,
        DomainError::SeriesOnlyInSkippedHour,
        DomainError::SeriesTooLong(1),
        DomainError::OverrideStartsBeforeShift,
        DomainError::OverrideEndsAfterShift,
        DomainError::OverrideOverlaps { conflicting_override_id: override_id(1) },
        DomainError::ContactInactive,
        DomainError::ContactOfAnotherAccount,
        DomainError::NothingToUnassign,
        DomainError::SwapSameShift,
        DomainError::NotInSeries,
        DomainError::ContactAlreadyInactive,
        DomainError::ContactAlreadyActive,
        DomainError::UsernameTaken,
        DomainError::AccountNumberTaken,
        DomainError::ClientWithoutAccount,
        DomainError::UserInactive,
        DomainError::OwnParent,
        DomainError::MessageAlreadyClosed,
        DomainError::MessageAlreadyOpen,
        DomainError::RecordingOnDetailsCall,
        DomainError::RecordingAlreadyAttached,
        DomainError::PastOnCall,
        DomainError::PastOnCallNeedsReason,
    ];
    let codes: std::collections::HashSet<_> = errors.iter().map(DomainError::code).collect();
    assert_eq!(codes.len(), errors.len());
    assert_eq!(errors[24].conflict(), Some(("conflicting_override_id", override_id(1).as_uuid())));
    assert_eq!(errors[15].conflict(), Some(("conflicting_shift_id", shift(1).as_uuid())));
    assert_eq!(errors[0].conflict(), None);
}

#[test]
fn a_copied_series_still_repeats_for_assign_recurring() {
    let mut events = vec![created()];
    events.extend(
        given::<Schedule>([created()])
            .when(weekly("2023-05-01T07:30", "2023-05-08T07:30", SeriesEnd::Count(3)), &operator())
            .events(),
    );
    let copy = CopyScheduleCommand {
        schedule_id: ScheduleId::from_uuid(uuid::Uuid::from_u128(0x5D)),
        name: "Copie".into(),
        source: state_of(&events),
        with_assignments: false,
        inactive_contacts: vec![],
        name_taken: false,
    };
    let copied = given::<Schedule>([]).when(copy, &operator()).events();
    let state = state_of(&copied);
    let first = state.shifts()[0].id;
    let command = AssignCommand {
        shift_id: first,
        contact: facts(1),
        comment: None,
        recurring: Some(Recurrence { every: 1, until: None }),
    };
    assert_eq!(given::<Schedule>(copied).when(command, &client()).events().len(), 3);
}

#[test]
fn evolve_ignores_events_about_unknown_shifts() {
    let before = state_of(&manual_schedule());
    let after = schedule::evolve(before.clone(), &assigned(42, 1));
    assert_eq!(after.shifts(), before.shifts());
    assert_eq!(after.version(), before.version() + 1);
}
