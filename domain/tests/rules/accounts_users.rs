//! Accounts and users.

use uuid::Uuid;
use vigie_domain::account::*;
use vigie_domain::testing::given;
use vigie_domain::user::*;
use vigie_domain::*;

use crate::support::*;

fn open() -> OpenAccountCommand {
    OpenAccountCommand {
        account_id: account(),
        number: "4000".into(),
        name: "Demo Genesis".into(),
        time_zone: TORONTO,
        parent_id: None,
        number_taken: false,
    }
}

fn opened() -> AccountEvent {
    AccountOpened {
        account_id: account(),
        number: "4000".into(),
        name: "Demo Genesis".into(),
        time_zone: TORONTO,
        parent_id: None,
    }
    .into()
}

#[test]
fn an_operator_opens_and_renames_an_account() {
    given::<Account>([]).when(open(), &operator()).then([opened()]);
    let state = given::<Account>([opened()])
        .when(RenameAccountCommand { name: "Genesis".into() }, &operator())
        .then([AccountRenamed { name: "Genesis".into() }.into()]);
    assert_eq!(state.account.map(|a| a.name), Some("Genesis".into()));
    assert_eq!(account::stream_id(account()), format!("account-{}", account()));
}

#[test]
fn renaming_an_account_to_its_own_name_records_nothing() {
    given::<Account>([opened()]).when(RenameAccountCommand { name: " Demo Genesis ".into() }, &operator()).then([]);
}

#[test]
fn a_sub_account_names_its_parent() {
    let command = OpenAccountCommand { parent_id: Some(other_account()), ..open() };
    let events = given::<Account>([]).when(command, &operator()).events();
    assert!(matches!(&events[..], [AccountEvent::AccountOpened(a)] if a.parent_id == Some(other_account())));
}

#[test]
fn account_refusals() {
    given::<Account>([]).when(open(), &client()).then_error("Only the service team can open accounts.");
    given::<Account>([opened()]).when(open(), &operator()).then_error("This account already exists.");
    given::<Account>([])
        .when(OpenAccountCommand { number_taken: true, ..open() }, &operator())
        .then_error("This account number is already taken.");
    given::<Account>([])
        .when(OpenAccountCommand { parent_id: Some(account()), ..open() }, &operator())
        .then_error("An account cannot be its own parent.");
    given::<Account>([])
        .when(OpenAccountCommand { name: "".into(), ..open() }, &operator())
        .then_error("The account name cannot be empty.");
    given::<Account>([])
        .when(RenameAccountCommand { name: "x".into() }, &operator())
        .then_error("This account does not exist.");
    assert_eq!(parse_time_zone("Mars/Olympus").expect_err("unknown").to_string(), "Unknown time zone: Mars/Olympus.");
    assert_eq!(parse_time_zone("America/Toronto"), Ok(TORONTO));
}

fn user_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x77))
}

fn create_user(role: Role, account_ids: Vec<AccountId>) -> UserCommand {
    UserCommand::Create { user_id: user_id(), username: "anthony".into(), role, account_ids, username_taken: false }
}

fn user_created() -> UserEvent {
    UserCreated { user_id: user_id(), username: "anthony".into(), role: Role::Client, account_ids: vec![account()] }
        .into()
}

#[test]
fn an_operator_creates_a_user_reaching_accounts() {
    given::<User>([]).when(create_user(Role::Client, vec![account(), account()]), &operator()).then([user_created()]);
    let state = given::<User>([user_created()])
        .when(
            UserCommand::ChangeAccounts { account_ids: vec![other_account(), account()], feeds_elsewhere: vec![] },
            &operator(),
        )
        .state_after();
    assert_eq!(state.user.map(|u| u.account_ids), Some(vec![account(), other_account()]));
}

#[test]
fn the_same_list_of_accounts_again_records_nothing() {
    // user_created() reaches account() alone: the list again, repeated, changes nothing.
    given::<User>([user_created()])
        .when(
            UserCommand::ChangeAccounts { account_ids: vec![account(), account()], feeds_elsewhere: vec![] },
            &operator(),
        )
        .then([]);
}

#[test]
fn only_clients_have_a_list_of_accounts() {
    for staff in [Role::Operator, Role::Dispatcher, Role::Auditor] {
        let error = given::<User>([]).when(create_user(staff, vec![account()]), &operator()).then_error(
            "Only client users have a list of accounts; operators, dispatch and auditors reach every account.",
        );
        assert_eq!(error.code(), "accounts_for_clients_only");
    }
    let auditor: UserEvent =
        UserCreated { user_id: user_id(), username: "anthony".into(), role: Role::Auditor, account_ids: vec![] }.into();
    given::<User>([auditor])
        .when(UserCommand::ChangeAccounts { account_ids: vec![account()], feeds_elsewhere: vec![] }, &operator())
        .then_error("Only client users have a list of accounts; operators, dispatch and auditors reach every account.");
}

#[test]
fn user_refusals() {
    given::<User>([])
        .when(create_user(Role::Client, vec![account()]), &client())
        .then_error("Only the service team can create users.");
    given::<User>([])
        .when(create_user(Role::Client, vec![]), &operator())
        .then_error("A client user reaches at least one account.");
    given::<User>([]).when(create_user(Role::Dispatcher, vec![]), &operator()).events();
    let taken = UserCommand::Create {
        user_id: user_id(),
        username: "anthony".into(),
        role: Role::Operator,
        account_ids: vec![],
        username_taken: true,
    };
    given::<User>([]).when(taken, &operator()).then_error("This username is already taken.");
    let spaced = UserCommand::Create {
        user_id: user_id(),
        username: "an thony".into(),
        role: Role::Operator,
        account_ids: vec![],
        username_taken: false,
    };
    given::<User>([])
        .when(spaced, &operator())
        .then_error("A username has only letters, digits, dots, dashes, underscores or @.");
    given::<User>([user_created()])
        .when(create_user(Role::Client, vec![account()]), &operator())
        .then_error("This user already exists.");
    given::<User>([]).when(UserCommand::Deactivate, &operator()).then_error("This user does not exist.");
}

#[test]
fn passwords_change_as_facts_only() {
    let own = CommandContext::new(Actor { user_id: user_id(), username: "anthony".into(), role: Role::Client }, t(NOW));
    let events =
        given::<User>([user_created()]).when(UserCommand::ChangePassword, &own).then([PasswordChanged {}.into()]);
    assert!(events.user.is_some());
    given::<User>([user_created()])
        .when(UserCommand::ChangePassword, &client())
        .then_error("You can only change your own password.");
    given::<User>([user_created()]).when(UserCommand::ResetPassword, &operator()).then([PasswordReset {}.into()]);
    given::<User>([user_created()])
        .when(UserCommand::ResetPassword, &own)
        .then_error("Only the service team can reset passwords.");
    let data = serde_json::to_string(&UserEvent::from(PasswordChanged {})).expect("json");
    assert!(!data.contains("hash") && !data.contains("password\":"), "{data}");
}

#[test]
fn a_deactivated_user_changes_nothing_more() {
    let state =
        given::<User>([user_created()]).when(UserCommand::Deactivate, &operator()).then([UserDeactivated {}.into()]);
    assert_eq!(state.user.map(|u| u.active), Some(false));
    given::<User>([user_created(), UserDeactivated {}.into()])
        .when(UserCommand::ResetPassword, &operator())
        .then_error("This user is deactivated.");
}

fn own_context() -> CommandContext {
    CommandContext::new(Actor { user_id: user_id(), username: "anthony".into(), role: Role::Client }, t(NOW))
}

fn feed(n: u128) -> Uuid {
    Uuid::from_u128(0xfeed_0000 + n)
}

fn feed_created(n: u128) -> UserEvent {
    CalendarFeedCreated { feed_id: feed(n), schedule_id: schedule_id() }.into()
}

fn feed_revoked(n: u128) -> UserEvent {
    CalendarFeedRevoked { feed_id: feed(n), schedule_id: schedule_id() }.into()
}

#[test]
fn calendar_feeds_are_recorded_when_created_and_revoked() {
    let create =
        || UserCommand::CreateCalendarFeed { feed_id: feed(1), schedule_id: schedule_id(), account_id: account() };
    let state = given::<User>([user_created()]).when(create(), &own_context()).then([feed_created(1)]);
    assert_eq!(state.feeds.get(&feed(1)), Some(&schedule_id()));
    // A retry of the same creation (an Idempotency-Key's) records nothing new.
    given::<User>([user_created(), feed_created(1)]).when(create(), &own_context()).then([]);

    let revoke = || UserCommand::RevokeCalendarFeed { feed_id: feed(1) };
    let state = given::<User>([user_created(), feed_created(1)]).when(revoke(), &own_context()).then([feed_revoked(1)]);
    assert!(state.feeds.is_empty());
    given::<User>([user_created(), feed_created(1)]).when(revoke(), &operator()).then([feed_revoked(1)]);
    // Revoked twice (two clicks): the second finds nothing to revoke; re-created, it is refused.
    given::<User>([user_created(), feed_created(1), feed_revoked(1)])
        .when(revoke(), &own_context())
        .then_error("This calendar feed does not exist.");
    given::<User>([user_created(), feed_created(1), feed_revoked(1)])
        .when(create(), &own_context())
        .then_error("This calendar feed has been revoked; create a new one.");
    let data = serde_json::to_string(&feed_created(1)).expect("json");
    assert!(!data.contains("token"), "{data}");
}

#[test]
fn only_the_owner_creates_a_feed_and_only_they_or_an_operator_revoke_it() {
    given::<User>([user_created()])
        .when(
            UserCommand::CreateCalendarFeed { feed_id: feed(1), schedule_id: schedule_id(), account_id: account() },
            &operator(),
        )
        .then_error("A calendar feed shows what its creator may see, so you can only create your own.");
    given::<User>([user_created(), feed_created(1)])
        .when(UserCommand::RevokeCalendarFeed { feed_id: feed(1) }, &client())
        .then_error("Only the service team can revoke another user's calendar feed.");
    // A client no longer in the schedule's account (moved out since their session began).
    given::<User>([user_created()])
        .when(
            UserCommand::CreateCalendarFeed {
                feed_id: feed(1),
                schedule_id: schedule_id(),
                account_id: other_account(),
            },
            &own_context(),
        )
        .then_error("This schedule does not exist.");
    given::<User>([user_created(), UserDeactivated {}.into()])
        .when(
            UserCommand::CreateCalendarFeed { feed_id: feed(1), schedule_id: schedule_id(), account_id: account() },
            &own_context(),
        )
        .then_error("This user is deactivated.");
}

#[test]
fn moving_a_client_out_of_an_account_revokes_their_feeds_of_its_schedules() {
    let history = [user_created(), feed_created(1), feed_created(2)];
    let change =
        UserCommand::ChangeAccounts { account_ids: vec![other_account()], feeds_elsewhere: vec![feed(2), feed(9)] };
    let state = given::<User>(history)
        .when(change, &operator())
        .then([UserAccountsChanged { account_ids: vec![other_account()] }.into(), feed_revoked(2)]);
    assert_eq!(state.feeds.keys().collect::<Vec<_>>(), [&feed(1)]);

    // An operator's (empty) list of accounts limits nothing they see: their feeds stay.
    let operator_user: UserEvent =
        UserCreated { user_id: user_id(), username: "nadia".into(), role: Role::Operator, account_ids: vec![] }.into();
    let change = UserCommand::ChangeAccounts { account_ids: vec![], feeds_elsewhere: vec![feed(1)] };
    given::<User>([operator_user, feed_created(1)]).when(change, &operator()).then([]);
}

#[test]
fn a_reset_or_a_deactivation_revokes_every_feed_still_working() {
    let history = [user_created(), feed_created(1), feed_created(2), feed_created(3), feed_revoked(2)];
    let state = given::<User>(history.clone()).when(UserCommand::ResetPassword, &operator()).then([
        PasswordReset {}.into(),
        feed_revoked(1),
        feed_revoked(3),
    ]);
    assert!(state.feeds.is_empty());
    given::<User>(history).when(UserCommand::Deactivate, &operator()).then([
        UserDeactivated {}.into(),
        feed_revoked(1),
        feed_revoked(3),
    ]);
    // Changing one's own password keeps them: the user is still who they were.
    given::<User>([user_created(), feed_created(1)])
        .when(UserCommand::ChangePassword, &own_context())
        .then([PasswordChanged {}.into()]);
}
