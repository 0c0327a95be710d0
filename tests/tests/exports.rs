//! Schedule exports over real HTTP on the demo: the PDF download and the iCalendar feed's lifecycle.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use vigie_tests::{TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// Account 4000's first schedule ("01 Horaire"), as its client sees it.
async fn genesis_schedule(app: &TestApp, token: &str) -> String {
    let (_, me) = app.get(token, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let (_, schedules) = app.get(token, &format!("/api/v1/accounts/{account}/schedules")).await;
    assert_eq!(schedules[0]["name"], "01 Horaire");
    schedules[0]["id"].as_str().unwrap().to_owned()
}

/// The names of everyone on call in the schedule between two instants, as the JSON roster lists them.
async fn names_on_call(app: &TestApp, token: &str, schedule: &str, from: &str, to: &str) -> BTreeSet<String> {
    let encode = |v: &str| v.replace('+', "%2B").replace(':', "%3A");
    let path = format!("/api/v1/schedules/{schedule}/shifts?from={}&to={}", encode(from), encode(to));
    let (status, body) = app.get(token, &path).await;
    assert_eq!(status, 200, "{body}");
    body["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["segments"].as_array().unwrap().iter())
        .filter_map(|segment| segment["contact"]["name"].as_str().map(str::to_owned))
        .collect()
}

fn pdf_text(bytes: &[u8]) -> String {
    let document = lopdf::Document::load_mem(bytes).expect("the download is a PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("the PDF's text extracts")
}

async fn download(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.expect("the server answers")
}

/// Fetches a feed URL the way a calendar app does: no session at all.
async fn fetch_feed(app: &TestApp, url: &str) -> (u16, String) {
    let response = app.client.get(app.url(url)).send().await.expect("the server answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

/// The client's user id, their account, and another account the operator reaches.
async fn client_and_another_account(app: &TestApp, client: &str, operator: &str) -> (String, String, String) {
    let (_, me) = app.get(client, "/api/v1/me").await;
    let (user, home) = (me["id"].as_str().unwrap().to_owned(), me["accounts"][0]["id"].as_str().unwrap().to_owned());
    let (_, staff) = app.get(operator, "/api/v1/me").await;
    let accounts = staff["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap());
    let elsewhere = accounts.into_iter().find(|&a| a != home).unwrap().to_owned();
    (user, home, elsewhere)
}

/// An operator gives `user` exactly `accounts`.
async fn move_client(app: &TestApp, operator: &str, user: &str, accounts: &[&str]) -> u16 {
    let request = app.client.put(app.url(&format!("/api/v1/users/{user}/accounts"))).bearer_auth(operator);
    request.json(&json!({"account_ids": accounts})).send().await.unwrap().status().as_u16()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> u16 {
    app.client.delete(app.url(path)).bearer_auth(token).send().await.expect("the server answers").status().as_u16()
}

backend_tests! {
    async fn a_client_downloads_a_month_of_the_schedule_as_a_pdf(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;
        let today = Utc::now().date_naive();
        let (from, to) = (today - Duration::days(7), today + Duration::days(28));

        let response = download(&app, &token, &format!("/api/v1/schedules/{schedule}/export.pdf?from={from}&to={to}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        assert_eq!(
            response.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"01-Horaire-{from}-{to}.pdf\"; filename*=UTF-8''01-Horaire-{from}-{to}.pdf")
        );
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF"));
        let text = pdf_text(&bytes);
        assert!(text.contains("01 Horaire") && text.contains("4000 Demo Genesis"), "{text}");
        assert!(text.contains("Total hours assigned: ") && text.contains(" unassigned"), "{text}");
        // This week's override in the demo, and everyone the JSON roster shows inside the range.
        assert!(text.contains("(override)"), "{text}");
        let inside = names_on_call(&app, &token, &schedule, &(Utc::now() - Duration::days(5)).to_rfc3339(), &(Utc::now() + Duration::days(25)).to_rfc3339()).await;
        assert!(inside.len() >= 2, "the demo has fewer contacts on call than expected: {inside:?}");
        for name in inside {
            assert!(text.contains(&name), "{name} is on call but missing from the PDF:\n{text}");
        }

        // A range the other way round is refused with a message saying what to send.
        let response = download(&app, &token, &format!("/api/v1/schedules/{schedule}/export.pdf?from={to}&to={from}")).await;
        assert_eq!(response.status(), 400);
        let (_, problem) = vigie_tests::answer(response).await;
        assert!(problem["detail"].as_str().unwrap().contains("to must be on or after from"), "{problem}");

        // A past state is not printed, and today's is not passed off as one.
        let response = download(&app, &token, &format!("/api/v1/schedules/{schedule}/export.pdf?as_of=2026-01-01T00:00:00Z")).await;
        assert_eq!(response.status(), 400);
        let (_, problem) = vigie_tests::answer(response).await;
        assert!(problem["detail"].as_str().unwrap().contains("as_of is not taken here"), "{problem}");

        // Without a session, nothing.
        let response = app.client.get(app.url(&format!("/api/v1/schedules/{schedule}/export.pdf"))).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }

    async fn a_calendar_feed_works_without_a_session_until_it_is_revoked(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;

        let (status, feed) = app.post(&token, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;
        assert_eq!(status, 201, "{feed}");
        let url = feed["url"].as_str().unwrap().to_owned();
        assert!(url.starts_with("/api/v1/calendar/") && url.ends_with(".ics"), "{url}");

        let response = app.client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/calendar; charset=utf-8");
        let calendar = response.text().await.unwrap();
        assert!(calendar.starts_with("BEGIN:VCALENDAR\r\n"), "{calendar}");
        assert!(calendar.matches("BEGIN:VEVENT").count() >= 10, "a 7-month window of weekly shifts has few events:\n{calendar}");
        assert!(calendar.contains("SUMMARY:On call: ") && calendar.contains("(Rotation\\, rank 0)"), "{calendar}");
        assert!(calendar.contains("SUMMARY:Not covered"), "the demo's empty weeks are missing:\n{calendar}");

        // Dispatch reads schedules but makes no feeds.
        let dispatch = app.login("dispatch", PASSWORD).await;
        let (status, _) = app.post(&dispatch, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;
        assert_eq!(status, 403);

        // The feed is listed, without its token.
        let (status, listed) = app.get(&token, &format!("/api/v1/schedules/{schedule}/calendar-feeds")).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["feeds"][0]["id"], feed["id"]);
        assert_eq!(listed["feeds"][0]["created_by"]["username"], "4000-TEST");
        assert!(!listed.to_string().contains(url.trim_start_matches("/api/v1/calendar/").trim_end_matches(".ics")));

        // If-Match names the version of the schedule the feed belongs to.
        let (_, shown) = app.get(&token, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        let version = shown["version"].as_u64().unwrap();
        let feed_path = format!("/api/v1/schedules/{schedule}/calendar-feeds/{}", feed["id"].as_str().unwrap());
        let with_version = |method: reqwest::Method, path: &str, version: u64| {
            app.client.request(method, app.url(path)).bearer_auth(&token).header("If-Match", format!("\"{version}\"")).send()
        };
        let feeds_path = format!("/api/v1/schedules/{schedule}/calendar-feeds");
        let (status, problem) = vigie_tests::answer(with_version(reqwest::Method::POST, &feeds_path, version - 1).await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (412, Some("/problems/stale_version")), "{problem}");
        let (status, problem) = vigie_tests::answer(with_version(reqwest::Method::DELETE, &feed_path, version + 1).await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (412, Some("/problems/stale_version")), "{problem}");
        let (_, listed) = app.get(&token, &feeds_path).await;
        assert_eq!(listed["feeds"].as_array().unwrap().len(), 1, "a refused change made or revoked a feed: {listed}");
        assert_eq!(with_version(reqwest::Method::DELETE, &feed_path, version).await.unwrap().status(), 204);
        let (_, listed) = app.get(&token, &format!("/api/v1/schedules/{schedule}/calendar-feeds")).await;
        assert_eq!(listed["feeds"], serde_json::json!([]), "a revoked feed is still listed");
        assert_eq!(fetch_feed(&app, &url).await.0, 404, "a revoked feed still answers");
        assert_eq!(delete(&app, &token, &feed_path).await, 404, "a feed was revoked twice");

        // Tokens nobody issued, or URLs of the wrong shape, are unknown feeds.
        assert_eq!(fetch_feed(&app, "/api/v1/calendar/not-a-token.ics").await.0, 404);
        assert_eq!(fetch_feed(&app, &url.replace(".ics", "")).await.0, 404);

        // An operator's password reset takes a compromised account back, its feeds included.
        let (_, another) = app.post(&token, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;
        let another = another["url"].as_str().unwrap().to_owned();
        assert_eq!(fetch_feed(&app, &another).await.0, 200);
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&token, "/api/v1/me").await;
        let reset = app.client.put(app.url(&format!("/api/v1/users/{}/password", me["id"].as_str().unwrap())))
            .bearer_auth(&operator).json(&serde_json::json!({"new_password": "a new and longer secret"})).send().await.unwrap();
        assert_eq!(reset.status(), 204);
        assert_eq!(fetch_feed(&app, &another).await.0, 404, "a feed outlived its user's password reset");
    }

    async fn the_log_records_who_created_and_revoked_each_feed_but_never_its_token(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let auditor = app.login("auditor", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;
        let feeds = format!("/api/v1/schedules/{schedule}/calendar-feeds");
        let (_, me) = app.get(&token, "/api/v1/me").await;
        let client_stream = format!("user-{}", me["id"].as_str().unwrap());

        // A keyed creation whose answer was lost: the retry answers the same feed with a new
        // URL, and only that URL works, since the first was never kept.
        let create = || app.client.post(app.url(&feeds)).bearer_auth(&token).header("Idempotency-Key", "feed-1").send();
        let (status, first) = vigie_tests::answer(create().await.unwrap()).await;
        assert_eq!(status, 201, "{first}");
        let (status, retry) = vigie_tests::answer(create().await.unwrap()).await;
        assert_eq!(status, 201, "{retry}");
        assert_eq!(retry["id"], first["id"]);
        assert_ne!(retry["url"], first["url"]);
        assert_eq!(fetch_feed(&app, first["url"].as_str().unwrap()).await.0, 404, "the lost URL still works");
        assert_eq!(fetch_feed(&app, retry["url"].as_str().unwrap()).await.0, 200);
        let (_, listed) = app.get(&token, &feeds).await;
        assert_eq!(listed["feeds"].as_array().unwrap().len(), 1, "the retry made a second feed: {listed}");
        // A server that stopped before answering leaves the key claimed with the feed made. A minute
        // later the retry runs again, as any repeat of it does: "answer lost" would leave the
        // client with a feed whose URL nobody has.
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        let long_ago = (Utc::now() - Duration::minutes(2)).timestamp_micros();
        vigie_projections::on_db!(&pool, |p| sqlx::query("UPDATE idempotency_keys SET status = 0, created_at = $1 WHERE key = 'feed-1'")
            .bind(long_ago).execute(p).await.map(drop)).unwrap();
        let (status, after_crash) = vigie_tests::answer(create().await.unwrap()).await;
        assert_eq!(status, 201, "{after_crash}");
        assert_eq!(after_crash["id"], first["id"]);
        assert_eq!(fetch_feed(&app, after_crash["url"].as_str().unwrap()).await.0, 200);
        let (_, listed) = app.get(&token, &feeds).await;
        assert_eq!(listed["feeds"].as_array().unwrap().len(), 1, "{listed}");
        // The key stays this request's: another request under it is refused.
        let other = app.client.post(app.url(&format!("{feeds}?again=1"))).bearer_auth(&token).header("Idempotency-Key", "feed-1");
        let (status, problem) = vigie_tests::answer(other.send().await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/idempotency_key_reused")), "{problem}");

        // An operator revokes it; then the key can no longer bring it back.
        let feed_id = first["id"].as_str().unwrap();
        assert_eq!(delete(&app, &operator, &format!("{feeds}/{feed_id}")).await, 204);
        let (status, problem) = vigie_tests::answer(create().await.unwrap()).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["type"], "/problems/calendar_feed_revoked", "{problem}");
        // That refusal does not free the key for another request.
        let other = app.client.post(app.url(&format!("{feeds}?again=2"))).bearer_auth(&token).header("Idempotency-Key", "feed-1");
        let (status, problem) = vigie_tests::answer(other.send().await.unwrap()).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/idempotency_key_reused")), "{problem}");

        // The auditor reads both facts in the client's user stream: what, who, and no secret.
        let (status, page) = app.get(&auditor, "/api/v1/events?limit=1000").await;
        assert_eq!(status, 200, "{page}");
        let facts: Vec<&Value> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"].as_str().unwrap().starts_with("CalendarFeed"))
            .collect();
        assert_eq!(facts.len(), 2, "{facts:?}");
        let (created, revoked) = (facts[0], facts[1]);
        assert_eq!((&created["type"], &revoked["type"]), (&json!("CalendarFeedCreated"), &json!("CalendarFeedRevoked")));
        for fact in [created, revoked] {
            assert_eq!(fact["stream_id"], client_stream.as_str());
            assert_eq!(fact["data"], json!({"feed_id": feed_id, "schedule_id": schedule}));
        }
        assert_eq!(created["actor"]["username"], "4000-TEST");
        assert_eq!(revoked["actor"]["username"], "operator");
        for url in [&first["url"], &retry["url"]] {
            let secret = url.as_str().unwrap().trim_start_matches("/api/v1/calendar/").trim_end_matches(".ics");
            assert!(!page.to_string().contains(secret), "a feed's token is in the log");
        }

        // A password reset records the revocation of each feed it stops.
        let (_, kept) = app.post(&token, &feeds, Value::Null).await;
        let reset = app.client.put(app.url(&format!("/api/v1/users/{}/password", me["id"].as_str().unwrap())))
            .bearer_auth(&operator).json(&json!({"new_password": "a new and longer secret"})).send().await.unwrap();
        assert_eq!(reset.status(), 204);
        let (_, page) = app.get(&auditor, &format!("/api/v1/events?after={}", revoked["position"])).await;
        let types: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["CalendarFeedCreated", "PasswordReset", "CalendarFeedRevoked"]);
        assert_eq!(page["events"][2]["data"]["feed_id"], kept["id"]);
    }

    async fn a_feed_is_revoked_once_and_dies_with_its_creators_access(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let auditor = app.login("auditor", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;
        let feeds = format!("/api/v1/schedules/{schedule}/calendar-feeds");
        let revocations = || async {
            let (_, page) = app.get(&auditor, "/api/v1/events?limit=1000").await;
            page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "CalendarFeedRevoked").count()
        };

        // Ten DELETEs at once (a double click, two tabs): one revokes, the others find nothing.
        let (_, feed) = app.post(&token, &feeds, Value::Null).await;
        let path = format!("{feeds}/{}", feed["id"].as_str().unwrap());
        let deletes = (0..10).map(|_| delete(&app, &token, &path));
        let mut statuses = futures_util::future::join_all(deletes).await;
        statuses.sort();
        assert_eq!(statuses, [204, 404, 404, 404, 404, 404, 404, 404, 404, 404]);
        assert_eq!(revocations().await, 1);

        // Moved out of the account, the client's feed of its schedule is revoked, and stays so
        // when the client is moved back.
        let (_, feed) = app.post(&token, &feeds, Value::Null).await;
        let url = feed["url"].as_str().unwrap().to_owned();
        let (user, home, elsewhere) = client_and_another_account(&app, &token, &operator).await;
        assert_eq!(move_client(&app, &operator, &user, &[&elsewhere]).await, 200);
        assert_eq!(revocations().await, 2);
        let (_, listed) = app.get(&operator, &feeds).await;
        assert_eq!(listed["feeds"], json!([]), "a dead feed is listed");
        assert_eq!(move_client(&app, &operator, &user, &[&home]).await, 200);
        assert_eq!(fetch_feed(&app, &url).await.0, 404, "the feed came back with its creator's access");
    }

    async fn feeds_made_while_their_creator_is_moved_out_of_the_account_never_come_back(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let operator = app.login("operator", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;
        let (user, home, elsewhere) = client_and_another_account(&app, &token, &operator).await;
        let create = || {
            let request = app.client.post(app.url(&format!("/api/v1/schedules/{schedule}/calendar-feeds"))).bearer_auth(&token);
            async move { vigie_tests::answer(request.send().await.unwrap()).await }
        };
        let mut made = Vec::new();
        for _ in 0..5 {
            assert_eq!(move_client(&app, &operator, &user, &[&home, &elsewhere]).await, 200);
            let creates = futures_util::future::join_all((0..4).map(|_| create()));
            let out = [elsewhere.as_str()];
            let (moved, created) = tokio::join!(move_client(&app, &operator, &user, &out), creates);
            assert_eq!(moved, 200);
            made.extend(created.into_iter().filter(|(status, _)| *status == 201).map(|(_, feed)| feed["url"].as_str().unwrap().to_owned()));
        }
        // Back in the account: every feed made around a move out stays revoked, or was never made.
        assert_eq!(move_client(&app, &operator, &user, &[&home, &elsewhere]).await, 200);
        for url in made {
            assert_eq!(fetch_feed(&app, &url).await.0, 404, "a feed came back with its creator's access");
        }
    }

    async fn feeds_made_before_the_log_recorded_them_are_recorded_at_the_next_start(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let auditor = app.login("auditor", PASSWORD).await;
        let schedule = genesis_schedule(&app, &token).await;
        let (_, me) = app.get(&token, "/api/v1/me").await;
        // A feed as the previous version left it: a row beside the log, no event in it.
        let (feed_id, secret) = (uuid::Uuid::now_v7(), "a-feed-from-before-the-upgrade");
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        vigie_projections::on_db!(&pool, |p| sqlx::query(
            "INSERT INTO calendar_feeds (id, token_hash, schedule_id, user_id, created_at) VALUES ($1, $2, $3, $4, 0)")
            .bind(feed_id.to_string()).bind(vigie_api::auth::store::token_hash(secret)).bind(&schedule).bind(me["id"].as_str().unwrap())
            .execute(p).await.map(|_| ())).unwrap();
        let url = format!("/api/v1/calendar/{secret}.ics");

        // The next node to start records it, and it works.
        let node = vigie_tests::ServerProcess::start(env!("CARGO_BIN_EXE_vigie-server"), &app.db.url, false).await;
        let fetched = reqwest::get(node.url(&url)).await.unwrap();
        assert_eq!(fetched.status(), 200);
        let (_, page) = app.get(&auditor, "/api/v1/events?limit=1000").await;
        let created: Vec<&Value> = page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "CalendarFeedCreated").collect();
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!((&created[0]["actor"]["username"], &created[0]["data"]["feed_id"]), (&json!("system"), &json!(feed_id)));

        // So an operator's reset records its revocation, as for any other feed.
        let operator = app.login("operator", PASSWORD).await;
        let reset = app.client.put(app.url(&format!("/api/v1/users/{}/password", me["id"].as_str().unwrap())))
            .bearer_auth(&operator).json(&json!({"new_password": "a new and longer secret"})).send().await.unwrap();
        assert_eq!(reset.status(), 204);
        let (_, page) = app.get(&auditor, &format!("/api/v1/events?after={}", created[0]["position"])).await;
        let revoked = page["events"].as_array().unwrap().iter().find(|e| e["type"] == "CalendarFeedRevoked");
        assert_eq!(revoked.map(|e| &e["data"]["feed_id"]), Some(&json!(feed_id)), "{page}");
        // The other node follows the log within moments.
        let mut status = 200;
        for _ in 0..100 {
            status = reqwest::get(node.url(&url)).await.unwrap().status().as_u16();
            if status == 404 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, 404, "the reset feed still works on the other node");
    }

    async fn a_client_of_4001_cannot_export_or_subscribe_to_4000s_schedule(db) {
        let app = TestApp::spawn_demo(db).await;
        let genesis = app.login("4000-TEST", PASSWORD).await;
        let schedule = genesis_schedule(&app, &genesis).await;
        let (_, feed) = app.post(&genesis, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;

        let clinique = app.login("4001-TEST", PASSWORD).await;
        let response = download(&app, &clinique, &format!("/api/v1/schedules/{schedule}/export.pdf")).await;
        assert_eq!(response.status(), 404);
        let (status, body) = app.post(&clinique, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = app.get(&clinique, &format!("/api/v1/schedules/{schedule}/calendar-feeds")).await;
        assert_eq!(status, 404, "{body}");
        let feed_path = format!("/api/v1/schedules/{schedule}/calendar-feeds/{}", feed["id"].as_str().unwrap());
        assert_eq!(delete(&app, &clinique, &feed_path).await, 404);

        // 4000's feed is untouched, and an operator may revoke it.
        assert_eq!(fetch_feed(&app, feed["url"].as_str().unwrap()).await.0, 200);
        let operator = app.login("operator", PASSWORD).await;
        assert_eq!(delete(&app, &operator, &feed_path).await, 204);
        assert_eq!(fetch_feed(&app, feed["url"].as_str().unwrap()).await.0, 404);
    }
}
