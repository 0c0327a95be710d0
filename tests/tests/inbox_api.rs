//! The inbox and call log over real HTTP, on the demo: filters, CSV, closing and reopening, taking messages and logging calls, and account isolation.

use serde_json::{Value, json};
use vigie_tests::{ServerProcess, TestApp, TestDatabase, backend_tests};

const PASSWORD: &str = "vigie-demo";
const SERVER: &str = env!("CARGO_BIN_EXE_vigie-server");

/// The first account the user reaches.
async fn account_of(app: &TestApp, token: &str) -> String {
    let (_, me) = app.get(token, "/api/v1/me").await;
    me["accounts"][0]["id"].as_str().unwrap().to_owned()
}

/// The account, once the inbox and call log show the demo's 18 messages and calls.
async fn demo_account_of(app: &TestApp, token: &str) -> String {
    let account = account_of(app, token).await;
    for _ in 0..200 {
        let (_, messages) = app.get(token, &format!("/api/v1/accounts/{account}/messages")).await;
        let (_, calls) = app.get(token, &format!("/api/v1/accounts/{account}/calls")).await;
        let call_count =
            calls["recent"].as_array().map_or(0, Vec::len) + calls["archive"].as_array().map_or(0, Vec::len);
        if messages["total"] == 18 && call_count == 18 {
            return account;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the demo's messages and calls never appeared");
}

/// The messages of a page, as (text, status) pairs.
fn messages(page: &Value) -> Vec<(String, String)> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["text"].as_str().unwrap().to_owned(), m["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// Asserts that an instant is written with an offset of Toronto (EST or EDT), as the account's zone.
fn assert_toronto(instant: &Value) {
    let text = instant.as_str().unwrap();
    assert!(text.ends_with("-05:00") || text.ends_with("-04:00"), "{text} is not in Toronto's zone");
}

backend_tests! {
    async fn clients_read_filter_and_download_their_inbox_and_operators_add_to_it(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = account_of(&app, &client).await;

        // The operator takes a message; reading with its position shows it with the demo's 18.
        let (status, taken) = app.post(&operator, &format!("/api/v1/accounts/{account}/messages"), json!({
            "agent": "Chantal", "caller_name": "Marie Côté", "caller_number": "450-555-0189",
            "text": "The alarm panel beeps, please call", "urgent": true,
        })).await;
        assert_eq!(status, 201, "{taken}");
        let position = taken["position"].as_u64().unwrap();
        let base = format!("/api/v1/accounts/{account}/messages");
        let (status, page) = app.get(&client, &format!("{base}?min_position={position}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 19);
        let newest = &page["messages"][0];
        assert_eq!((newest["text"].as_str(), newest["urgent"].as_bool(), newest["status"].as_str()),
            (Some("The alarm panel beeps, please call"), Some(true), Some("open")));
        assert_eq!(newest["id"], taken["id"]);
        assert_toronto(&newest["taken_at"]);

        // The demo closes two messages of three and marks one of four urgent.
        let count = |page: &Value| page["total"].as_u64().unwrap();
        assert_eq!(count(&app.get(&client, &format!("{base}?status=closed")).await.1), 12);
        assert_eq!(count(&app.get(&client, &format!("{base}?status=open")).await.1), 7);
        assert_eq!(count(&app.get(&client, &format!("{base}?urgent=true")).await.1), 6);
        assert_eq!(count(&app.get(&client, &format!("{base}?q=ALARM")).await.1), 1);
        assert!(count(&app.get(&client, &format!("{base}?window=today")).await.1) >= 1);
        let last_month = count(&app.get(&client, &format!("{base}?window=last_month")).await.1);
        assert!((10..=19).contains(&last_month), "{last_month} messages in the last 30 days");
        let (_, page) = app.get(&client, &format!("{base}?limit=5&offset=5")).await;
        assert_eq!((messages(&page).len(), count(&page)), (5, 19));

        for bad in ["window=fortnight", "status=pending", "urgent=maybe", "from=26-11-2026", "window=today&from=2026-11-01", "limit=0", "from=2026-11-20&to=2026-11-01"] {
            let (status, problem) = app.get(&client, &format!("{base}?{bad}")).await;
            assert_eq!(status, 400, "{bad}: {problem}");
            assert!(problem["detail"].as_str().unwrap().ends_with('.'), "{problem}");
        }

        // The CSV holds every filtered message, not one page of them.
        let response = app.client.get(app.url(&format!("{base}.csv?status=closed&limit=1"))).bearer_auth(&client).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"messages-4000-"), "{disposition}");
        let csv = response.bytes().await.unwrap();
        assert!(csv.starts_with("\u{feff}id,".as_bytes()), "a byte-order mark, so Excel reads UTF-8");
        let mut reader = csv::Reader::from_reader(&csv[3..]);
        assert_eq!(reader.headers().unwrap().get(5), Some("text"));
        assert_eq!(reader.records().count(), 12);
    }

    async fn clients_close_and_reopen_their_messages_and_read_only_roles_cannot(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let account = demo_account_of(&app, &client).await;
        let (_, page) = app.get(&client, &format!("/api/v1/accounts/{account}/messages?status=open&limit=1")).await;
        let id = page["messages"][0]["id"].as_str().unwrap().to_owned();

        let (status, closed) = app.post(&client, &format!("/api/v1/messages/{id}/close"), json!({})).await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["version"], 2);
        let position = closed["position"].as_u64().unwrap();
        let (_, page) = app.get(&client, &format!("/api/v1/accounts/{account}/messages?status=closed&min_position={position}")).await;
        let closed_now = page["messages"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).expect("the message is closed");
        assert_toronto(&closed_now["closed_at"]);

        let (status, problem) = app.post(&client, &format!("/api/v1/messages/{id}/close"), json!({})).await;
        assert_eq!((status, problem["detail"].as_str()), (422, Some("This message is already closed.")), "{problem}");
        let (status, reopened) = app.post(&client, &format!("/api/v1/messages/{id}/reopen"), json!({})).await;
        assert_eq!((status, reopened["version"].as_u64()), (200, Some(3)), "{reopened}");

        // Operators record deliveries, to a contact of the message's account or to anyone by name.
        let operator = app.login("operator", PASSWORD).await;
        let (_, contacts) = app.get(&client, &format!("/api/v1/accounts/{account}/contacts")).await;
        let patrick = contacts[0]["id"].as_str().unwrap().to_owned();
        let deliveries = format!("/api/v1/messages/{id}/deliveries");
        let (status, _) = app.post(&operator, &deliveries, json!({"contact_id": patrick})).await;
        assert_eq!(status, 200);
        let (status, delivered) = app.post(&operator, &deliveries, json!({"name": "Dr. Roy"})).await;
        assert_eq!(status, 200, "{delivered}");
        let (_, page) = app.get(&client, &format!("/api/v1/accounts/{account}/messages?q=&min_position={}", delivered["position"])).await;
        let message = page["messages"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap();
        assert_eq!(message["delivered_to"], "Patrick Tremblay, Dr. Roy");
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let other_account = account_of(&app, &clinique).await;
        let (_, other_contacts) = app.get(&clinique, &format!("/api/v1/accounts/{other_account}/contacts")).await;
        let (status, _) = app.post(&operator, &deliveries, json!({"contact_id": other_contacts[0]["id"]})).await;
        assert_eq!(status, 404, "a contact of another account");
        let (status, _) = app.post(&operator, &deliveries, json!({})).await;
        assert_eq!(status, 400);
        let (status, _) = app.post(&client, &deliveries, json!({"name": "me"})).await;
        assert_eq!(status, 403, "only operators record deliveries");

        for reader in ["dispatch", "auditor"] {
            let token = app.login(reader, PASSWORD).await;
            let (status, _) = app.post(&token, &format!("/api/v1/messages/{id}/close"), json!({})).await;
            assert_eq!(status, 403, "{reader} closed a message");
            // Messages and calls hold callers' personal data; these roles need neither.
            for path in ["messages", "messages.csv", "calls"] {
                let (status, problem) = app.get(&token, &format!("/api/v1/accounts/{account}/{path}")).await;
                assert_eq!(status, 403, "{reader} reads {path}: {problem}");
                assert_eq!(problem["detail"], format!("Your role ({}) cannot read messages, calls or recordings.", if reader == "dispatch" { "dispatcher" } else { reader }));
            }
        }
        let (status, _) = app.post(&client, &format!("/api/v1/accounts/{account}/messages"), json!({"agent": "x", "text": "y"})).await;
        assert_eq!(status, 403, "only operators take messages");
        let (status, _) = app.post(&client, &format!("/api/v1/messages/{}/close", uuid::Uuid::now_v7()), json!({})).await;
        assert_eq!(status, 404);
    }

    async fn the_call_log_answers_recent_and_archive_and_operators_log_calls(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = account_of(&app, &client).await;
        let base = format!("/api/v1/accounts/{account}/calls");

        let started = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
        let (status, logged) = app.post(&operator, &base, json!({
            "call_number": "15319140", "started_at": started, "duration_seconds": 125,
            "agent": "Olivier", "caller_id": "819-555-0131", "kind": "voice",
        })).await;
        assert_eq!(status, 201, "{logged}");
        let position = logged["position"].as_u64().unwrap();
        let (status, log) = app.get(&client, &format!("{base}?min_position={position}")).await;
        assert_eq!(status, 200, "{log}");
        let (recent, archive) = (log["recent"].as_array().unwrap(), log["archive"].as_array().unwrap());
        assert_eq!(recent.len() + archive.len(), 19, "the demo's 18 calls and the new one");
        assert!(!archive.is_empty() && recent.len() >= 2);
        let newest = &recent[0];
        assert_eq!((newest["id"].clone(), newest["kind"].as_str(), newest["duration_seconds"].as_u64()), (logged["id"].clone(), Some("voice"), Some(125)));
        assert_toronto(&newest["started_at"]);
        let newest_first = |calls: &[Value]| calls.windows(2).all(|w| w[0]["started_at"].as_str() >= w[1]["started_at"].as_str());
        assert!(newest_first(recent));

        assert_eq!((log["total_recent"].as_u64(), log["total_archive"].as_u64()), (Some(recent.len() as u64), Some(archive.len() as u64)));
        let (status, page) = app.get(&client, &format!("{base}?limit=1&offset=1")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["recent"][0]["id"], recent[1]["id"], "the second newest call");
        assert_eq!((page["total_recent"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()), (Some(recent.len() as u64), Some(1), Some(1)));
        for refused in ["limit=0", "limit=1001", "offset=-1"] {
            let (status, problem) = app.get(&client, &format!("{base}?{refused}")).await;
            assert_eq!(status, 400, "{refused}: {problem}");
        }

        let (_, found) = app.get(&client, &format!("{base}?caller_id=8195550131")).await;
        assert_eq!(found["recent"].as_array().unwrap().len(), 1, "{found}");
        let (status, one) = app.get(&client, &format!("{base}/{}", logged["id"].as_str().unwrap())).await;
        assert_eq!((status, one["call_number"].as_str()), (200, Some("15319140")));

        let (status, _) = app.post(&client, &base, json!({"call_number": "1", "started_at": started, "duration_seconds": 1, "agent": "x", "kind": "details"})).await;
        assert_eq!(status, 403, "only operators log calls");
        let (status, _) = app.get(&client, &format!("{base}?from=2026-11-20&to=2026-11-01")).await;
        assert_eq!(status, 400);

        // A position no change has: waiting for it would answer 503 forever.
        let (status, problem) = app.get(&client, &format!("{base}?min_position=999999999")).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with("min_position 999999999 is past the end of the log"), "{problem}");
    }

    async fn messages_and_calls_are_dated_within_what_the_views_keep(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = demo_account_of(&app, &app.login("4000-TEST", PASSWORD).await).await;
        let days_ago = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
        let message = |taken_at: String| json!({"agent": "Chantal", "text": "Rappeler", "taken_at": taken_at});
        let call = |started_at: String, seconds: u64| json!({
            "call_number": "1", "started_at": started_at, "duration_seconds": seconds, "agent": "Olivier", "kind": "details",
        });
        let messages = format!("/api/v1/accounts/{account}/messages");
        let calls = format!("/api/v1/accounts/{account}/calls");
        for (path, body, code) in [
            (&messages, message(days_ago(90)), "past_retention"),
            (&messages, message(days_ago(-400)), "in_the_future"),
            (&calls, call(days_ago(61), 60), "past_retention"),
            (&calls, call(days_ago(-1), 60), "in_the_future"),
            (&calls, call(days_ago(1), 4_294_967_295), "call_too_long"),
        ] {
            let (status, problem) = app.post(&operator, path, body.clone()).await;
            assert_eq!((status, problem["type"].as_str()), (422, Some(format!("/problems/{code}").as_str())), "{body}: {problem}");
        }
        let (status, _) = app.post(&operator, &messages, message(days_ago(59))).await;
        assert_eq!(status, 201, "59 days ago is still kept");
    }

    async fn auditors_see_that_messages_and_calls_changed_but_not_what_they_say(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = demo_account_of(&app, &app.login("4000-TEST", PASSWORD).await).await;
        let (status, taken) = app.post(&operator, &format!("/api/v1/accounts/{account}/messages"), json!({
            "agent": "Chantal", "caller_name": "Appelant confidentiel", "caller_number": "450-555-0100", "text": "Secret",
        })).await;
        assert_eq!(status, 201, "{taken}");
        let after = taken["position"].as_u64().unwrap() - 1;
        let auditor = app.login("auditor", PASSWORD).await;
        let (_, feed) = app.get(&auditor, &format!("/api/v1/events?after={after}&limit=1")).await;
        let event = &feed["events"][0];
        assert_eq!((event["type"].as_str(), event["stream_id"].as_str()), (Some("MessageTaken"), Some(format!("message-{}", taken["id"].as_str().unwrap()).as_str())));
        assert!(event["data"].is_null(), "an auditor read a message: {event}");
        assert!(!feed.to_string().contains("Appelant confidentiel"));
        let (_, feed) = app.get(&operator, &format!("/api/v1/events?after={after}&limit=1")).await;
        assert_eq!(feed["events"][0]["data"]["caller_name"], "Appelant confidentiel", "operators read everything");
    }

    async fn text_with_a_nul_or_a_control_character_is_refused_and_changes_nothing(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = demo_account_of(&app, &client).await;
        let messages = format!("/api/v1/accounts/{account}/messages");

        // PostgreSQL cannot store a NUL: one used to stop the inbox of every account for good.
        let (status, problem) = app.post(&operator, &messages, json!({"agent": "Nadia", "text": "a\u{0}b"})).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("Text cannot contain the NUL character (U+0000).")));
        let (status, problem) = app.post(&operator, &messages, json!({"agent": "Nadia\u{7}", "text": "ok"})).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/control_character")), "{problem}");
        assert_eq!(problem["detail"], "The agent cannot contain control characters (only line breaks and tabs).");
        for path in [format!("{messages}?q=a%00b"), format!("/api/v1/accounts/{account}/calls?caller_id=%00")] {
            let (status, problem) = app.get(&client, &path).await;
            assert_eq!(status, 400, "{path}: {problem}");
        }
        let response = app.client.post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "operator\u{0}", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(response.status(), 400);

        // Nothing was recorded, and a message written on several lines still is.
        let (status, taken) = app.post(&operator, &messages, json!({"agent": "Nadia", "text": "Rappeler\n\tavant 17 h"})).await;
        assert_eq!(status, 201, "{taken}");
        let (_, page) = app.get(&client, &format!("{messages}?min_position={}", taken["position"])).await;
        assert_eq!(page["total"], 19, "{page}");
        assert_eq!(page["messages"][0]["text"], "Rappeler\n\tavant 17 h");
    }

    async fn a_client_of_4001_gets_404_on_the_messages_and_calls_of_4000(db) {
        let app = TestApp::spawn_demo(db).await;
        let genesis = app.login("4000-TEST", PASSWORD).await;
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let account = demo_account_of(&app, &genesis).await;
        let (_, page) = app.get(&genesis, &format!("/api/v1/accounts/{account}/messages?limit=1")).await;
        let message = page["messages"][0]["id"].as_str().unwrap().to_owned();
        let (_, calls) = app.get(&genesis, &format!("/api/v1/accounts/{account}/calls")).await;
        let call = calls["archive"][0]["id"].as_str().unwrap().to_owned();

        for path in [
            format!("/api/v1/accounts/{account}/messages"),
            format!("/api/v1/accounts/{account}/messages.csv"),
            format!("/api/v1/accounts/{account}/calls"),
            format!("/api/v1/accounts/{account}/calls/{call}"),
        ] {
            let (status, problem) = app.get(&clinique, &path).await;
            assert_eq!(status, 404, "GET {path}: {problem}");
        }
        for action in ["close", "reopen"] {
            let (status, _) = app.post(&clinique, &format!("/api/v1/messages/{message}/{action}"), json!({})).await;
            assert_eq!(status, 404, "{action} another account's message");
        }
        // Not even a stale If-Match tells them that the message exists.
        let stale = app.client.post(app.url(&format!("/api/v1/messages/{message}/close")))
            .bearer_auth(&clinique).header("If-Match", "\"99\"").json(&json!({})).send().await.unwrap();
        assert_eq!(stale.status(), 404);
        // And 4001's own inbox holds its own 18 demo messages.
        let own = demo_account_of(&app, &clinique).await;
        assert_ne!(own, account);
    }

    async fn a_rebuild_of_every_projection_leaves_the_server_answering_throughout(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = demo_account_of(&app, &client).await;
        let inbox = format!("/api/v1/accounts/{account}/messages?limit=1");

        // What `vigie projections rebuild` runs, 10 events per transaction, while the server reads.
        let rebuild = vigie_api::read_models::rebuild(&app.db.url, None, 10);
        let reads = async {
            let mut reads = 0;
            for _ in 0..20 {
                let (status, page) = app.get(&client, &inbox).await;
                assert_eq!((status, page["total"].as_u64()), (200, Some(18)), "a read during the rebuild: {page}");
                reads += 1;
            }
            reads
        };
        let (rebuilt, reads) = tokio::join!(rebuild, reads);
        let rebuilt = rebuilt.expect("the rebuild succeeds");
        assert_eq!(rebuilt.iter().map(|o| (o.name, o.generation)).collect::<Vec<_>>(), [("inbox", 2), ("call_log", 2)]);
        assert_eq!(reads, 20);

        // The server's runners carry on with the new generation.
        let (status, taken) = app.post(&operator, &format!("/api/v1/accounts/{account}/messages"), json!({"agent": "Nadia", "text": "After the rebuild"})).await;
        assert_eq!(status, 201, "{taken}");
        let (_, page) = app.get(&client, &format!("{inbox}&min_position={}", taken["position"])).await;
        assert_eq!((page["total"].as_u64(), page["messages"][0]["text"].as_str()), (Some(19), Some("After the rebuild")));
    }
}

/// Only on PostgreSQL do several nodes share the read models with one of them
/// writing them (on SQLite each node is its own writer), so only there can a
/// node's inbox fall behind a change it made itself. The module's name puts the
/// test in CI's PostgreSQL pass, which runs the tests under `postgres::`.
mod lagging_read_models {
    mod postgres {
        use super::super::*;

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_node_whose_read_models_lag_answers_503_until_they_catch_up() {
            let Some(db) = TestDatabase::postgres("a_node_whose_read_models_lag_answers_503_until_they_catch_up").await
            else {
                return;
            };
            // The first node to start writes the read models; the second follows them.
            let writer = ServerProcess::start(SERVER, &db.url, true).await;
            let app = TestApp::spawn_demo(db).await;
            let client = app.login("4000-TEST", PASSWORD).await;
            let operator = app.login("operator", PASSWORD).await;
            let account = demo_account_of(&app, &client).await;
            let messages = format!("/api/v1/accounts/{account}/messages");

            writer.freeze();
            let (status, taken) =
                app.post(&operator, &messages, json!({"agent": "Nadia", "text": "While the writer sleeps"})).await;
            assert_eq!(status, 201, "a change is durable even when the read models lag: {taken}");
            let fresh = format!("{messages}?min_position={}", taken["position"].as_u64().unwrap());
            let response = app.client.get(app.url(&fresh)).bearer_auth(&client).send().await.unwrap();
            assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()), Some("1".into()));
            let (status, problem) = vigie_tests::answer(response).await;
            assert_eq!((status, problem["type"].as_str()), (503, Some("/problems/not_caught_up")), "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains("try again shortly"), "{problem}");

            // Following Retry-After, the client gets the message once the writer is back.
            writer.thaw();
            for _ in 0..100 {
                let (status, page) = app.get(&client, &fresh).await;
                if status == 200 {
                    assert_eq!(page["messages"][0]["text"], "While the writer sleeps");
                    return;
                }
                assert_eq!(status, 503, "{page}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("the inbox never caught up once its writer was back");
        }
    }
}
