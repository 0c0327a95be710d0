//! The projections benchmark: builds the data set of issue 4 in a database, then measures the live model on it.
//!
//! `vigie-bench-data generate URL [ACCOUNTS] [MESSAGES_AND_CALLS_PER_ACCOUNT]` appends, per
//! account, its opening, three contacts, two schedules of a year of weekly shifts at ranks
//! 0 and 1 (all assigned, with a few overrides), and messages and calls; the defaults
//! (5,000 accounts, 200) give 1,000,000 messages and calls.
//! `vigie-bench-data measure URL` times a full rebuild of the live model, dispatch lookups
//! and append-to-visible latency, and prints this process's resident memory.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vigie_domain::account::OpenAccountCommand;
use vigie_domain::calls::{CallKind, LogCallCommand};
use vigie_domain::contact::ContactDetails;
use vigie_domain::inbox::TakeMessageCommand;
use vigie_domain::schedule::{
    AssignCommand, CommentCommand, ContactFacts, CreateScheduleCommand, CreateSeriesCommand, OverrideCommand,
    RepeatUnit, SeriesEnd, SeriesRule,
};
use vigie_domain::{
    AccountCommand, AccountId, Actor, Aggregate, CallCommand, CallId, CommandContext, ContactCommand, ContactId,
    DomainEvent, MessageCommand, MessageId, OverrideId, Role, Schedule, ScheduleId, ScheduleState, SeriesId, UserId,
    account, calls, contact, inbox, schedule,
};
use vigie_eventstore::{AppendRequest, EventLog, EventStore, ExpectedVersion, NewEvent, StoreOptions};
use vigie_projections::live::{DispatchFilter, Live};

fn new_events<E: DomainEvent>(events: &[E]) -> Vec<NewEvent> {
    events.iter().map(|e| NewEvent::new(e.event_type(), e.schema_version(), &e.to_data()).expect("JSON")).collect()
}

fn context() -> CommandContext {
    let operator = Actor { user_id: UserId::new_v7(), username: "bench".into(), role: Role::Operator };
    CommandContext::new(operator, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).with_reason("benchmark data")
}

/// One account with its directory and two schedules, appended stream by stream.
async fn account(store: &EventStore, number: usize, rng: &mut StdRng) -> anyhow::Result<AccountId> {
    let ctx = context();
    let account_id = AccountId::new_v7();
    let open = OpenAccountCommand {
        account_id,
        number: format!("{}", 10_000 + number),
        name: format!("Account {number}"),
        time_zone: chrono_tz::America::Toronto,
        parent_id: None,
        number_taken: false,
    };
    let events = account::decide(&Default::default(), AccountCommand::Open(open), &ctx)?;
    store
        .append(AppendRequest::new(
            vigie_domain::Account::stream_id(account_id),
            ExpectedVersion::NoStream,
            new_events(&events),
        ))
        .await?;
    let mut contacts = Vec::new();
    for n in 0..3 {
        let id = ContactId::new_v7();
        let details = ContactDetails {
            name: format!("Contact {number}-{n}"),
            phones: vec!["514-555-0100".into()],
            ..Default::default()
        };
        let events =
            contact::decide(&Default::default(), ContactCommand::Add { contact_id: id, account_id, details }, &ctx)?;
        store
            .append(AppendRequest::new(
                vigie_domain::Contact::stream_id(id),
                ExpectedVersion::NoStream,
                new_events(&events),
            ))
            .await?;
        contacts.push(ContactFacts { id, account_id, active: true });
    }
    for name in ["01 Horaire", "02 Garde"] {
        let id = ScheduleId::new_v7();
        let mut state = ScheduleState::default();
        let mut events = Vec::new();
        let mut decide = |state: &mut ScheduleState, command: vigie_domain::ScheduleCommand| -> anyhow::Result<()> {
            for event in schedule::decide(state, command, &ctx)? {
                *state = schedule::evolve(std::mem::take(state), &event);
                events.push(event);
            }
            Ok(())
        };
        let create = CreateScheduleCommand {
            schedule_id: id,
            account_id,
            name: name.into(),
            time_zone: chrono_tz::America::Toronto,
            name_taken: false,
        };
        decide(&mut state, create.into())?;
        for rank in [0, 1] {
            let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap().and_hms_opt(7, 30, 0).unwrap();
            let rule = SeriesRule {
                first_start: start,
                first_end: start + chrono::Duration::weeks(1),
                every: 1,
                unit: RepeatUnit::Weeks,
                end: SeriesEnd::Count(52),
            };
            decide(
                &mut state,
                CreateSeriesCommand {
                    series_id: SeriesId::new_v7(),
                    rule,
                    rank,
                    name: "Rotation".into(),
                    role: "OC".into(),
                }
                .into(),
            )?;
        }
        let shifts: Vec<_> = state.shifts().into_iter().map(|s| (s.id, s.start)).collect();
        for (shift_id, _) in &shifts {
            let contact = contacts[rng.random_range(0..contacts.len())].clone();
            decide(&mut state, AssignCommand { shift_id: *shift_id, contact, comment: None, recurring: None }.into())?;
        }
        for _ in 0..4 {
            let (shift_id, start) = shifts[rng.random_range(0..shifts.len())];
            let contact = contacts[rng.random_range(0..contacts.len())].clone();
            let from = start + chrono::Duration::hours(rng.random_range(0..100));
            let command = OverrideCommand {
                override_id: OverrideId::new_v7(),
                shift_id,
                contact,
                start: from,
                end: from + chrono::Duration::hours(12),
                comment: None,
            };
            let _ = decide(&mut state, command.into());
        }
        store
            .append(AppendRequest::new(Schedule::stream_id(id), ExpectedVersion::NoStream, new_events(&events)))
            .await?;
    }
    Ok(account_id)
}

async fn messages_and_calls(
    store: EventStore,
    accounts: Vec<AccountId>,
    per_account: usize,
    writers: usize,
) -> anyhow::Result<()> {
    let retention = Duration::from_secs(60 * 24 * 3600);
    // Each account's messages (and calls) spread evenly over the retention
    // period, so that however many there are, the inbox and call log show
    // them all: a busy account is many messages a day, not a longer past.
    let spacing_minutes = (retention.as_secs() / 60 / (per_account as u64 / 2).max(1)).max(1) as i64;
    let chunks: Vec<Vec<AccountId>> =
        accounts.chunks(accounts.len().div_ceil(writers).max(1)).map(<[_]>::to_vec).collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let store = store.clone();
            tokio::spawn(async move {
                let ctx = context();
                let now = Utc::now();
                for account_id in chunk {
                    for n in 0..per_account / 2 {
                        let at = now - chrono::Duration::minutes(n as i64 * spacing_minutes);
                        let message_id = MessageId::new_v7();
                        let take = TakeMessageCommand {
                            message_id,
                            account_id,
                            taken_at: at,
                            agent: "Nadia".into(),
                            caller_name: Some("Jean Dupuis".into()),
                            caller_number: Some("418-555-0142".into()),
                            text: format!("Call back {n}"),
                            urgent: n % 7 == 0,
                        };
                        let events = inbox::decide(&Default::default(), MessageCommand::Take(take), &ctx)?;
                        store
                            .append(
                                AppendRequest::new(
                                    inbox::Message::stream_id(message_id),
                                    ExpectedVersion::NoStream,
                                    new_events(&events),
                                )
                                .with_max_age(retention),
                            )
                            .await?;
                        let call_id = CallId::new_v7();
                        let log = LogCallCommand {
                            call_id,
                            account_id,
                            call_number: format!("{n}"),
                            started_at: at,
                            duration_seconds: 60,
                            agent: "Nadia".into(),
                            caller_id: Some("418-555-0142".into()),
                            kind: CallKind::Details,
                        };
                        let events = calls::decide(&Default::default(), CallCommand::Log(log), &ctx)?;
                        store
                            .append(
                                AppendRequest::new(
                                    calls::Call::stream_id(call_id),
                                    ExpectedVersion::NoStream,
                                    new_events(&events),
                                )
                                .with_max_age(retention),
                            )
                            .await?;
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

fn resident_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn measure(store: EventStore) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    let started = Instant::now();
    let live = Live::start(&store).await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!("rebuild of the live model: {head} events in {elapsed:.2} s = {:.0} events/s", head as f64 / elapsed);
    println!("resident memory after the rebuild: {:.0} MiB", resident_memory_mib());

    // Dispatch lookups: who is on call for a random account at a random instant of the year.
    let (accounts, schedules): (Vec<AccountId>, usize) = {
        let model = live.read();
        let accounts: Vec<AccountId> = model.accounts.iter().map(|(id, _)| *id).collect();
        (accounts, model.schedules.len())
    };
    let mut rng = StdRng::seed_from_u64(7);
    let lookups = 1_000_000;
    let year = Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap();
    let queries: Vec<_> = (0..lookups)
        .map(|_| {
            (
                accounts[rng.random_range(0..accounts.len())],
                year + chrono::Duration::minutes(rng.random_range(0..525_000)),
            )
        })
        .collect();
    let started = Instant::now();
    let mut found = 0usize;
    for (account, at) in &queries {
        let model = live.read();
        found += model.dispatch().on_call(*account, *at, DispatchFilter::default()).count();
    }
    let per = started.elapsed().as_secs_f64() / lookups as f64 * 1e6;
    println!(
        "dispatch index lookup (account → every on-call entry): {per:.2} µs per lookup over {lookups} lookups, {schedules} schedules, {found} entries"
    );
    // The same question walked through the schedules themselves, for comparison.
    let started = Instant::now();
    let mut walked = 0usize;
    for (account, at) in &queries {
        let model = live.read();
        for (_, state) in model.schedules_of(*account) {
            walked += state.on_call_at(*at, None).len();
        }
    }
    let per = started.elapsed().as_secs_f64() / lookups as f64 * 1e6;
    println!("the same through the schedules' own lanes: {per:.2} µs per lookup, {walked} entries");
    anyhow::ensure!(found == walked, "the dispatch index found {found} entries, the schedules {walked}");

    // Append to visible in this node's live model.
    let schedule = { live.read().schedules.iter().next().map(|(id, _)| *id).expect("a schedule") };
    let shift =
        { live.read().schedules.get(schedule).and_then(|s| s.shifts().first().map(|s| s.id)).expect("a shift") };
    let mut latencies = Vec::new();
    let ctx = context();
    for n in 0..1000 {
        let state = live.read().schedules.for_command(schedule);
        let events =
            schedule::decide(&state.0, CommentCommand { shift_id: shift, text: format!("latency {n}") }.into(), &ctx)?;
        let t = Instant::now();
        let outcome = store
            .append(AppendRequest::new(
                Schedule::stream_id(schedule),
                ExpectedVersion::Exactly(state.1),
                new_events(&events),
            ))
            .await?;
        live.wait_for(outcome.last_position, Duration::from_secs(5)).await;
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let ms = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "append to visible in the live model: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.99),
        ms(1.0)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(url)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: vigie-bench-data generate|measure URL [ACCOUNTS] [MESSAGES_AND_CALLS_PER_ACCOUNT]");
    };
    let store = EventStore::open(url, StoreOptions::default()).await?;
    match mode.as_str() {
        "generate" => {
            let accounts: usize = args.get(2).map_or(Ok(5000), |a| a.parse())?;
            let per_account: usize = args.get(3).map_or(Ok(200), |a| a.parse())?;
            let started = Instant::now();
            let mut rng = StdRng::seed_from_u64(42);
            let mut ids = Vec::with_capacity(accounts);
            for number in 0..accounts {
                ids.push(account(&store, number, &mut rng).await?);
            }
            println!(
                "accounts and schedules: {} events in {:.1} s",
                store.head_position().await?,
                started.elapsed().as_secs_f64()
            );
            messages_and_calls(store.clone(), ids, per_account, 32).await?;
            println!("data set: {} events in {:.1} s", store.head_position().await?, started.elapsed().as_secs_f64());
        }
        "measure" => measure(store).await?,
        other => anyhow::bail!("unknown mode {other}"),
    }
    Ok(())
}
