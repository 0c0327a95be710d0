//! Events as stored: type tag, schema version, data, and reading older versions (upcasting).

use serde_json::json;
use vigie_domain::event::DomainEvent;
use vigie_domain::inbox::{MessageEvent, MessageTaken};
use vigie_domain::schedule::*;
use vigie_domain::testing::given;
use vigie_domain::*;

use crate::support::*;

fn round_trip<E: DomainEvent + PartialEq + std::fmt::Debug>(event: &E) {
    let stored = E::from_stored(event.event_type(), event.schema_version(), event.to_data());
    assert_eq!(stored.as_ref().ok(), Some(event), "{}", event.event_type());
}

#[test]
fn every_schedule_event_round_trips_through_the_store_fields() {
    let mut events = manual_schedule();
    events.push(assigned(2, 1));
    events.push(override_added(1, 2, 8, "2023-05-03T07:30:00-04:00", "2023-05-05T07:30:00-04:00"));
    events.extend(
        given::<Schedule>(events.clone())
            .when(CommentCommand { shift_id: shift(2), text: "note".into() }, &client())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(SwapCommand { shift_a: shift(1), shift_b: shift(2), inactive_contacts: vec![] }, &client())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(UnassignCommand { shift_id: shift(2), override_id: Some(override_id(1)) }, &client())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(UnassignCommand { shift_id: shift(1), override_id: None }, &client())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(crate::schedules::weekly("2023-06-01T07:30", "2023-06-08T07:30", SeriesEnd::Count(3)), &operator())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(EditShiftCommand { name: Some("Autre".into()), ..EditShiftCommand::of(shift(2)) }, &operator())
            .events(),
    );
    events.extend(
        given::<Schedule>(events.clone()).when(RemoveShiftCommand { shift_id: shift(2) }, &operator()).events(),
    );
    events.extend(
        given::<Schedule>(events.clone())
            .when(RenameScheduleCommand { name: "B".into(), name_taken: false }, &operator())
            .events(),
    );
    let copy = CopyScheduleCommand {
        schedule_id: ScheduleId::from_uuid(uuid::Uuid::from_u128(0x5D)),
        name: "Copie".into(),
        source: state_of(&events),
        with_assignments: true,
        inactive_contacts: vec![],
        name_taken: false,
    };
    events.extend(given::<Schedule>([]).when(copy, &operator()).events());
    events.extend(given::<Schedule>(events.clone()).when(DeleteScheduleCommand, &operator()).events());
    let mut types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 14, "every event type is exercised: {types:?}");
    for event in &events {
        round_trip(event);
    }
}

#[test]
fn data_is_the_events_fields_without_the_type() {
    let event = override_added(1, 2, 8, "2023-05-03T07:30:00-04:00", "2023-05-05T07:30:00-04:00");
    assert_eq!(event.event_type(), "OverrideAdded");
    assert_eq!(event.schema_version(), 1);
    assert_eq!(
        event.to_data(),
        json!({
            "override_id": override_id(1),
            "shift_id": shift(2),
            "contact_id": contact(8),
            "start": "2023-05-03T11:30:00Z",
            "end": "2023-05-05T11:30:00Z",
            "comment": null,
            "reason": null,
        })
    );
    assert_eq!(created().to_data()["time_zone"], "America/Toronto");
}

#[test]
fn shift_assigned_v1_without_a_comment_is_upcast_to_v2() {
    let current = assigned(2, 1);
    assert_eq!(current.schema_version(), 2);
    // As written by the first release: no `comment`, no `reason`.
    let stored_v1 = json!({ "shift_id": shift(2), "contact_id": contact(1) });
    let event = ScheduleEvent::from_stored("ShiftAssigned", 1, stored_v1).expect("upcast");
    assert_eq!(event, current);
}

#[test]
fn message_taken_v1_without_urgency_is_upcast_to_not_urgent() {
    let stored_v1 = json!({
        "message_id": "0190a000-0000-7000-8000-000000000001",
        "account_id": account(),
        "taken_at": "2023-04-28T12:31:00Z",
        "agent": "Julie",
        "caller_name": "Jean Tremblay",
        "caller_number": "5149150123",
        "text": "Fuite d'eau au 3e",
    });
    // Without the upcaster the v1 data would not even read: `urgent` is required in v2.
    assert!(serde_json::from_value::<MessageTaken>(stored_v1.clone()).is_err());
    let MessageEvent::MessageTaken(taken) = MessageEvent::from_stored("MessageTaken", 1, stored_v1).expect("upcast")
    else {
        panic!("wrong event")
    };
    assert!(!taken.urgent);
    assert_eq!(taken.caller_name.as_deref(), Some("Jean Tremblay"));
}

#[test]
fn unknown_types_future_versions_and_bad_data_are_decode_errors() {
    let error = ScheduleEvent::from_stored("ShiftExploded", 1, json!({})).expect_err("unknown");
    assert_eq!(error.to_string(), "unknown event type ShiftExploded");
    let error = ScheduleEvent::from_stored("ShiftRemoved", 2, json!({ "shift_id": shift(1) })).expect_err("future");
    assert!(matches!(error, EventDecodeError::FutureVersion { version: 2, known: 1, .. }));
    let error = ScheduleEvent::from_stored("ShiftRemoved", 1, json!({ "shift": 3 })).expect_err("bad");
    assert!(matches!(error, EventDecodeError::Malformed { .. }));
}

#[test]
fn the_enum_also_serializes_self_described() {
    let event = assigned(2, 1);
    let json = serde_json::to_value(&event).expect("json");
    assert_eq!(json["type"], "ShiftAssigned");
    assert_eq!(serde_json::from_value::<ScheduleEvent>(json).expect("back"), event);
}

#[test]
fn corrections_expose_their_reason_for_the_history() {
    let event: ScheduleEvent =
        ShiftUnassigned { shift_id: shift(1), contact_id: contact(1), reason: Some("erreur".into()) }.into();
    assert_eq!(event.reason(), Some("erreur"));
    assert_eq!(created().reason(), None);
}

#[test]
fn derived_ids_are_stable_distinct_and_keep_the_uuid_version() {
    use vigie_domain::ids::derive_uuid;
    let base = uuid::Uuid::now_v7();
    let ids: std::collections::HashSet<_> = (0..10_000).map(|i| derive_uuid(base, 1, i)).collect();
    assert_eq!(ids.len(), 10_000);
    assert_ne!(derive_uuid(base, 2, 0), derive_uuid(base, 1, 0));
    let id = derive_uuid(base, 1, 42);
    assert_eq!(id, derive_uuid(base, 1, 42));
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    assert_eq!(id.as_bytes()[..6], base.as_bytes()[..6], "same timestamp");
}
