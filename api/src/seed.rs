//! What a new database starts with: the first operator, and with `--demo` the client manual's example.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{Datelike, Duration as Days, NaiveTime, Utc};
use vigie_domain::calls::{CallKind, LogCallCommand};
use vigie_domain::contact::ContactDetails;
use vigie_domain::inbox::TakeMessageCommand;
use vigie_domain::schedule::{
    AssignCommand, CommentCommand, CreateScheduleCommand, CreateSeriesCommand, OverrideCommand, RepeatUnit, SeriesEnd,
    SeriesRule,
};
use vigie_domain::{
    Account, AccountCommand, AccountId, Aggregate, CallCommand, CallId, CommandContext, Contact, ContactCommand,
    ContactId, MessageCommand, MessageId, OverrideId, Role, Schedule, ScheduleId, SeriesId, User, UserCommand, UserId,
    account, calls, contact, inbox, schedule, user,
};
use vigie_eventstore::{AppendRequest, EventLog, ExpectedVersion};

use crate::app::AppState;
use crate::auth::{Caller, password, store};
use crate::commands::{self, ChangeHeaders};
use crate::unique_names::{self, Kind};

/// Every demo user's password (demo mode only).
pub const DEMO_PASSWORD: &str = "vigie-demo";

/// At every start: records the calendar feeds made before the log recorded them; then, on an
/// empty database, creates the operator `admin` and, with `demo`, the manual's example.
pub async fn first_start(app: &AppState, demo: bool) -> anyhow::Result<()> {
    crate::export::feeds::record_feeds_made_before_the_log(app).await?;
    let admin_id = UserId::new_v7();
    if !won_the_first_start(app, admin_id).await? {
        if demo {
            println!("The database already holds data: the demo was not seeded again.");
        }
        return Ok(());
    }
    let admin_password = match std::env::var("VIGIE_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let generated = crate::auth::store::new_token().0[..20].to_owned();
            println!("Created the operator 'admin' with the password {generated} (shown only this once).");
            generated
        }
    };
    let system = Caller {
        user_id: admin_id,
        username: "admin".into(),
        role: Role::Operator,
        account_ids: vec![],
        token_hash: String::new(),
    };
    create_user(app, &system, admin_id, "admin", &admin_password, Role::Operator, vec![]).await?;
    if demo {
        seed_demo(app, &system).await?;
    }
    Ok(())
}

/// Whether this node is the one to seed an empty database. Nodes started together
/// on it all find it empty; the one whose claim on the name `admin` wins seeds it,
/// and the others wait until they see it seeded. A claim left by a node that
/// stopped before it wrote anything is taken over after a minute.
async fn won_the_first_start(app: &AppState, admin_id: UserId) -> anyhow::Result<bool> {
    let exists = |owner| app.live().read().users.get(UserId::from_uuid(owner)).is_some();
    loop {
        if !app.live().read().users.is_empty() {
            return Ok(false);
        }
        let claimed = unique_names::claim(app, Kind::Username, "admin", admin_id.as_uuid(), exists)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        if claimed {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn print_demo_logins(address: SocketAddr) {
    println!("Demo data is ready. Log in with POST http://{address}/api/v1/auth/login, e.g.");
    println!(
        "  curl -s http://{address}/api/v1/auth/login -H 'content-type: application/json' \\\n       -d '{{\"username\":\"4000-TEST\",\"password\":\"{DEMO_PASSWORD}\"}}'"
    );
    println!("  users 4000-TEST and 4001-TEST (clients), operator, dispatch, auditor; password {DEMO_PASSWORD}");
    println!("  then follow the tour in README.md (GET /api/v1/me with 'authorization: Bearer <token>').");
}

async fn create_user(
    app: &AppState,
    by: &Caller,
    id: UserId,
    username: &str,
    secret: &str,
    role: Role,
    account_ids: Vec<AccountId>,
) -> anyhow::Result<()> {
    let turn = password::take_turn().await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let hash = password::hash(&turn, secret.to_owned()).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    store::set_password_hash(app.db(), id, &hash, Utc::now()).await.map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let command = || UserCommand::Create {
        user_id: id,
        username: username.into(),
        role,
        account_ids: account_ids.clone(),
        username_taken: false,
    };
    run::<User>(app, by, id, |s, ctx| user::decide(s, command(), ctx)).await
}

/// Runs one command through the same path as the API's.
async fn run<A>(
    app: &AppState,
    by: &Caller,
    id: A::Id,
    decide: impl Fn(&A::State, &CommandContext) -> Result<Vec<A::Event>, vigie_domain::DomainError>,
) -> anyhow::Result<()>
where
    A: vigie_projections::live::LiveAggregate,
    A::Id: std::hash::Hash + Eq,
{
    let reason = Some("Demo data".to_owned());
    commands::execute::<A>(app, by, id, &ChangeHeaders::default(), reason, decide)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("seeding failed: {}", e.detail))
}

/// Appends a message's or call's first events, kept only for the retention period.
async fn append_kept<A: Aggregate>(
    app: &AppState,
    by: &Caller,
    id: A::Id,
    events: Vec<A::Event>,
) -> anyhow::Result<()> {
    let events =
        commands::to_new_events(&events, by, &ChangeHeaders::default()).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let retention = Duration::from_secs(u64::from(vigie_domain::inbox::DEFAULT_RETENTION_DAYS) * 24 * 3600);
    let request = AppendRequest::new(A::stream_id(id), ExpectedVersion::NoStream, events).with_max_age(retention);
    app.store().append(request).await?;
    Ok(())
}

struct DemoAccount {
    id: AccountId,
    contacts: Vec<ContactId>,
}

async fn demo_account(
    app: &AppState,
    by: &Caller,
    number: &str,
    name: &str,
    people: &[(&str, &str, &str)],
) -> anyhow::Result<DemoAccount> {
    let id = AccountId::new_v7();
    let open = || account::OpenAccountCommand {
        account_id: id,
        number: number.into(),
        name: name.into(),
        time_zone: chrono_tz::America::Toronto,
        parent_id: None,
        number_taken: false,
    };
    run::<Account>(app, by, id, |s, ctx| account::decide(s, AccountCommand::Open(open()), ctx)).await?;
    let mut contacts = Vec::new();
    for (person, phone, email) in people {
        let contact_id = ContactId::new_v7();
        let details = ContactDetails {
            name: (*person).into(),
            phones: vec![(*phone).into(), "514-555-0100".into()],
            sms: Some((*phone).into()),
            email: Some((*email).into()),
            notes: None,
        };
        run::<Contact>(app, by, contact_id, |s, ctx| {
            contact::decide(s, ContactCommand::Add { contact_id, account_id: id, details: details.clone() }, ctx)
        })
        .await?;
        contacts.push(contact_id);
    }
    Ok(DemoAccount { id, contacts })
}

/// A weekly Monday 07:30 → Monday 07:30 schedule, at ranks 0 and 1, from 8 weeks back to 26 ahead.
async fn demo_schedule(app: &AppState, by: &Caller, account: &DemoAccount, name: &str) -> anyhow::Result<ScheduleId> {
    let schedule_id = ScheduleId::new_v7();
    let create = || CreateScheduleCommand {
        schedule_id,
        account_id: account.id,
        name: name.into(),
        time_zone: chrono_tz::America::Toronto,
        name_taken: false,
    };
    run::<Schedule>(app, by, schedule_id, |s, ctx| schedule::decide(s, create().into(), ctx)).await?;
    let today = Utc::now().with_timezone(&chrono_tz::America::Toronto).date_naive();
    let monday = today - Days::days(i64::from(today.weekday().num_days_from_monday())) - Days::weeks(8);
    let first_start = monday.and_time(NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default());
    for rank in [0, 1] {
        let rule = SeriesRule {
            first_start,
            first_end: first_start + Days::weeks(1),
            every: 1,
            unit: RepeatUnit::Weeks,
            end: SeriesEnd::Count(35),
        };
        let series_id = SeriesId::new_v7();
        let command =
            || CreateSeriesCommand { series_id, rule: rule.clone(), rank, name: "Rotation".into(), role: "OC".into() };
        run::<Schedule>(app, by, schedule_id, |s, ctx| schedule::decide(s, command().into(), ctx)).await?;
    }

    // Assign most weeks, leave some empty, override part of this week, comment a few.
    let shifts: Vec<(vigie_domain::ShiftId, u32, chrono::DateTime<Utc>)> = {
        let live = app.live().read();
        let state = live.schedules.get(schedule_id).ok_or_else(|| anyhow::anyhow!("the demo schedule vanished"))?;
        state.shifts().into_iter().map(|s| (s.id, s.rank, s.start)).collect()
    };
    let people = &account.contacts;
    let now = Utc::now();
    for (week, (shift_id, rank, start)) in shifts.iter().enumerate() {
        let contact = match (rank, week % 5) {
            (0, 3) | (1, 1) | (1, 4) => continue,
            (0, n) => people[n % 2],
            (_, _) => people[2 % people.len()],
        };
        let facts = app.live().read().contacts.get(contact).and_then(|c| c.facts());
        let Some(facts) = facts else { continue };
        let assign = || AssignCommand { shift_id: *shift_id, contact: facts.clone(), comment: None, recurring: None };
        run::<Schedule>(app, by, schedule_id, |s, ctx| schedule::decide(s, assign().into(), ctx)).await?;
        let this_week = *start <= now && now < *start + Days::weeks(1);
        if this_week && *rank == 0 {
            let cover = app.live().read().contacts.get(people[2 % people.len()]).and_then(|c| c.facts());
            if let Some(cover) = cover {
                let from = *start + Days::days(1);
                let command = || OverrideCommand {
                    override_id: OverrideId::new_v7(),
                    shift_id: *shift_id,
                    contact: cover.clone(),
                    start: from,
                    end: from + Days::days(1),
                    comment: Some("Covers while Patrick is at the dentist".into()),
                };
                run::<Schedule>(app, by, schedule_id, |s, ctx| schedule::decide(s, command().into(), ctx)).await?;
            }
            let comment =
                || CommentCommand { shift_id: *shift_id, text: "Call the cell phone first after 22:00.".into() };
            run::<Schedule>(app, by, schedule_id, |s, ctx| schedule::decide(s, comment().into(), ctx)).await?;
        }
    }
    Ok(schedule_id)
}

async fn demo_messages_and_calls(app: &AppState, by: &Caller, account: AccountId) -> anyhow::Result<()> {
    let ctx = CommandContext::new(by.actor(), Utc::now()).with_reason("Demo data");
    let callers =
        [("Jean Dupuis", "418-555-0142"), ("Claire Martin", "514-555-0199"), ("Hôpital Sainte-Anne", "450-555-0110")];
    for n in 0..18u32 {
        let (caller_name, number) = callers[n as usize % callers.len()];
        let taken_at = Utc::now() - Days::hours(i64::from(n) * 79 + 2);
        let message_id = MessageId::new_v7();
        let take = TakeMessageCommand {
            message_id,
            account_id: account,
            taken_at,
            agent: ["Nadia", "Olivier", "Chantal"][n as usize % 3].into(),
            caller_name: Some(caller_name.into()),
            caller_number: Some(number.into()),
            text: format!("Please call back about the furnace (message {}).", n + 1),
            urgent: n % 4 == 0,
        };
        let mut events = inbox::decide(&Default::default(), MessageCommand::Take(take), &ctx)?;
        if n % 3 != 0 {
            let taken = events.iter().fold(inbox::MessageState::default(), inbox::evolve);
            events.extend(inbox::decide(&taken, MessageCommand::Close, &ctx)?);
        }
        append_kept::<inbox::Message>(app, by, message_id, events).await?;

        let call_id = CallId::new_v7();
        let log = LogCallCommand {
            call_id,
            account_id: account,
            call_number: format!("{}", 880_000 + n),
            started_at: taken_at - Days::minutes(3),
            duration_seconds: 45 + n * 7,
            agent: "Nadia".into(),
            caller_id: Some(number.into()),
            kind: if n % 2 == 0 { CallKind::Voice } else { CallKind::Details },
        };
        let voice = log.kind == CallKind::Voice;
        let mut events = calls::decide(&Default::default(), CallCommand::Log(log), &ctx)?;
        if voice {
            // A real, playable recording: a short tone, as WAV.
            let audio = demo_recording(n);
            let recording_id = vigie_domain::RecordingId::new_v7();
            let sha256: String = sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &audio))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            crate::routes::store_audio(app.db(), recording_id, account, call_id, "audio/wav", &sha256, &audio)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let logged = events.iter().fold(calls::CallState::default(), calls::evolve);
            let attach = calls::RecordingAttached {
                recording_id,
                content_type: "audio/wav".into(),
                bytes: audio.len() as u64,
                sha256: Some(sha256),
            };
            events.extend(calls::decide(&logged, CallCommand::AttachRecording(attach), &ctx)?);
        }
        append_kept::<calls::Call>(app, by, call_id, events).await?;
    }
    Ok(())
}

/// Two seconds of a tone (its pitch varies with `n`) as a 16-bit mono WAV at 8 kHz.
fn demo_recording(n: u32) -> Vec<u8> {
    const RATE: u32 = 8000;
    let samples = RATE * 2;
    let pitch = 330.0 + 55.0 * f64::from(n % 5);
    let mut wav = Vec::with_capacity(44 + samples as usize * 2);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // format chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples * 2).to_le_bytes());
    for i in 0..samples {
        let t = f64::from(i) / f64::from(RATE);
        // Fade in and out over 50 ms so the tone does not click.
        let envelope = (t / 0.05).min(1.0).min((2.0 - t) / 0.05).max(0.0);
        let sample = (envelope * 0.3 * (2.0 * std::f64::consts::PI * pitch * t).sin() * f64::from(i16::MAX)) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

async fn seed_demo(app: &AppState, by: &Caller) -> anyhow::Result<()> {
    let genesis = demo_account(
        app,
        by,
        "4000",
        "Demo Genesis",
        &[
            ("Patrick Tremblay", "514-555-0123", "patrick.tremblay@example.com"),
            ("Anthony Giosi", "514-555-0145", "anthony.giosi@example.com"),
            ("Luc Lambert", "438-555-0167", "luc.lambert@example.com"),
            ("Marie Côté", "450-555-0189", "marie.cote@example.com"),
            ("Sophie Gagnon", "514-555-0111", "sophie.gagnon@example.com"),
        ],
    )
    .await?;
    let clinique = demo_account(
        app,
        by,
        "4001",
        "Demo Clinique",
        &[
            ("Julie Roy", "819-555-0131", "julie.roy@example.com"),
            ("Marc Bélanger", "819-555-0157", "marc.belanger@example.com"),
            ("Nathalie Bouchard", "819-555-0172", "nathalie.bouchard@example.com"),
        ],
    )
    .await?;
    demo_schedule(app, by, &genesis, "01 Horaire").await?;
    demo_schedule(app, by, &clinique, "Garde").await?;
    demo_messages_and_calls(app, by, genesis.id).await?;
    demo_messages_and_calls(app, by, clinique.id).await?;
    for (name, role, accounts) in [
        ("4000-TEST", Role::Client, vec![genesis.id]),
        ("4001-TEST", Role::Client, vec![clinique.id]),
        ("operator", Role::Operator, vec![]),
        ("dispatch", Role::Dispatcher, vec![]),
        ("auditor", Role::Auditor, vec![]),
    ] {
        create_user(app, by, UserId::new_v7(), name, DEMO_PASSWORD, role, accounts).await?;
    }
    Ok(())
}
