//! Servers as separate processes: two nodes on one database, and a node killed with SIGKILL.

use serde_json::{Value, json};
use vigie_tests::{ServerProcess, answer, backend_tests};

const SERVER: &str = env!("CARGO_BIN_EXE_vigie-server");

async fn login(client: &reqwest::Client, server: &ServerProcess, user: &str) -> String {
    let response = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": "vigie-demo"}))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn get(client: &reqwest::Client, server: &ServerProcess, token: &str, path: &str) -> Value {
    let (status, body) = answer(client.get(server.url(path)).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Account 4000's id, its schedule's id and a rank-0 shift starting more than a week ahead.
async fn a_future_shift(client: &reqwest::Client, server: &ServerProcess, token: &str) -> (String, String, Value) {
    let me = get(client, server, token, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let schedules = get(client, server, token, &format!("/api/v1/accounts/{account}/schedules")).await;
    let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
    let from = (chrono::Utc::now() + chrono::Duration::days(8)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%SZ");
    let roster = get(client, server, token, &format!("/api/v1/schedules/{schedule}/shifts?from={from}&to={to}")).await;
    let shift = roster["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["rank"] == 0
                && chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap() > chrono::Utc::now()
        })
        .unwrap()
        .clone();
    (account, schedule, shift)
}

backend_tests! {
    async fn nodes_started_together_on_an_empty_database_seed_it_once(db) {
        let (first, second) = tokio::join!(ServerProcess::start(SERVER, &db.url, true), ServerProcess::start(SERVER, &db.url, true));
        let client = reqwest::Client::new();
        // The node that did not seed answers as soon as it sees the database seeded, maybe before the demo is whole.
        let mut tokens = Vec::new();
        for server in [&first, &second] {
            for _ in 0..100 {
                let request = client.post(server.url("/api/v1/auth/login")).json(&json!({"username": "auditor", "password": "vigie-demo"}));
                let (status, body) = answer(request.send().await.unwrap()).await;
                if status == 200 {
                    tokens.push(body["token"].as_str().unwrap().to_owned());
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        assert_eq!(tokens.len(), 2, "the demo's auditor cannot log in on both nodes");
        let page = get(&client, &second, &tokens[0], "/api/v1/events?limit=1000").await;
        let users: Vec<&str> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "UserCreated")
            .map(|e| e["data"]["username"].as_str().unwrap())
            .collect();
        assert_eq!(users.iter().filter(|&&u| u == "admin").count(), 1, "{users:?}");
        assert_eq!(users.iter().filter(|&&u| u == "4000-TEST").count(), 1, "{users:?}");
    }

    async fn a_stopping_server_ends_its_live_streams_instead_of_waiting_for_them(db) {
        let server = ServerProcess::start(SERVER, &db.url, true).await;
        let client = reqwest::Client::new();
        let token = login(&client, &server, "4000-TEST").await;
        let me = get(&client, &server, &token, "/api/v1/me").await;
        let account = me["accounts"][0]["id"].as_str().unwrap();
        let mut stream = client.get(server.url(&format!("/api/v1/accounts/{account}/events/stream"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        assert!(stream.chunk().await.unwrap().is_some(), "the stream's opening comment");
        let reading = tokio::spawn(async move { while let Ok(Some(_)) = stream.chunk().await {} });
        // A browser's stream stays open for hours: the server must not wait for it to stop.
        assert!(server.terminate(std::time::Duration::from_secs(30)).await, "the server still runs with a live stream open");
        tokio::time::timeout(std::time::Duration::from_secs(5), reading).await.expect("the stream ended").unwrap();
    }

    async fn a_change_through_one_node_reaches_the_dispatch_index_of_another(db) {
        let first = ServerProcess::start(SERVER, &db.url, true).await;
        let second = ServerProcess::start(SERVER, &db.url, false).await;
        let client = reqwest::Client::new();
        let token = login(&client, &first, "4000-TEST").await;
        let (account, schedule, shift) = a_future_shift(&client, &first, &token).await;
        let contacts = get(&client, &first, &token, &format!("/api/v1/accounts/{account}/contacts")).await;
        let sophie = contacts.as_array().unwrap().iter().find(|c| c["name"] == "Sophie Gagnon").unwrap()["id"].clone();

        let shift_id = shift["id"].as_str().unwrap();
        let (status, changed) = answer(client
            .post(first.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift_id}/assign")))
            .bearer_auth(&token)
            .json(&json!({"contact_id": sophie}))
            .send().await.unwrap()).await;
        assert_eq!(status, 200, "{changed}");

        // The other node learns of it by itself (LISTEN/NOTIFY, or polling on SQLite).
        let at = chrono::DateTime::parse_from_rfc3339(shift["start"].as_str().unwrap()).unwrap() + chrono::Duration::hours(1);
        let at = at.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ");
        let dispatch = login(&client, &second, "dispatch").await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let on_call = get(&client, &second, &dispatch, &format!("/api/v1/accounts/{account}/on-call?at={at}")).await;
            let rank0 = on_call["entries"].as_array().unwrap().iter().find(|e| e["rank"] == 0).cloned().unwrap_or_default();
            if rank0["contact"]["name"] == "Sophie Gagnon" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the second node never saw the change: {on_call}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        // And with min_position, the answer reflects the change at once.
        let on_call = get(&client, &second, &dispatch, &format!("/api/v1/accounts/{account}/on-call?at={at}&min_position={}", changed["position"])).await;
        assert_eq!(on_call["entries"][0]["contact"]["name"], "Sophie Gagnon");
        first.kill().await;
        second.kill().await;
    }

    async fn a_password_changed_through_one_node_ends_the_sessions_another_node_remembers(db) {
        let first = ServerProcess::start(SERVER, &db.url, true).await;
        let second = ServerProcess::start(SERVER, &db.url, false).await;
        let client = reqwest::Client::new();
        let remembered = login(&client, &second, "4000-TEST").await;
        get(&client, &second, &remembered, "/api/v1/me").await;

        let token = login(&client, &first, "4000-TEST").await;
        let (status, body) = answer(client
            .put(first.url("/api/v1/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": "vigie-demo", "new_password": "a new and longer secret"}))
            .send().await.unwrap()).await;
        assert_eq!(status, 204, "{body}");

        // A change made after the password's lets the test wait until the second node has read both.
        let (status, body) = answer(client
            .post(first.url("/api/v1/auth/login"))
            .json(&json!({"username": "4000-TEST", "password": "a new and longer secret"}))
            .send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let (account, schedule, shift) = a_future_shift(&client, &first, &token).await;
        let (status, commented) = answer(client
            .post(first.url(&format!("/api/v1/schedules/{schedule}/shifts/{}/comments", shift["id"].as_str().unwrap())))
            .bearer_auth(&token)
            .json(&json!({"text": "Nouveau mot de passe."}))
            .send().await.unwrap()).await;
        assert_eq!(status, 200, "{commented}");
        let dispatch = login(&client, &second, "dispatch").await;
        get(&client, &second, &dispatch, &format!("/api/v1/accounts/{account}/on-call?min_position={}", commented["position"])).await;

        // Well within the five seconds the second node may otherwise trust a session it checked.
        let (status, body) = answer(client.get(second.url("/api/v1/me")).bearer_auth(&remembered).send().await.unwrap()).await;
        assert_eq!(status, 401, "the old session still works on the other node: {body}");
        first.kill().await;
        second.kill().await;
    }

    async fn every_acknowledged_change_survives_a_server_killed_with_sigkill(db) {
        let server = ServerProcess::start(SERVER, &db.url, true).await;
        let client = reqwest::Client::new();
        let token = login(&client, &server, "4000-TEST").await;
        let (_, schedule, shift) = a_future_shift(&client, &server, &token).await;
        let shift_id = shift["id"].as_str().unwrap();
        let mut acknowledged = Vec::new();
        for n in 0..25 {
            let text = format!("note {n}");
            let (status, _) = answer(client
                .post(server.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift_id}/comments")))
                .bearer_auth(&token)
                .json(&json!({"text": text}))
                .send().await.unwrap()).await;
            assert_eq!(status, 200);
            acknowledged.push(text);
        }
        server.kill().await;

        let restarted = ServerProcess::start(SERVER, &db.url, false).await;
        let token = login(&client, &restarted, "4000-TEST").await;
        let history = get(&client, &restarted, &token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let kept: Vec<String> = history["events"].as_array().unwrap().iter()
            .filter(|e| e["type"] == "ShiftCommented" && e["data"]["shift_id"] == shift_id)
            .filter_map(|e| e["data"]["text"].as_str().map(String::from))
            .collect();
        for text in &acknowledged {
            assert!(kept.contains(text), "{text:?} was acknowledged but lost");
        }
        restarted.kill().await;
    }
}

/// What only PostgreSQL offers: several nodes that hear of each other's logouts.
mod several_nodes {
    pub mod postgres {
        use std::time::{Duration, Instant};

        use vigie_tests::{ServerProcess, TestDatabase};

        use super::super::{SERVER, login};

        #[tokio::test]
        async fn a_logout_through_one_node_ends_the_session_on_the_others_at_once() {
            let Some(db) =
                TestDatabase::postgres("a_logout_through_one_node_ends_the_session_on_the_others_at_once").await
            else {
                return;
            };
            let first = ServerProcess::start(SERVER, &db.url, true).await;
            let second = ServerProcess::start(SERVER, &db.url, false).await;
            let client = reqwest::Client::new();
            let token = login(&client, &first, "4000-TEST").await;
            let me = |server: &ServerProcess| client.get(server.url("/api/v1/me")).bearer_auth(&token).send();

            // The second node checks the session, and from then on remembers it for a few seconds.
            let deadline = Instant::now() + Duration::from_secs(10);
            while me(&second).await.unwrap().status() != 200 {
                assert!(Instant::now() < deadline, "the second node never accepted the session");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let logout = client.post(first.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(logout.status(), 204);

            // Well within the five seconds the second node would otherwise trust what it remembers.
            let deadline = Instant::now() + Duration::from_secs(1);
            while me(&second).await.unwrap().status() != 401 {
                assert!(Instant::now() < deadline, "the second node still accepts the token a second after the logout");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            first.kill().await;
            second.kill().await;
        }
    }
}
