//! `vigie backup`: a copy of a running server's SQLite database that another server can start from.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use vigie_api::backup::{BackupError, backup};
use vigie_tests::{ServerProcess, TestDatabase, answer};

const SERVER: &str = env!("CARGO_BIN_EXE_vigie-server");

async fn login(client: &reqwest::Client, server: &ServerProcess, user: &str) -> String {
    let request =
        client.post(server.url("/api/v1/auth/login")).json(&json!({"username": user, "password": "vigie-demo"}));
    let (status, body) = answer(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn get(client: &reqwest::Client, server: &ServerProcess, token: &str, path: &str) -> (u16, Value) {
    answer(client.get(server.url(path)).bearer_auth(token).send().await.unwrap()).await
}

/// The path of the first shift of account 4000's first schedule that starts more than a week ahead.
async fn a_future_shift(client: &reqwest::Client, server: &ServerProcess, token: &str) -> String {
    let (_, me) = get(client, server, token, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let (_, schedules) = get(client, server, token, &format!("/api/v1/accounts/{account}/schedules")).await;
    let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
    let from = (chrono::Utc::now() + chrono::Duration::days(8)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (chrono::Utc::now() + chrono::Duration::days(15)).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, roster) =
        get(client, server, token, &format!("/api/v1/schedules/{schedule}/shifts?from={from}&to={to}")).await;
    let shift = roster["shifts"][0]["id"].as_str().expect("a shift next week").to_owned();
    format!("/api/v1/schedules/{schedule}/shifts/{shift}")
}

/// Every event of the log the server holds, oldest first, read by the auditor.
async fn whole_log(client: &reqwest::Client, server: &ServerProcess, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = get(client, server, token, &format!("/api/v1/events?after={after}&limit=1000")).await;
        assert_eq!(status, 200, "{page}");
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => return events,
        }
    }
}

#[tokio::test]
async fn a_backup_taken_while_the_server_writes_holds_exactly_the_changes_up_to_its_position() {
    let db = TestDatabase::sqlite();
    let server = ServerProcess::start(SERVER, &db.url, true).await;
    let client = reqwest::Client::new();
    let token = login(&client, &server, "4000-TEST").await;
    let shift = a_future_shift(&client, &server, &token).await;

    // A client keeps commenting on the shift while the backup runs; each
    // acknowledged comment is noted with the log position it was given.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (client, url, token, stop) =
            (client.clone(), server.url(&format!("{shift}/comments")), token.clone(), stop.clone());
        async move {
            let mut acknowledged = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) && n >= 10 {
                    break;
                }
                let text = format!("comment {n}");
                let request = client.post(&url).bearer_auth(&token).json(&json!({"text": text}));
                let (status, body) = answer(request.send().await.unwrap()).await;
                assert_eq!(status, 200, "{body}");
                acknowledged.push((text, body["position"].as_u64().unwrap()));
            }
            acknowledged
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let folder = tempfile::tempdir().unwrap();
    let destination = folder.path().join("vigie-backup.db");
    let report = backup(&db.url, &destination).await.expect("the backup is taken");
    stop.store(true, Ordering::Relaxed);
    let acknowledged = writer.await.unwrap();

    assert!(destination.is_file());
    assert!(!folder.path().join("vigie-backup.db.partial").exists(), "the temporary copy is gone");
    assert!(report.events > 0 && report.bytes > 0, "{report:?}");
    assert!(
        acknowledged.iter().any(|(_, position)| *position > report.position),
        "the writer went on past the backup's position {}: {acknowledged:?}",
        report.position
    );

    // A server started on the copy has the log up to the reported position, and nothing after it.
    let restored = ServerProcess::start(SERVER, &format!("sqlite://{}", destination.display()), false).await;
    let (status, body) = get(&client, &restored, &token, "/api/v1/me").await;
    assert_eq!(status, 401, "a session opened before the backup does not open the copy: {body}");
    let auditor = login(&client, &restored, "auditor").await;
    let log = whole_log(&client, &restored, &auditor).await;
    assert_eq!(log.len() as u64, report.events);
    assert_eq!(log.last().unwrap()["position"].as_u64(), Some(report.position));
    let comments: Vec<&str> = log
        .iter()
        .filter(|event| event["type"] == "ShiftCommented")
        .map(|event| event["data"]["text"].as_str().unwrap())
        .filter(|text| text.starts_with("comment "))
        .collect();
    let expected: Vec<&str> = acknowledged
        .iter()
        .filter(|(_, position)| *position <= report.position)
        .map(|(text, _)| text.as_str())
        .collect();
    assert_eq!(comments, expected, "every acknowledged comment up to the backup's position, and no other");

    // Passwords came along: the client logs in to the copy and sees the comments there too.
    let token = login(&client, &restored, "4000-TEST").await;
    let (status, _) = get(&client, &restored, &token, "/api/v1/me").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file_and_says_what_is_wrong() {
    let db = TestDatabase::sqlite();
    let folder = tempfile::tempdir().unwrap();
    let source = db.url.clone();

    let missing = backup(&source, &folder.path().join("copy.db")).await.unwrap_err();
    assert!(matches!(missing, BackupError::NoDatabase(_)), "{missing}");
    assert!(missing.to_string().starts_with("there is no database at "), "{missing}");

    // A SQLite file that is not Vigie's.
    let stranger = folder.path().join("stranger.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", stranger.display())).await.unwrap();
    sqlx::query("CREATE TABLE notes (text TEXT)").execute(&pool).await.unwrap();
    pool.close().await;
    let not_vigie =
        backup(&format!("sqlite://{}", stranger.display()), &folder.path().join("copy.db")).await.unwrap_err();
    assert!(matches!(not_vigie, BackupError::NotVigie(_)), "{not_vigie}");
    assert_no_file(&folder.path().join("copy.db"));
    assert_no_file(&folder.path().join("copy.db.partial"));

    // An existing destination is left as it was.
    let server = ServerProcess::start(SERVER, &source, true).await;
    let taken = folder.path().join("taken.db");
    std::fs::write(&taken, b"yesterday's backup").unwrap();
    let exists = backup(&source, &taken).await.unwrap_err();
    assert!(matches!(exists, BackupError::DestinationExists(_)), "{exists}");
    assert!(exists.to_string().contains("never overwrites"), "{exists}");
    assert_eq!(std::fs::read(&taken).unwrap(), b"yesterday's backup");
    drop(server);

    let nowhere = backup(&source, &folder.path().join("no-such-folder/copy.db")).await.unwrap_err();
    assert_eq!(
        nowhere.to_string(),
        format!("there is no folder {} to write the copy in", folder.path().join("no-such-folder").display())
    );

    let postgres = backup("postgres://vigie:secret@127.0.0.1/vigie", &folder.path().join("pg.db")).await.unwrap_err();
    assert!(postgres.to_string().contains("pg_dump") && !postgres.to_string().contains("secret"), "{postgres}");
}

fn assert_no_file(path: &Path) {
    assert!(!path.exists(), "{} should not exist", path.display());
}
