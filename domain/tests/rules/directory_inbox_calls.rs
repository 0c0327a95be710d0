//! The directory (operators only), the inbox and the call log.

use uuid::Uuid;
use vigie_domain::calls::*;
use vigie_domain::contact::*;
use vigie_domain::inbox::*;
use vigie_domain::testing::given;
use vigie_domain::*;

use crate::support::*;

fn details() -> ContactDetails {
    ContactDetails {
        name: "Anthony Giosi".into(),
        phones: vec!["514 555-0101".into(), " ".into()],
        sms: Some("5145550101".into()),
        email: Some("anthony@example.com".into()),
        notes: None,
    }
}

fn added() -> ContactEvent {
    ContactAdded {
        contact_id: contact(1),
        account_id: account(),
        details: ContactDetails { phones: vec!["514 555-0101".into()], ..details() },
    }
    .into()
}

#[test]
fn an_operator_adds_a_contact() {
    let add = ContactCommand::Add { contact_id: contact(1), account_id: account(), details: details() };
    let state = given::<Contact>([]).when(add, &operator()).then([added()]);
    assert_eq!(state.facts(), Some(schedule::ContactFacts { id: contact(1), account_id: account(), active: true }));
}

#[test]
fn updating_a_contact_to_the_details_it_has_records_nothing() {
    // details() has a blank phone, which the stored contact (added()) dropped: the same details.
    given::<Contact>([added()]).when(ContactCommand::Update { details: details() }, &operator()).then([]);
}

#[test]
fn clients_ask_the_service_team_to_change_the_directory() {
    let add = ContactCommand::Add { contact_id: contact(1), account_id: account(), details: details() };
    given::<Contact>([]).when(add, &client()).then_error("Only the service team can maintain the directory.");
    given::<Contact>([added()])
        .when(ContactCommand::Deactivate, &client())
        .then_error("Only the service team can maintain the directory.");
}

#[test]
fn contact_details_are_checked() {
    let update = |details| ContactCommand::Update { details };
    let four = ContactDetails { phones: vec!["1".into(), "2".into(), "3".into(), "4".into()], ..details() };
    given::<Contact>([added()])
        .when(update(four), &operator())
        .then_error("A contact has at most three phone numbers.");
    let nameless = ContactDetails { name: " ".into(), ..details() };
    given::<Contact>([added()]).when(update(nameless), &operator()).then_error("The contact name cannot be empty.");
    let bad_email = ContactDetails { email: Some("anthony at example".into()), ..details() };
    given::<Contact>([added()]).when(update(bad_email), &operator()).then_error("The e-mail address is not valid.");
    given::<Contact>([]).when(update(details()), &operator()).then_error("This contact does not exist.");
    let state = given::<Contact>([added()])
        .when(update(ContactDetails { notes: Some("Cellulaire seulement".into()), ..details() }), &operator())
        .state_after();
    assert_eq!(state.contact.and_then(|c| c.details.notes), Some("Cellulaire seulement".into()));
}

#[test]
fn phone_numbers_are_numbers_and_an_e_mail_is_one_address() {
    let update = |details| ContactCommand::Update { details };
    for phone in ["call me maybe", "n/a", "12", "514 555-0101 x", "514-555-0101 ext. twelve"] {
        let error = given::<Contact>([added()])
            .when(update(ContactDetails { phones: vec![phone.into()], ..details() }), &operator())
            .then_error("A phone number has at least three digits, and only digits, spaces and + - ( ) . /, with an optional extension such as x12.");
        assert_eq!(error.code(), "invalid_phone", "{phone}");
    }
    given::<Contact>([added()])
        .when(update(ContactDetails { sms: Some("texto".into()), ..details() }), &operator())
        .then_error("A phone number has at least three digits, and only digits, spaces and + - ( ) . /, with an optional extension such as x12.");
    for phone in ["+1 (514) 555-0101", "514.555.0101", "514-555-0101 x12", "514 555 0101 ext. 7", "911"] {
        given::<Contact>([added()])
            .when(update(ContactDetails { phones: vec![phone.into()], ..details() }), &operator())
            .events();
    }
    for email in ["a@.", "a@b@c.com", "a@b.com,c@d.com", "a@b..com", "@b.com", "a b@c.com"] {
        given::<Contact>([added()])
            .when(update(ContactDetails { email: Some(email.into()), ..details() }), &operator())
            .then_error("The e-mail address is not valid.");
    }
    given::<Contact>([added()])
        .when(
            update(ContactDetails { email: Some("luc.lambert+garde@exemple.qc.ca".into()), ..details() }),
            &operator(),
        )
        .events();
}

#[test]
fn a_contact_is_deactivated_and_reactivated() {
    let state =
        given::<Contact>([added()]).when(ContactCommand::Deactivate, &operator()).then([ContactDeactivated {}.into()]);
    assert_eq!(state.facts().map(|f| f.active), Some(false));
    given::<Contact>([added(), ContactDeactivated {}.into()])
        .when(ContactCommand::Deactivate, &operator())
        .then_error("This contact is already deactivated.");
    given::<Contact>([added(), ContactDeactivated {}.into()])
        .when(ContactCommand::Reactivate, &operator())
        .then([ContactReactivated {}.into()]);
    given::<Contact>([added()])
        .when(ContactCommand::Reactivate, &operator())
        .then_error("This contact is already active.");
}

fn message_id() -> MessageId {
    MessageId::from_uuid(Uuid::from_u128(0x88))
}

fn take() -> TakeMessageCommand {
    TakeMessageCommand {
        message_id: message_id(),
        account_id: account(),
        taken_at: t("2023-04-28T08:31:00-04:00"),
        agent: "Julie".into(),
        caller_name: Some("Jean Tremblay".into()),
        caller_number: Some("5149150123".into()),
        text: "Fuite d'eau au 3e".into(),
        urgent: true,
    }
}

fn taken() -> MessageEvent {
    MessageTaken {
        message_id: message_id(),
        account_id: account(),
        taken_at: t("2023-04-28T08:31:00-04:00"),
        agent: "Julie".into(),
        caller_name: Some("Jean Tremblay".into()),
        caller_number: Some("5149150123".into()),
        text: "Fuite d'eau au 3e".into(),
        urgent: true,
    }
    .into()
}

#[test]
fn an_operator_takes_and_delivers_a_message() {
    given::<Message>([]).when(MessageCommand::Take(take()), &operator()).then([taken()]);
    let to = Recipient::Contact { contact_id: contact(1) };
    let state = given::<Message>([taken()])
        .when(MessageCommand::Deliver { to: to.clone() }, &operator())
        .then([MessageDelivered { to, at: t(NOW) }.into()]);
    assert_eq!(state.message.map(|m| m.deliveries.len()), Some(1));
    assert_eq!(inbox::stream_id(message_id()), format!("message-{}", message_id()));
}

#[test]
fn message_refusals() {
    given::<Message>([])
        .when(MessageCommand::Take(take()), &client())
        .then_error("Only the service team can record messages.");
    given::<Message>([taken()])
        .when(MessageCommand::Take(take()), &operator())
        .then_error("This message already exists.");
    given::<Message>([])
        .when(MessageCommand::Take(TakeMessageCommand { text: "".into(), ..take() }), &operator())
        .then_error("The message cannot be empty.");
    given::<Message>([]).when(MessageCommand::Close, &client()).then_error("This message does not exist.");
    given::<Message>([taken()])
        .when(MessageCommand::Deliver { to: Recipient::Other { name: "x".into() } }, &client())
        .then_error("Only the service team can record deliveries.");
    given::<Message>([taken()])
        .when(MessageCommand::Close, &auditor())
        .then_error("Dispatchers and auditors cannot change anything.");
}

#[test]
fn a_name_fits_on_one_line() {
    for caller in ["Jean\nTremblay", "Jean\tTremblay", "Jean\r\nTremblay", "Jean\u{2028}Tremblay"] {
        given::<Message>([])
            .when(MessageCommand::Take(TakeMessageCommand { caller_name: Some(caller.into()), ..take() }), &operator())
            .then_error("The caller's name must fit on one line, without line breaks or tabs.");
    }
}

#[test]
fn free_text_keeps_line_breaks_and_tabs_but_no_other_control_character() {
    let written = "Fuite d'eau au 3e\n\tRappeler avant 17 h";
    let events = given::<Message>([])
        .when(MessageCommand::Take(TakeMessageCommand { text: written.into(), ..take() }), &operator())
        .events();
    assert!(matches!(&events[..], [MessageEvent::MessageTaken(m)] if m.text == written));
    for (text, caller) in [("a\u{0}b", "Jean"), ("Fuite", "Jean\u{7}"), ("Fuite\u{1b}[2J", "Jean")] {
        let command = TakeMessageCommand { text: text.into(), caller_name: Some(caller.into()), ..take() };
        let field = if caller == "Jean" { "message" } else { "caller's name" };
        given::<Message>([])
            .when(MessageCommand::Take(command), &operator())
            .then_error(&format!("The {field} cannot contain control characters (only line breaks and tabs)."));
    }
}

#[test]
fn a_client_closes_and_reopens_a_message() {
    let closed: MessageEvent = MessageClosed { at: t(NOW) }.into();
    let state = given::<Message>([taken()]).when(MessageCommand::Close, &client()).then([closed.clone()]);
    assert_eq!(state.message.map(|m| m.open), Some(false));
    given::<Message>([taken(), closed.clone()])
        .when(MessageCommand::Close, &client())
        .then_error("This message is already closed.");
    given::<Message>([taken(), closed])
        .when(MessageCommand::Reopen, &client())
        .then([MessageReopened { at: t(NOW) }.into()]);
    given::<Message>([taken()]).when(MessageCommand::Reopen, &client()).then_error("This message is already open.");
}

#[test]
fn messages_expire_after_the_retention_period() {
    let taken_at = t("2023-04-28T08:31:00-04:00");
    assert!(!inbox::is_expired(taken_at, t("2023-06-27T08:31:00-04:00"), DEFAULT_RETENTION_DAYS));
    assert!(inbox::is_expired(taken_at, t("2023-06-27T08:32:00-04:00"), DEFAULT_RETENTION_DAYS));
}

fn call_id() -> CallId {
    CallId::from_uuid(Uuid::from_u128(0x99))
}

fn log(kind: CallKind) -> CallCommand {
    CallCommand::Log(LogCallCommand {
        call_id: call_id(),
        account_id: account(),
        call_number: "15319140".into(),
        started_at: t("2023-04-28T08:31:00-04:00"),
        duration_seconds: 37,
        agent: "Julie".into(),
        caller_id: Some("5149150123".into()),
        kind,
    })
}

fn logged(kind: CallKind) -> CallEvent {
    CallLogged {
        call_id: call_id(),
        account_id: account(),
        call_number: "15319140".into(),
        started_at: t("2023-04-28T08:31:00-04:00"),
        duration_seconds: 37,
        agent: "Julie".into(),
        caller_id: Some("5149150123".into()),
        kind,
    }
    .into()
}

fn recording() -> RecordingAttached {
    RecordingAttached {
        recording_id: RecordingId::from_uuid(Uuid::from_u128(0xAA)),
        content_type: "audio/mpeg".into(),
        bytes: 296_000,
        sha256: None,
    }
}

#[test]
fn an_operator_logs_a_voice_call_and_attaches_its_recording() {
    given::<Call>([]).when(log(CallKind::Voice), &operator()).then([logged(CallKind::Voice)]);
    let state = given::<Call>([logged(CallKind::Voice)])
        .when(CallCommand::AttachRecording(recording()), &operator())
        .then([recording().into()]);
    assert_eq!(state.recording.map(|r| r.bytes), Some(296_000));
    assert_eq!(calls::stream_id(call_id()), format!("call-{}", call_id()));
}

#[test]
fn call_refusals() {
    given::<Call>([]).when(log(CallKind::Details), &client()).then_error("Only the service team can record calls.");
    given::<Call>([logged(CallKind::Details)])
        .when(log(CallKind::Details), &operator())
        .then_error("This call already exists.");
    given::<Call>([logged(CallKind::Details)])
        .when(CallCommand::AttachRecording(recording()), &operator())
        .then_error("A Details call has no conversation to record.");
    given::<Call>([logged(CallKind::Voice), recording().into()])
        .when(CallCommand::AttachRecording(recording()), &operator())
        .then_error("This call already has a recording.");
    given::<Call>([])
        .when(CallCommand::AttachRecording(recording()), &operator())
        .then_error("This call does not exist.");
}
