//! The API over real HTTP, on the manual's demo: sessions, the walk-through, dispatch and account isolation.

use serde_json::{Value, json};
use vigie_tests::{Backend, TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";
const SERVER: &str = env!("CARGO_BIN_EXE_vigie-server");

/// The first account the user reaches, and its first schedule.
async fn account_and_schedule(app: &TestApp, token: &str) -> (String, String) {
    let (_, me) = app.get(token, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let (_, schedules) = app.get(token, &format!("/api/v1/accounts/{account}/schedules")).await;
    (account, schedules[0]["id"].as_str().unwrap().to_owned())
}

/// The schedule's shifts from a week ahead on, with their JSON.
async fn future_shifts(app: &TestApp, token: &str, schedule: &str) -> Vec<Value> {
    let from = (chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339();
    let query = format!("/api/v1/schedules/{schedule}/shifts?from={}&to={}", urlencode(&from), urlencode(&to));
    let (status, body) = app.get(token, &query).await;
    assert_eq!(status, 200, "{body}");
    // Only shifts wholly in the future: clients cannot change a started one.
    body["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap() > chrono::Utc::now())
        .cloned()
        .collect()
}

/// The coverage calendar's colour of one day.
async fn colour(app: &TestApp, token: &str, schedule: &str, day: chrono::NaiveDate) -> String {
    let (status, body) = app.get(token, &format!("/api/v1/schedules/{schedule}/coverage?from={day}&to={day}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days"][0]["date"], day.to_string());
    body["days"][0]["status"].as_str().unwrap().to_owned()
}

/// Assigns or unassigns a shift, which must succeed.
async fn change(app: &TestApp, token: &str, schedule: &str, shift: &Value, action: &str, body: Value) {
    let path = format!("/api/v1/schedules/{schedule}/shifts/{}/{action}", shift["id"].as_str().unwrap());
    let (status, answer) = app.post(token, &path, body).await;
    assert_eq!(status, 200, "{action}: {answer}");
}

fn urlencode(value: &str) -> String {
    value.replace('+', "%2B").replace(':', "%3A")
}

backend_tests! {
    async fn on_postgres_lost_database_connections_answer_503_and_the_next_request_works(db) {
        if db.backend == Backend::Sqlite {
            return; // a SQLite file has no connection to lose
        }
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        // What a restart of PostgreSQL does to every connection the server holds.
        let admin = sqlx::PgPool::connect(&app.db.url).await.unwrap();
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(ended.len() >= 2, "the server held connections: {ended:?}");

        let comment = format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments");
        for (method, path) in [("GET", "/api/v1/me".to_owned()), ("GET", format!("/api/v1/accounts/{account}/messages")), ("POST", comment)] {
            let mut statuses = Vec::new();
            while statuses.len() < 20 {
                let request = match method {
                    "GET" => app.client.get(app.url(&path)),
                    _ => app.client.post(app.url(&path)).json(&json!({"text": "after a restart"})),
                };
                let response = request.bearer_auth(&token).send().await.unwrap();
                let status = response.status().as_u16();
                statuses.push(status);
                if status == 200 {
                    break;
                }
                assert_eq!(response.headers()["retry-after"], "1", "{method} {path}");
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["type"], "/problems/database_unavailable", "{method} {path}: {problem}");
            }
            assert!(statuses.iter().all(|&s| s == 200 || s == 503), "{method} {path}: {statuses:?}");
            assert_eq!(statuses.last(), Some(&200), "{method} {path}: {statuses:?}");
        }
    }

    async fn a_client_logs_in_sees_only_their_account_and_logs_out(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (status, me) = app.get(&token, "/api/v1/me").await;
        assert_eq!(status, 200);
        assert_eq!(me["role"], "client");
        let accounts: Vec<&str> = me["accounts"].as_array().unwrap().iter().map(|a| a["number"].as_str().unwrap()).collect();
        assert_eq!(accounts, vec!["4000"]);

        // One message for a wrong password and for an unknown user.
        for (user, password) in [("4000-TEST", "wrong-password"), ("nobody", PASSWORD)] {
            let response = app.client.post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": user, "password": password})).send().await.unwrap();
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let (status, problem) = vigie_tests::answer(response).await;
            assert_eq!(status, 401);
            assert_eq!(problem["detail"], "The username or password is incorrect.");
        }

        let response = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 204);
        let (status, problem) = app.get(&token, "/api/v1/me").await;
        assert_eq!(status, 401, "the token still works after logout: {problem}");
        // A logout ends the session that sends it, whatever Idempotency-Key came with an earlier one.
        for _ in 0..2 {
            let session = app.login("4000-TEST", PASSWORD).await;
            let response = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&session)
                .header("idempotency-key", "logout").send().await.unwrap();
            assert_eq!(response.status(), 204);
            let (status, _) = app.get(&session, "/api/v1/me").await;
            assert_eq!(status, 401, "a logout with a key used before left its session alive");
        }
        // A 401 says how to authenticate, as HTTP asks.
        let response = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!((response.status().as_u16(), response.headers().get("www-authenticate").and_then(|v| v.to_str().ok())), (401, Some("Bearer realm=\"vigie\"")));
    }

    async fn the_session_cookie_changes_nothing_from_another_page(db) {
        let app = TestApp::spawn_demo(db).await;
        let login = app.client.post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "4000-TEST", "password": PASSWORD})).send().await.unwrap();
        let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let token: Value = login.json().await.unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let (_, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let comments = app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"));
        let comment = |headers: &[(&str, &str)]| {
            let mut request = app.client.post(&comments).json(&json!({"text": "d'où ?"}));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send()
        };
        let (_, before) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;

        // Another page, of another site or another host of this one, cannot use the cookie.
        for from_elsewhere in [
            vec![("cookie", cookie.as_str()), ("origin", "https://evil.example")],
            vec![("cookie", cookie.as_str()), ("sec-fetch-site", "same-site")],
            vec![("cookie", cookie.as_str()), ("sec-fetch-site", "cross-site"), ("origin", "null")],
            // Behind a proxy with Basic authentication, browsers add its credentials to any page's post.
            vec![("cookie", cookie.as_str()), ("authorization", "Basic cG9ydGFpbDpwb3J0YWls"), ("origin", "https://evil.example")],
        ] {
            let (status, problem) = vigie_tests::answer(comment(&from_elsewhere).await.unwrap()).await;
            assert_eq!((status, problem["type"].as_str()), (403, Some("/problems/cross_site_request")), "{from_elsewhere:?}");
        }
        // A form posts text/plain without asking first: refused just the same.
        let unassign = app.client.post(app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/unassign")))
            .header("cookie", &cookie).header("origin", "https://evil.example").header("content-type", "text/plain")
            .send().await.unwrap();
        assert_eq!(unassign.status(), 403);
        let (_, after) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        assert_eq!(after["events"], before["events"], "a refused request changed the schedule");

        // The portal's own pages, programs that send no browser headers, and a bearer token from anywhere.
        let host = app.url("").split("://").nth(1).unwrap().trim_end_matches('/').to_owned();
        let origin = format!("http://{host}");
        let bearer = format!("Bearer {token}");
        for allowed in [
            vec![("cookie", cookie.as_str()), ("sec-fetch-site", "same-origin")],
            vec![("cookie", cookie.as_str()), ("origin", origin.as_str())],
            vec![("cookie", cookie.as_str())],
            vec![("authorization", bearer.as_str()), ("origin", "https://elsewhere.example"), ("sec-fetch-site", "cross-site")],
        ] {
            let (status, answer) = vigie_tests::answer(comment(&allowed).await.unwrap()).await;
            assert_eq!(status, 200, "{allowed:?}: {answer}");
        }
        // Reads are not changes: a page elsewhere may not read them either (no CORS), but they change nothing.
        let me = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).header("sec-fetch-site", "cross-site").send().await.unwrap();
        assert_eq!(me.status(), 200);
    }

    async fn the_manual_walk_through_assign_override_unassign_swap_comment(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &token).await;
        let (_, contacts) = app.get(&token, &format!("/api/v1/accounts/{account}/contacts")).await;
        let contact = |name: &str| contacts.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].clone();
        let shifts = future_shifts(&app, &token, &schedule).await;
        let shift = shifts.iter().find(|s| s["rank"] == 0).unwrap();
        let shift_id = shift["id"].as_str().unwrap();
        let base = format!("/api/v1/schedules/{schedule}/shifts/{shift_id}");

        // Assign Anthony Giosi as the base contact.
        let (status, assigned) = app.post(&token, &format!("{base}/assign"), json!({"contact_id": contact("Anthony Giosi"), "comment": "Back from leave"})).await;
        assert_eq!(status, 200, "{assigned}");
        assert!(assigned["version"].as_u64().unwrap() > 0 && assigned["position"].as_u64().unwrap() > 0);

        // An override starting before the shift is refused with the manual's words.
        let start = chrono::DateTime::parse_from_rfc3339(shift["start"].as_str().unwrap()).unwrap();
        let early = json!({"contact_id": contact("Luc Lambert"), "start": (start - chrono::Duration::hours(1)).to_rfc3339(), "end": (start + chrono::Duration::hours(10)).to_rfc3339()});
        let (status, problem) = app.post(&token, &format!("{base}/overrides"), early).await;
        assert_eq!(status, 422);
        assert_eq!(problem["detail"], "The start time cannot occur before the original shift start time.");

        // Times are cut to the second: two within one second are one, as exports print them.
        let fraction = json!({"contact_id": contact("Luc Lambert"), "start": (start + chrono::Duration::milliseconds(500)).to_rfc3339(), "end": (start + chrono::Duration::milliseconds(700)).to_rfc3339()});
        let (status, problem) = app.post(&token, &format!("{base}/overrides"), fraction).await;
        assert_eq!((status, problem["detail"].as_str()), (422, Some("The end time must be after the start time.")), "{problem}");

        // A proper override: Luc covers the first 16.5 hours.
        let cover = json!({"contact_id": contact("Luc Lambert"), "start": start.to_rfc3339(), "end": (start + chrono::Duration::minutes(990)).to_rfc3339()});
        let (status, created) = app.post(&token, &format!("{base}/overrides"), cover.clone()).await;
        assert_eq!(status, 201, "{created}");
        let override_id = created["override_id"].as_str().unwrap().to_owned();

        // Another one over the same hours collides, and says with what.
        let (status, problem) = app.post(&token, &format!("{base}/overrides"), cover).await;
        assert_eq!(status, 409);
        assert_eq!(problem["conflicting_override_id"], override_id.as_str());

        // Read your writes: the roster at the change's position shows both contacts in turn.
        let from = urlencode(&start.to_rfc3339());
        let to = urlencode(&(start + chrono::Duration::hours(1)).to_rfc3339());
        let (_, roster) = app.get(&token, &format!("/api/v1/schedules/{schedule}/shifts?from={from}&to={to}&min_position={}", created["position"])).await;
        let listed = roster["shifts"].as_array().unwrap().iter().find(|s| s["id"] == shift_id).unwrap().clone();
        assert_eq!(listed["assignee"]["name"], "Anthony Giosi");
        let segments: Vec<(&str, &str)> = listed["segments"].as_array().unwrap().iter()
            .map(|s| (s["source"].as_str().unwrap(), s["contact"]["name"].as_str().unwrap_or("-"))).collect();
        assert_eq!(segments, vec![("override", "Luc Lambert"), ("base", "Anthony Giosi")]);

        // Unassign the override: the base contact covers the whole shift again.
        let (status, _) = app.post(&token, &format!("{base}/unassign"), json!({"override_id": override_id})).await;
        assert_eq!(status, 200);
        let (_, roster) = app.get(&token, &format!("/api/v1/schedules/{schedule}/shifts?from={from}&to={to}")).await;
        let listed = roster["shifts"].as_array().unwrap().iter().find(|s| s["id"] == shift_id).unwrap().clone();
        assert_eq!(listed["segments"].as_array().unwrap().len(), 1);
        assert_eq!(listed["segments"][0]["contact"]["name"], "Anthony Giosi");

        // Swap with the next rank-0 shift, then comment; a comment changes nobody.
        let other = shifts.iter().filter(|s| s["rank"] == 0).nth(1).unwrap();
        let (status, _) = app.post(&token, &format!("/api/v1/schedules/{schedule}/swap"), json!({"shift_a": shift_id, "shift_b": other["id"]})).await;
        assert_eq!(status, 200);
        let (status, _) = app.post(&token, &format!("{base}/comments"), json!({"text": "Luc Lambert will cover"})).await;
        assert_eq!(status, 200);

        // The history keeps every change with who made it.
        let (_, history) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let mine: Vec<&str> = history["events"].as_array().unwrap().iter()
            .filter(|e| e["actor"]["username"] == "4000-TEST").map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(mine, vec!["ShiftAssigned", "OverrideAdded", "OverrideRemoved", "ShiftsSwapped", "ShiftCommented"]);
        // Its instants are written in the schedule's zone, as the shifts are: the same text.
        let added = history["events"].as_array().unwrap().iter().find(|e| e["type"] == "OverrideAdded" && e["actor"]["username"] == "4000-TEST").unwrap();
        assert_eq!(added["data"]["start"], shift["start"], "{added}");
        let commented = history["events"].as_array().unwrap().iter().rev().find(|e| e["type"] == "ShiftCommented").unwrap();
        let at = commented["data"]["at"].as_str().unwrap();
        assert!(at.ends_with("-05:00") || at.ends_with("-04:00"), "{commented}");
        assert_eq!(commented["data"]["text"], "Luc Lambert will cover");
    }

    async fn unassigning_a_running_override_ends_it_now_and_keeps_who_covered_until_then(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &client).await;
        let (_, contacts) = app.get(&client, &format!("/api/v1/accounts/{account}/contacts")).await;
        let contact = |name: &str| contacts.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].clone();

        // An operator sets up a shift that started two hours ago, covered by Luc since an hour ago.
        let now = chrono::Utc::now();
        let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
        let reason = "Renfort saisi après coup";
        let (status, added) = app.post(&operator, &format!("/api/v1/schedules/{schedule}/shifts"),
            json!({"start": at(-2), "end": at(2), "rank": 5, "name": "Renfort", "role": "OC", "reason": reason})).await;
        assert_eq!(status, 201, "{added}");
        let base = format!("/api/v1/schedules/{schedule}/shifts/{}", added["id"].as_str().unwrap());
        let (status, body) = app.post(&operator, &format!("{base}/assign"), json!({"contact_id": contact("Anthony Giosi"), "reason": reason})).await;
        assert_eq!(status, 200, "{body}");
        let (status, covered) = app.post(&operator, &format!("{base}/overrides"),
            json!({"contact_id": contact("Luc Lambert"), "start": at(-1), "end": at(1), "reason": reason})).await;
        assert_eq!(status, 201, "{covered}");
        let override_id = covered["override_id"].clone();

        // Luc goes home: the client unassigns his override, and Anthony covers from now on.
        let (status, body) = app.post(&client, &format!("{base}/unassign"), json!({"override_id": override_id})).await;
        assert_eq!(status, 200, "{body}");
        let window = format!("from={}&to={}", urlencode(&at(-2)), urlencode(&at(2)));
        let (_, roster) = app.get(&client, &format!("/api/v1/schedules/{schedule}/shifts?{window}")).await;
        let listed = roster["shifts"].as_array().unwrap().iter().find(|s| s["id"] == added["id"]).unwrap().clone();
        let segments: Vec<(&str, &str)> = listed["segments"].as_array().unwrap().iter()
            .map(|s| (s["source"].as_str().unwrap(), s["contact"]["name"].as_str().unwrap_or("-"))).collect();
        assert_eq!(segments, vec![("base", "Anthony Giosi"), ("override", "Luc Lambert"), ("base", "Anthony Giosi")], "{listed}");
        // The history says when the override was cut short, and by whom; it cannot be undone after the fact.
        let (_, history) = app.get(&client, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["type"].as_str(), last["actor"]["username"].as_str()), (Some("OverrideCutShort"), Some("4000-TEST")), "{last}");
        let end = chrono::DateTime::parse_from_rfc3339(last["data"]["end"].as_str().unwrap()).unwrap();
        assert!(end > now - chrono::Duration::minutes(1) && end < chrono::Utc::now() + chrono::Duration::minutes(1), "{last}");
        // From the cut (the next whole second), dispatch calls the base contact.
        let at = urlencode(&end.to_rfc3339());
        let (_, on_call) = app.get(&client, &format!("/api/v1/accounts/{account}/on-call?schedule_id={schedule}&at={at}")).await;
        let entry = on_call["entries"].as_array().unwrap().iter().find(|e| e["shift_id"] == added["id"]).unwrap().clone();
        assert_eq!((entry["source"].as_str(), entry["contact"]["name"].as_str()), (Some("base"), Some("Anthony Giosi")), "{entry}");
        // Once the cut has passed, the override is past, and stays as it was.
        tokio::time::sleep((end.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default()).await;
        let (status, problem) = app.post(&client, &format!("{base}/unassign"), json!({"override_id": override_id})).await;
        assert_eq!((status, problem["type"].as_str()), (403, Some("/problems/override_ended")), "{problem}");
    }

    async fn a_client_of_one_account_cannot_see_or_touch_another(db) {
        let app = TestApp::spawn_demo(db).await;
        let genesis = app.login("4000-TEST", PASSWORD).await;
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &genesis).await;
        let shift = future_shifts(&app, &genesis, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let reads = [
            format!("/api/v1/accounts/{account}/schedules"),
            format!("/api/v1/accounts/{account}/contacts"),
            format!("/api/v1/accounts/{account}/on-call"),
            format!("/api/v1/schedules/{schedule}/shifts"),
            format!("/api/v1/schedules/{schedule}/coverage?from=2026-01-01&to=2026-01-31"),
            format!("/api/v1/schedules/{schedule}/history"),
        ];
        for path in reads {
            let (status, body) = app.get(&clinique, &path).await;
            assert_eq!(status, 404, "4001-TEST read {path}: {body}");
        }
        let (status, _) = app.post(&clinique, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), json!({"text": "hi"})).await;
        assert_eq!(status, 404);
        let (_, history) = app.get(&genesis, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        assert!(history["events"].as_array().unwrap().iter().all(|e| e["actor"]["username"] != "4001-TEST"));

        // 4000's client naming 4001's contact learns no more than from an unknown id.
        let (_, own_schedule) = account_and_schedule(&app, &clinique).await;
        let (own_account, _) = account_and_schedule(&app, &clinique).await;
        let (_, theirs) = app.get(&clinique, &format!("/api/v1/accounts/{own_account}/contacts")).await;
        let assign = format!("/api/v1/schedules/{schedule}/shifts/{shift}/assign");
        let (status, problem) = app.post(&genesis, &assign, json!({"contact_id": theirs[0]["id"]})).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/unknown_contact")), "{problem}");
        let (_, unknown) = app.post(&genesis, &assign, json!({"contact_id": uuid::Uuid::now_v7()})).await;
        assert_eq!(problem["detail"], unknown["detail"]);
        assert_ne!(own_schedule, schedule);
    }

    async fn dispatch_reads_who_is_on_call_in_rank_order_and_changes_nothing(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &client).await;
        let dispatch = app.login("dispatch", PASSWORD).await;
        let (status, on_call) = app.get(&dispatch, &format!("/api/v1/accounts/{account}/on-call")).await;
        assert_eq!(status, 200, "{on_call}");
        let ranks: Vec<u64> = on_call["entries"].as_array().unwrap().iter().map(|e| e["rank"].as_u64().unwrap()).collect();
        assert_eq!(ranks, vec![0, 1]);
        // The role asked for in any case is the demo's "OC".
        let (_, by_role) = app.get(&dispatch, &format!("/api/v1/accounts/{account}/on-call?role=oc")).await;
        assert_eq!(by_role["entries"], on_call["entries"], "{by_role}");
        let (_, spaced) = app.get(&dispatch, &format!("/api/v1/accounts/{account}/on-call?role=%20OC%20")).await;
        assert_eq!(spaced["entries"], on_call["entries"], "{spaced}");
        let (status, problem) = app.get(&dispatch, &format!("/api/v1/accounts/{account}/on-call?role=")).await;
        assert_eq!(status, 400, "an empty role would answer that nobody is on call: {problem}");
        for entry in on_call["entries"].as_array().unwrap() {
            assert_eq!(entry["schedule_name"], "01 Horaire");
            assert!(entry["contact"].is_null() || entry["contact"]["phones"].as_array().is_some_and(|p| !p.is_empty()));
        }
        let shift = future_shifts(&app, &client, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let (status, problem) = app.post(&dispatch, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), json!({"text": "hi"})).await;
        assert_eq!(status, 403, "{problem}");

        // Who is on call now, with their numbers, is all dispatch reads: not the comments,
        // the directory's notes, the history, or the past as auditors replay it.
        let today = chrono::Utc::now().date_naive();
        for path in [
            format!("/api/v1/schedules/{schedule}/shifts"),
            format!("/api/v1/schedules/{schedule}/coverage?from={today}&to={today}"),
            format!("/api/v1/schedules/{schedule}/history"),
            format!("/api/v1/schedules/{schedule}/export.pdf"),
            format!("/api/v1/accounts/{account}/contacts"),
            format!("/api/v1/accounts/{account}/on-call?as_of=2026-01-01T00:00:00Z"),
        ] {
            let (status, problem) = app.get(&dispatch, &path).await;
            assert_eq!((status, problem["type"].as_str()), (403, Some("/problems/forbidden")), "{path}: {problem}");
        }
        let (status, _) = app.get(&dispatch, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert_eq!(status, 200, "the schedules' names, to ask about one of them");
    }

    async fn a_stale_if_match_is_refused_and_a_repeated_idempotency_key_changes_nothing(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (_, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let path = app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"));

        let stale = app.client.post(&path).bearer_auth(&token).header("If-Match", "\"1\"").json(&json!({"text": "x"})).send().await.unwrap();
        let (status, problem) = vigie_tests::answer(stale).await;
        assert_eq!(status, 412, "{problem}");
        // If-Match: * asks only that the schedule exists (RFC 9110).
        let any = app.client.post(&path).bearer_auth(&token).header("If-Match", "*").json(&json!({"text": "any version"})).send().await.unwrap();
        let (status, answer) = vigie_tests::answer(any).await;
        assert_eq!(status, 200, "{answer}");

        let send = || app.client.post(&path).bearer_auth(&token).header("Idempotency-Key", "comment-42").json(&json!({"text": "once"})).send();
        let (first_status, first) = vigie_tests::answer(send().await.unwrap()).await;
        let (again_status, again) = vigie_tests::answer(send().await.unwrap()).await;
        assert_eq!((first_status, again_status), (200, 200));
        assert_eq!(first, again);
        let (_, history) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let comments = history["events"].as_array().unwrap().iter().filter(|e| e["data"]["text"] == "once").count();
        assert_eq!(comments, 1);

        // Racing changes that all name the current version: one lands, the others are stale (412, never 409).
        let (account, _) = account_and_schedule(&app, &token).await;
        let (_, schedules) = app.get(&token, &format!("/api/v1/accounts/{account}/schedules")).await;
        let version = schedules.as_array().unwrap().iter().find(|s| s["id"] == schedule.as_str()).unwrap()["version"].clone();
        let racing = (0..8).map(|i| {
            let request = app.client.post(&path).bearer_auth(&token).header("If-Match", format!("\"{version}\"")).json(&json!({"text": format!("course {i}")}));
            async move { vigie_tests::answer(request.send().await.unwrap()).await }
        });
        let answers = futures_util::future::join_all(racing).await;
        assert_eq!(answers.iter().filter(|(status, _)| *status == 200).count(), 1, "{answers:?}");
        assert!(answers.iter().all(|(status, body)| *status == 200 || (*status == 412 && body["type"] == "/problems/stale_version")), "{answers:?}");
    }

    async fn a_malformed_idempotency_key_is_refused_after_the_session_is_checked(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let open = |key: &str, token: Option<&str>| {
            let request = app.client.post(app.url("/api/v1/accounts")).header("Idempotency-Key", key)
                .json(&json!({"number": "7101", "name": "Compte 7101", "time_zone": "America/Toronto"}));
            match token { Some(token) => request.bearer_auth(token), None => request }.send()
        };

        // No session: 401 first, as without a key; the key's shape tells a stranger nothing.
        assert_eq!(open("", None).await.unwrap().status(), 401);
        // A session, and a key empty or over 200 characters: 400, and nothing made.
        for key in [String::new(), "k".repeat(201)] {
            let (status, problem) = vigie_tests::answer(open(&key, Some(&operator)).await.unwrap()).await;
            assert_eq!((status, problem["detail"].as_str()), (400, Some("Idempotency-Key is 1 to 200 characters of text.")));
        }
        // A path that does not exist, or a method it does not take: 404 and 405, not the key's 400.
        let unknown = app.client.post(app.url("/api/v1/acounts")).bearer_auth(&operator).header("Idempotency-Key", "").send();
        assert_eq!(unknown.await.unwrap().status(), 404);
        let wrong_method = app.client.put(app.url("/api/v1/accounts")).bearer_auth(&operator).header("Idempotency-Key", "").send();
        assert_eq!(wrong_method.await.unwrap().status(), 405);
        let (status, made) = vigie_tests::answer(open(&"k".repeat(200), Some(&operator)).await.unwrap()).await;
        assert_eq!(status, 201, "the first account 7101, made only now: {made}");
    }

    async fn an_idempotency_key_answers_only_the_request_it_was_first_sent_with(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let keyed = |token: &str, method: reqwest::Method, path: &str, key: &str, body: Value| {
            app.client.request(method, app.url(path)).bearer_auth(token).header("Idempotency-Key", key).json(&body).send()
        };
        let open = |number: &str| json!({"number": number, "name": format!("Compte {number}"), "time_zone": "America/Toronto"});

        // The same request again: the first answer, and one account.
        let (status, first) = vigie_tests::answer(keyed(&operator, reqwest::Method::POST, "/api/v1/accounts", "k-1", open("7001")).await.unwrap()).await;
        assert_eq!(status, 201, "{first}");
        let (status, again) = vigie_tests::answer(keyed(&operator, reqwest::Method::POST, "/api/v1/accounts", "k-1", open("7001")).await.unwrap()).await;
        assert_eq!((status, &again), (201, &first));
        let (status, _) = app.get(&operator, &format!("/api/v1/accounts/{}/schedules", first["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "the account the answer names exists");
        // The same change written another way (members reordered, spaced out) is the same request.
        let respaced = "{ \"time_zone\" : \"America/Toronto\",\n  \"name\": \"Compte 7001\", \"number\": \"7001\" }";
        let response = app.client.post(app.url("/api/v1/accounts")).bearer_auth(&operator).header("Idempotency-Key", "k-1")
            .header("content-type", "application/json").body(respaced).send().await.unwrap();
        let (status, again) = vigie_tests::answer(response).await;
        assert_eq!((status, &again), (201, &first));

        // Another request under the same key, on the same route or another: refused, and nothing happens.
        let (status, problem) = vigie_tests::answer(keyed(&operator, reqwest::Method::POST, "/api/v1/accounts", "k-1", open("7002")).await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/idempotency_key_reused")), "{problem}");
        let (_, schedule) = account_and_schedule(&app, &app.login("4000-TEST", PASSWORD).await).await;
        let shift = future_shifts(&app, &operator, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let comments = format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments");
        let (status, _) = vigie_tests::answer(keyed(&operator, reqwest::Method::POST, &comments, "k-1", json!({"text": "sous la même clé"})).await.unwrap()).await;
        assert_eq!(status, 422);
        let (status, _) = app.post(&operator, "/api/v1/accounts", open("7002")).await;
        assert_eq!(status, 201, "account 7002 was not opened by the refused request");
        let (_, history) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        assert!(!history["events"].as_array().unwrap().iter().any(|e| e["data"]["text"] == "sous la même clé"));

        // A client's password change under a key already used for a comment is refused too.
        let client = app.login("4000-TEST", PASSWORD).await;
        let (status, _) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &comments, "k-2", json!({"text": "bonjour"})).await.unwrap()).await;
        assert_eq!(status, 200);
        let change = json!({"current_password": PASSWORD, "new_password": "a new and longer secret"});
        let (status, _) = vigie_tests::answer(keyed(&client, reqwest::Method::PUT, "/api/v1/me/password", "k-2", change).await.unwrap()).await;
        assert_eq!(status, 422);
        app.login("4000-TEST", PASSWORD).await;

        // A refused request frees its key for the corrected one.
        let assign = format!("/api/v1/schedules/{schedule}/shifts/{shift}/assign");
        let (status, _) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &assign, "k-3", json!({"contact_id": uuid::Uuid::now_v7()})).await.unwrap()).await;
        assert_eq!(status, 422);
        let (_, me) = app.get(&client, "/api/v1/me").await;
        let (_, contacts) = app.get(&client, &format!("/api/v1/accounts/{}/contacts", me["accounts"][0]["id"].as_str().unwrap())).await;
        let (status, body) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &assign, "k-3", json!({"contact_id": contacts[0]["id"]})).await.unwrap()).await;
        assert_eq!(status, 200, "{body}");

        // A repeated override names the one override there is.
        let (_, roster) = app.get(&client, &format!("/api/v1/schedules/{schedule}/shifts?from={}&to={}",
            urlencode(&(chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339()), urlencode(&(chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339()))).await;
        let target = roster["shifts"].as_array().unwrap().iter().find(|s| s["id"] == shift.as_str()).unwrap();
        let overrides = format!("/api/v1/schedules/{schedule}/shifts/{shift}/overrides");
        let body = json!({"contact_id": contacts[1]["id"], "start": target["start"], "end": target["end"]});
        let (status, first) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &overrides, "k-4", body.clone()).await.unwrap()).await;
        assert_eq!(status, 201, "{first}");
        let (_, again) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &overrides, "k-4", body).await.unwrap()).await;
        assert_eq!(again["override_id"], first["override_id"]);
        let unassign = format!("/api/v1/schedules/{schedule}/shifts/{shift}/unassign");
        let (status, body) = app.post(&client, &unassign, json!({"override_id": again["override_id"]})).await;
        assert_eq!(status, 200, "the repeated answer's override exists: {body}");

        // Answers that hold a secret are not kept (secrets are stored only as hashes): a repeat makes a new one.
        let feeds = format!("/api/v1/schedules/{schedule}/calendar-feeds");
        let (status, first) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &feeds, "k-5", Value::Null).await.unwrap()).await;
        let (again_status, again) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, &feeds, "k-5", Value::Null).await.unwrap()).await;
        assert_eq!((status, again_status), (201, 201), "{first} {again}");
        assert_ne!(first["url"], again["url"]);
        let login = json!({"username": "4000-TEST", "password": PASSWORD});
        let (_, first) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, "/api/v1/auth/login", "k-6", login.clone()).await.unwrap()).await;
        let (_, again) = vigie_tests::answer(keyed(&client, reqwest::Method::POST, "/api/v1/auth/login", "k-6", login).await.unwrap()).await;
        assert!(first["token"].is_string() && again["token"].is_string());
        assert_ne!(first["token"], again["token"]);
    }

    async fn racing_requests_with_one_idempotency_key_change_things_once(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (_, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let path = app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"));
        let send = || async {
            let response = app.client.post(&path).bearer_auth(&token).header("Idempotency-Key", "race").json(&json!({"text": "une seule fois"})).send().await.unwrap();
            vigie_tests::answer(response).await
        };
        let answers = futures_util::future::join_all((0..12).map(|_| send())).await;
        let made: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
        assert!(!made.is_empty(), "{answers:?}");
        assert!(made.iter().all(|body| *body == made[0]), "every success is the first answer: {answers:?}");
        for (status, body) in &answers {
            assert!(*status == 200 || (*status == 409 && body["type"] == "/problems/request_in_progress"), "{status} {body}");
        }
        let (_, history) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let comments = history["events"].as_array().unwrap().iter().filter(|e| e["data"]["text"] == "une seule fois").count();
        assert_eq!(comments, 1);
    }

    async fn a_key_whose_server_stopped_before_answering_is_resolved_a_minute_later(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (_, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let path = app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"));
        let send = |key: &'static str| {
            app.client.post(&path).bearer_auth(&token).header("Idempotency-Key", key).json(&json!({"text": "relève"})).send()
        };
        let (status, made) = vigie_tests::answer(send("made").await.unwrap()).await;
        assert_eq!(status, 200, "{made}");
        // What a server that stopped before keeping the answer leaves: the key claimed, a minute and
        // more ago. "made" made its change; "lost" (the same request) never reached the log.
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let long_ago = (chrono::Utc::now() - chrono::Duration::minutes(2)).timestamp_micros();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE idempotency_keys SET status = 0, created_at = $1 WHERE key = 'made'")
            .bind(long_ago).execute(p).await.map(drop)).unwrap();
        vigie_projections::on_db!(&pool, |p| sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, created_at)
             SELECT user_id, 'lost', fingerprint, 0, '', created_at FROM idempotency_keys WHERE key = 'made'"
        ).execute(p).await.map(drop)).unwrap();

        let (status, problem) = vigie_tests::answer(send("made").await.unwrap()).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["type"], "/problems/answer_lost");
        assert_eq!(problem["position"], made["position"], "the answer names where the change is");

        let (status, retried) = vigie_tests::answer(send("lost").await.unwrap()).await;
        assert_eq!(status, 200, "the change that was never made is made now: {retried}");
        let (status, repeated) = vigie_tests::answer(send("lost").await.unwrap()).await;
        assert_eq!((status, &repeated), (200, &retried), "and its answer is kept as usual");
        let (_, history) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let comments = history["events"].as_array().unwrap().iter().filter(|e| e["data"]["text"] == "relève").count();
        assert_eq!(comments, 2, "one comment per key");
    }

    async fn a_login_checked_against_a_password_that_changed_meanwhile_opens_no_session(db) {
        let app = TestApp::spawn_demo(db).await;
        let (_, me) = app.get(&app.login("4000-TEST", PASSWORD).await, "/api/v1/me").await;
        let user: vigie_domain::UserId = me["id"].as_str().unwrap().parse().unwrap();
        let pool = vigie_projections::db::Db::connect(&app.db.url, 2).await.unwrap();
        let hash: String = vigie_projections::on_db!(&pool, |p| sqlx::query_scalar("SELECT password_hash FROM credentials WHERE user_id = $1")
            .bind(user.to_string()).fetch_one(p).await).unwrap();
        let now = chrono::Utc::now();
        let open = |verified: String| {
            let pool = pool.clone();
            async move {
                let (token, token_hash) = vigie_api::auth::store::new_token();
                let opened = vigie_api::auth::store::create_session(&pool, &token_hash, user, &verified, now, now + chrono::Duration::hours(1)).await.unwrap();
                (opened, token)
            }
        };
        // Verified against the password in place: the session opens and works.
        let (opened, token) = open(hash.clone()).await;
        assert!(opened);
        assert_eq!(app.get(&token, "/api/v1/me").await.0, 200);
        // Verified against a password since replaced: nothing opens.
        let (opened, token) = open("$argon2id$an-older-password".into()).await;
        assert!(!opened);
        assert_eq!(app.get(&token, "/api/v1/me").await.0, 401);

        if let vigie_projections::db::Db::Postgres(pg) = &pool {
            // A reset still uncommitted when the session goes in: the login waits for it, then
            // sees the new password and opens nothing, rather than a session the reset missed.
            let mut reset = pg.begin().await.unwrap();
            sqlx::query("UPDATE credentials SET password_hash = 'new' WHERE user_id = $1").bind(user.to_string()).execute(&mut *reset).await.unwrap();
            let login = tokio::spawn(open(hash.clone()));
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(!login.is_finished(), "the login did not wait for the reset");
            reset.commit().await.unwrap();
            let (opened, token) = login.await.unwrap();
            assert!(!opened, "a login that read the old password opened a session past the reset");
            assert_eq!(app.get(&token, "/api/v1/me").await.0, 401);
        }
    }

    async fn a_replayed_answer_without_a_body_is_sent_as_the_first_was(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&app.login("4000-TEST", PASSWORD).await, "/api/v1/me").await;
        let reset = || {
            app.client.put(app.url(&format!("/api/v1/users/{}/password", me["id"].as_str().unwrap()))).bearer_auth(&operator)
                .header("Idempotency-Key", "reset-twice").json(&json!({"new_password": "un tout nouveau secret"})).send()
        };
        let (first, again) = (reset().await.unwrap(), reset().await.unwrap());
        assert_eq!((first.status().as_u16(), again.status().as_u16()), (204, 204));
        assert_eq!(first.headers().get("content-type"), None);
        assert_eq!(again.headers().get("content-type"), None, "the replay added a Content-Type the first answer had not");
        assert_eq!(again.bytes().await.unwrap().len(), 0);
    }

    async fn a_password_reset_whose_server_stopped_after_its_event_is_finished_by_a_retry(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&app.login("4000-TEST", PASSWORD).await, "/api/v1/me").await;
        let user = me["id"].as_str().unwrap().to_owned();
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let old_hash: String = vigie_projections::on_db!(&pool, |p| sqlx::query_scalar("SELECT password_hash FROM credentials WHERE user_id = $1")
            .bind(&user).fetch_one(p).await).unwrap();
        let reset = || {
            app.client.put(app.url(&format!("/api/v1/users/{user}/password"))).bearer_auth(&operator)
                .header("Idempotency-Key", "reset").json(&json!({"new_password": "un tout nouveau secret"})).send()
        };
        assert_eq!(reset().await.unwrap().status(), 204);

        // What a server that stopped right after the event leaves: the key claimed a while ago,
        // the old password still in place, and a session opened with it still alive.
        let long_ago = (chrono::Utc::now() - chrono::Duration::minutes(2)).timestamp_micros();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE idempotency_keys SET status = 0, created_at = $1 WHERE key = 'reset'")
            .bind(long_ago).execute(p).await.map(drop)).unwrap();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE credentials SET password_hash = $1 WHERE user_id = $2")
            .bind(&old_hash).bind(&user).execute(p).await.map(drop)).unwrap();
        let stolen = app.login("4000-TEST", PASSWORD).await;

        // The retry does not answer "made, do not send it again": it finishes the reset.
        let (status, answer) = vigie_tests::answer(reset().await.unwrap()).await;
        assert_eq!(status, 204, "{answer}");
        let (status, _) = app.get(&stolen, "/api/v1/me").await;
        assert_eq!(status, 401, "a session opened with the old password outlived the reset");
        let login = |password: &'static str| {
            app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "4000-TEST", "password": password})).send()
        };
        assert_eq!(login(PASSWORD).await.unwrap().status(), 401, "the old password still works");
        assert_eq!(login("un tout nouveau secret").await.unwrap().status(), 200);
        let (_, feed) = app.get(&operator, "/api/v1/events?limit=1000").await;
        let resets = feed["events"].as_array().unwrap().iter().filter(|e| e["type"] == "PasswordReset").count();
        assert_eq!(resets, 1, "the retry recorded the reset a second time");
    }

    async fn a_stopped_reset_retried_after_a_later_reset_does_not_undo_it(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&app.login("4000-TEST", PASSWORD).await, "/api/v1/me").await;
        let user = me["id"].as_str().unwrap().to_owned();
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let reset = |key: &'static str, password: &'static str| {
            app.client.put(app.url(&format!("/api/v1/users/{user}/password"))).bearer_auth(&operator)
                .header("Idempotency-Key", key).json(&json!({"new_password": password})).send()
        };
        assert_eq!(reset("first", "premier secret choisi").await.unwrap().status(), 204);
        // Its server stopped before keeping the answer; another reset came after it.
        let long_ago = (chrono::Utc::now() - chrono::Duration::minutes(2)).timestamp_micros();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE idempotency_keys SET status = 0, created_at = $1 WHERE key = 'first'")
            .bind(long_ago).execute(p).await.map(drop)).unwrap();
        assert_eq!(reset("second", "second secret choisi").await.unwrap().status(), 204);

        let (status, problem) = vigie_tests::answer(reset("first", "premier secret choisi").await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (409, Some("/problems/answer_lost")), "{problem}");
        let login = |password: &'static str| {
            app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "4000-TEST", "password": password})).send()
        };
        assert_eq!(login("second secret choisi").await.unwrap().status(), 200, "the later reset was undone");
        assert_eq!(login("premier secret choisi").await.unwrap().status(), 401);
    }

    async fn a_password_change_stopped_after_its_new_hash_ends_the_sessions_on_retry(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let change = || {
            app.client.put(app.url("/api/v1/me/password")).bearer_auth(&token).header("Idempotency-Key", "change")
                .json(&json!({"current_password": PASSWORD, "new_password": "mon nouveau secret"})).send()
        };
        assert_eq!(change().await.unwrap().status(), 204);
        // What a server that stopped after storing the new hash leaves: the key claimed a while
        // ago and the sessions not yet ended.
        let long_ago = (chrono::Utc::now() - chrono::Duration::minutes(2)).timestamp_micros();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE idempotency_keys SET status = 0, created_at = $1 WHERE key = 'change'")
            .bind(long_ago).execute(p).await.map(drop)).unwrap();
        let restored = app.login("4000-TEST", "mon nouveau secret").await;
        // A session opened with the new password stands for one the stopped server did not end.
        let (status, _) = app.get(&restored, "/api/v1/me").await;
        assert_eq!(status, 200);

        let retry = app.client.put(app.url("/api/v1/me/password")).bearer_auth(&restored).header("Idempotency-Key", "change")
            .json(&json!({"current_password": PASSWORD, "new_password": "mon nouveau secret"})).send().await.unwrap();
        let (status, answer) = vigie_tests::answer(retry).await;
        assert_eq!(status, 204, "the retry was refused: {answer}");
        let (status, _) = app.get(&restored, "/api/v1/me").await;
        assert_eq!(status, 401, "the retry left a session alive");
    }

    async fn unassign_takes_no_body_or_null_as_removing_the_base_contact_and_json_only(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let (_, contacts) = app.get(&token, &format!("/api/v1/accounts/{account}/contacts")).await;
        let assign = json!({"contact_id": contacts[0]["id"]});
        let unassign = app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/unassign"));
        let send = |content_type: &'static str, body: &'static str| {
            app.client.post(&unassign).bearer_auth(&token).header("content-type", content_type).body(body).send()
        };
        for body in ["", "null", " null "] {
            let (status, _) = app.post(&token, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/assign"), assign.clone()).await;
            assert_eq!(status, 200);
            let (status, answer) = vigie_tests::answer(send("application/json", body).await.unwrap()).await;
            assert_eq!(status, 200, "{body:?}: {answer}");
        }
        // A body that is not declared JSON is refused, as on every other change.
        let (status, problem) = vigie_tests::answer(send("text/plain", "{}").await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (415, Some("/problems/unsupported_media_type")), "{problem}");
    }

    async fn changes_racing_on_one_schedule_without_if_match_all_land(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (_, schedule) = account_and_schedule(&app, &token).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments");
        // Comments never conflict: none may be refused because another was written at the same moment.
        let racing = (0..12).map(|n| app.post(&token, &path, json!({"text": format!("note {n}")})));
        let statuses: Vec<u16> = futures_util::future::join_all(racing).await.into_iter().map(|(status, _)| status).collect();
        assert_eq!(statuses, vec![200; 12]);
        let (_, history) = app.get(&token, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let mut notes: Vec<String> = history["events"].as_array().unwrap().iter()
            .filter(|e| e["type"] == "ShiftCommented" && e["data"]["text"].as_str().is_some_and(|t| t.starts_with("note ")))
            .map(|e| e["data"]["text"].as_str().unwrap().to_owned())
            .collect();
        notes.sort();
        let mut expected: Vec<String> = (0..12).map(|n| format!("note {n}")).collect();
        expected.sort();
        assert_eq!(notes, expected, "each acknowledged comment is in the history once");
    }

    async fn a_swap_cannot_put_a_deactivated_contact_on_a_shift(db) {
        let app = TestApp::spawn_demo(db).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &client).await;
        let (_, contacts) = app.get(&client, &format!("/api/v1/accounts/{account}/contacts")).await;
        let sophie = contacts.as_array().unwrap().iter().find(|c| c["name"] == "Sophie Gagnon").unwrap()["id"].clone();
        let shifts = future_shifts(&app, &client, &schedule).await;
        let rank0: Vec<&Value> = shifts.iter().filter(|s| s["rank"] == 0).collect();
        change(&app, &client, &schedule, rank0[0], "assign", json!({"contact_id": sophie})).await;
        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{}/deactivate", sophie.as_str().unwrap()), json!({})).await;
        assert_eq!(status, 200);

        let swap = json!({"shift_a": rank0[0]["id"], "shift_b": rank0[1]["id"]});
        let (status, problem) = app.post(&client, &format!("/api/v1/schedules/{schedule}/swap"), swap).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/contact_inactive")), "{problem}");
        let roster = future_shifts(&app, &client, &schedule).await;
        let second = roster.iter().find(|s| s["id"] == rank0[1]["id"]).unwrap();
        assert_ne!(second["assignee"]["id"], sophie, "Sophie stayed off the second shift");
    }

    async fn coverage_colours_follow_the_assignments(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule) = account_and_schedule(&app, &token).await;
        let (_, contacts) = app.get(&token, &format!("/api/v1/accounts/{account}/contacts")).await;
        let contact = |name: &str| contacts.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].clone();
        // The two shifts (ranks 0 and 1) of one future week.
        let shifts = future_shifts(&app, &token, &schedule).await;
        let first = shifts.iter().find(|s| s["rank"] == 0).unwrap();
        let second = shifts.iter().find(|s| s["rank"] == 1 && s["start"] == first["start"]).unwrap();
        let start = chrono::DateTime::parse_from_rfc3339(first["start"].as_str().unwrap()).unwrap();
        let day = (start + chrono::Duration::days(2)).date_naive();
        change(&app, &token, &schedule, first, "assign", json!({"contact_id": contact("Patrick Tremblay")})).await;
        change(&app, &token, &schedule, second, "assign", json!({"contact_id": contact("Luc Lambert")})).await;
        assert_eq!(colour(&app, &token, &schedule, day).await, "full");
        change(&app, &token, &schedule, second, "unassign", json!({})).await;
        assert_eq!(colour(&app, &token, &schedule, day).await, "partial");
        change(&app, &token, &schedule, first, "unassign", json!({})).await;
        assert_eq!(colour(&app, &token, &schedule, day).await, "none");
    }

    async fn malformed_ids_and_unknown_routes_get_problem_json(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        for (path, status) in [("/api/v1/schedules/not-a-uuid/shifts", 400), ("/api/v1/no-such-route", 404)] {
            let response = app.client.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), status, "{path}");
            assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
            let (_, problem) = vigie_tests::answer(response).await;
            assert_eq!(problem["status"], status);
            assert!(!problem["detail"].as_str().unwrap().is_empty());
        }

        // A misspelt field is refused, not ignored: "recurrence" would otherwise assign one shift only.
        let (account, schedule) = account_and_schedule(&app, &token).await;
        let (_, contacts) = app.get(&token, &format!("/api/v1/accounts/{account}/contacts")).await;
        let shift = future_shifts(&app, &token, &schedule).await[0]["id"].as_str().unwrap().to_owned();
        let (_, before) = app.get(&token, &format!("/api/v1/accounts/{account}/schedules")).await;
        let body = json!({"contact_id": contacts[0]["id"], "recurrence": {"every": 1}});
        let (status, problem) = app.post(&token, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/assign"), body).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("unknown field `recurrence`"), "{problem}");
        // A body that is not said to be JSON is refused for its type, whatever it holds.
        let response = app.client.post(app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments")))
            .bearer_auth(&token).header("content-type", "text/plain").body(r#"{"text": "hi"}"#).send().await.unwrap();
        let (status, problem) = vigie_tests::answer(response).await;
        assert_eq!((status, problem["type"].as_str()), (415, Some("/problems/unsupported_media_type")), "{problem}");
        // An array is not an object, even when its items fall in the fields' order.
        let body = json!([contacts[0]["id"], "by position"]);
        let (status, problem) = app.post(&token, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/assign"), body).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("The request body must be a JSON object.")), "{problem}");
        let (_, after) = app.get(&token, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert_eq!(before, after, "nothing changed");

        // A body over the limit is too large (413), not malformed.
        let huge = json!({"text": "x".repeat(100 * 1024)});
        let (status, problem) = app.post(&token, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), huge).await;
        assert_eq!((status, problem["type"].as_str()), (413, Some("/problems/too_large")), "{problem}");
        // So is one sent with an Idempotency-Key, which is read before the route reads it.
        let response = app
            .client
            .post(app.url(&format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments")))
            .bearer_auth(&token)
            .header("Idempotency-Key", "huge")
            .json(&json!({"text": "x".repeat(100 * 1024)}))
            .send()
            .await
            .unwrap();
        let (status, problem) = vigie_tests::answer(response).await;
        assert_eq!((status, problem["detail"].as_str()), (413, Some("This request body is too large (64 KiB at most).")), "{problem}");
        // A reason longer than a comment may be is refused.
        let operator = app.login("operator", PASSWORD).await;
        let long = json!({"text": "ok", "reason": "r".repeat(2001)});
        let (status, problem) = app.post(&operator, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), long).await;
        assert_eq!((status, problem["detail"].as_str()), (422, Some("The reason cannot be longer than 2000 characters.")), "{problem}");
        // A schedule id dispatch does not know is not "nobody on call".
        let (status, _) = app.get(&token, &format!("/api/v1/accounts/{account}/on-call?schedule_id={}", uuid::Uuid::now_v7())).await;
        assert_eq!(status, 404);

        // An instant so far ahead that an answer could not write it in RFC 3339.
        let (status, problem) = app.get(&token, &format!("/api/v1/accounts/{account}/on-call?at=9999-12-31T23:59:59-12:00")).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["detail"], "at must fall between the years 1000 and 9000.");
        // Seconds that read 60 (a leap second no clock here keeps) would come back as ":60",
        // which browsers and calendars cannot read.
        let (status, problem) = app.get(&token, &format!("/api/v1/accounts/{account}/on-call?at=2026-12-15T23:59:60-05:00")).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("at has 60 seconds; seconds run from 00 to 59.")), "{problem}");
        let contact = app.get(&token, &format!("/api/v1/accounts/{account}/contacts")).await.1[0]["id"].clone();
        let leap = json!({"contact_id": contact, "start": "2026-12-15T23:59:60-05:00", "end": "2026-12-16T07:30:00-05:00"});
        let (status, problem) = app.post(&token, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/overrides"), leap).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("start has 60 seconds; seconds run from 00 to 59.")), "{problem}");
        let series = json!({"first_start": "2026-12-20T07:30:60", "first_end": "2026-12-21T07:30:00", "every": 1, "unit": "days",
                            "count": 2, "rank": 5, "name": "Saut", "role": "OC"});
        let (status, problem) = app.post(&operator, &format!("/api/v1/schedules/{schedule}/series"), series).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("first_start has 60 seconds; seconds run from 00 to 59.")), "{problem}");
        // A two-digit year is the year 27 to a JSON date; no schedule means it.
        let series = json!({"first_start": "2026-12-20T07:30:00", "first_end": "2026-12-21T07:30:00", "every": 1, "unit": "days",
                            "until": "27-03-10", "rank": 5, "name": "Saut", "role": "OC"});
        let (status, problem) = app.post(&operator, &format!("/api/v1/schedules/{schedule}/series"), series).await;
        assert_eq!((status, problem["detail"].as_str()), (400, Some("until must be a date between the years 1000 and 9000, e.g. 2026-05-02.")), "{problem}");
    }

    async fn repeated_failed_logins_are_throttled(db) {
        let app = TestApp::spawn_demo(db).await;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let response = app.client.post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": "operator", "password": "not-it-at-all"})).send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    }

    async fn guesses_sent_all_at_once_are_throttled_like_guesses_sent_one_by_one(db) {
        let app = TestApp::spawn_demo(db).await;
        let guesses = (0..30).map(|n| {
            let request = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "operator", "password": format!("guess {n}")}));
            async move { request.send().await.unwrap().status().as_u16() }
        });
        let statuses = futures_util::future::join_all(guesses).await;
        let refused = statuses.iter().filter(|&&s| s == 401).count();
        // A node checks one user's guesses one after another, each seeing the failures before it.
        assert_eq!(refused, 5, "{refused} passwords were checked: {statuses:?}");
        assert!(statuses.iter().all(|&s| s == 401 || s == 429), "{statuses:?}");
    }

    async fn retry_after_counts_down_to_when_fewer_than_five_failures_remain(db) {
        let app = TestApp::spawn_demo(db).await;
        // Five failures almost out of the window, five a minute old (a burst from before).
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let now = chrono::Utc::now().timestamp_micros();
        for age_seconds in [890, 890, 890, 890, 890, 60, 60, 60, 60, 60] {
            vigie_projections::on_db!(&pool, |p| sqlx::query("INSERT INTO login_failures (key, failed_at) VALUES ('user:operator', $1)")
                .bind(now - age_seconds * 1_000_000).execute(p).await.map(|_| ())).unwrap();
        }
        let response = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "operator", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(response.status(), 429);
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((835..=840).contains(&retry_after), "Retry-After: {retry_after}, when the minute-old failures leave the window");

        // A name longer than any user's is refused like any other unknown one.
        let long = "x".repeat(5000);
        let response = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": long, "password": "x"})).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }

    async fn failed_logins_count_on_every_node_and_survive_a_restart(db) {
        let app = TestApp::spawn_demo(db).await;
        let mut other = vigie_tests::ServerProcess::start(SERVER, &app.db.url, false).await;
        let client = app.client.clone();
        let login = |url: String| {
            let client = client.clone();
            async move {
                let response = client.post(url).json(&json!({"username": "operator", "password": "not-it-at-all"})).send().await.unwrap();
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
                (response.status().as_u16(), retry_after)
            }
        };
        // A guesser spreading over two nodes gets five guesses in all, not five per node.
        for attempt in 0..5 {
            let url = if attempt % 2 == 0 { app.url("/api/v1/auth/login") } else { other.url("/api/v1/auth/login") };
            assert_eq!(login(url).await.0, 401);
        }
        for url in [app.url("/api/v1/auth/login"), other.url("/api/v1/auth/login")] {
            let (status, retry_after) = login(url).await;
            assert_eq!(status, 429);
            assert!(retry_after.is_some_and(|s| (880..=900).contains(&s)), "Retry-After: {retry_after:?}");
        }
        // A node that restarts still remembers them.
        other.kill().await;
        other = vigie_tests::ServerProcess::start(SERVER, &app.db.url, false).await;
        assert_eq!(login(other.url("/api/v1/auth/login")).await.0, 429, "a restart forgot the failures");
    }

    async fn failures_from_strangers_do_not_lock_a_user_out_of_an_address_they_logged_in_from(db) {
        let app = TestApp::spawn_demo(db).await;
        let from = |last: u8| reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, last])).build().unwrap();
        let login = |client: reqwest::Client, password: &'static str| {
            let url = app.url("/api/v1/auth/login");
            async move { client.post(url).json(&json!({"username": "dispatch", "password": password})).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(login(from(1), PASSWORD).await, 200, "the dispatch system logs in from its usual address");
        for last in 2..=6 {
            assert_eq!(login(from(last), "a wrong guess").await, 401);
        }
        assert_eq!(login(from(7), PASSWORD).await, 429, "the user name is blocked for new addresses");
        assert_eq!(login(from(1), PASSWORD).await, 200, "but not for the one it logged in from");
        assert_eq!(login(from(8), "a wrong guess").await, 429, "the real user's login gave guessers new tries");

        // Strangers failing from the dispatch system's own address (a proxy, say) block the
        // address for newcomers, not for a user who logged in from it.
        let stranger = |client: reqwest::Client, n: u32| {
            let url = app.url("/api/v1/auth/login");
            async move { client.post(url).json(&json!({"username": format!("stranger{n}"), "password": "x"})).send().await.unwrap().status().as_u16() }
        };
        for n in 0..5 {
            assert_eq!(stranger(from(1), n).await, 401);
        }
        assert_eq!(stranger(from(1), 5).await, 429, "the address is blocked for names never seen there");
        assert_eq!(login(from(1), PASSWORD).await, 200, "dispatch still logs in from its address");
        // Its own failures from there still count: five wrong guesses, and even it waits.
        for _ in 0..5 {
            assert_eq!(login(from(1), "a wrong guess").await, 401);
        }
        assert_eq!(login(from(1), PASSWORD).await, 429);
    }

    async fn behind_a_trusted_proxy_logins_are_throttled_per_forwarded_address(db) {
        // The test's own connections come from 127.0.0.1: that is the proxy.
        let app = TestApp::spawn_demo_with(db, |settings| settings.trusted_proxies = vec![[127, 0, 0, 1].into()]).await;
        let login = |forwarded_for: &'static str, username: &'static str, password: &'static str| {
            let request = app.client.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", forwarded_for);
            async move { request.json(&json!({"username": username, "password": password})).send().await.unwrap().status().as_u16() }
        };
        for _ in 0..5 {
            assert_eq!(login("203.0.113.9", "nobody", "x").await, 401);
        }
        assert_eq!(login("203.0.113.9", "4000-TEST", PASSWORD).await, 429, "the guesser's address is blocked");
        assert_eq!(login("198.51.100.7", "4000-TEST", PASSWORD).await, 200, "not everyone behind the proxy");
        // A client cannot pick its address by writing its own X-Forwarded-For: the proxy appends the real one.
        assert_eq!(login("198.51.100.99, 203.0.113.9", "4000-TEST", PASSWORD).await, 429);
    }

    async fn guesses_at_the_current_password_are_throttled_like_logins(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let mut statuses = Vec::new();
        for guess in 0..6 {
            let body = json!({"current_password": format!("guess number {guess}"), "new_password": "a new and longer secret"});
            let response = app.client.put(app.url("/api/v1/me/password")).bearer_auth(&token).json(&body).send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, vec![403, 403, 403, 403, 403, 429]);
    }
}
