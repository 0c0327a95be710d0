//! Live changes per account as Server-Sent Events over real HTTP, on the demo: what a portal sees, resuming, and isolation.

use std::time::Duration;

use serde_json::{Value, json};
use vigie_tests::{ServerProcess, TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// An open event stream, read frame by frame.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE frame: its id, its data, and any comment lines.
#[derive(Debug, Default)]
struct Frame {
    id: Option<String>,
    data: Option<Value>,
    comments: Vec<String>,
}

impl EventStream {
    async fn open(app: &TestApp, token: &str, account: &str, last_event_id: Option<u64>) -> Self {
        Self::open_at(&app.client, app.url(&format!("/api/v1/accounts/{account}/events/stream")), token, last_event_id)
            .await
    }

    async fn open_at(client: &reqwest::Client, url: String, token: &str, last_event_id: Option<u64>) -> Self {
        let mut request = client.get(url).bearer_auth(token);
        if let Some(position) = last_event_id {
            request = request.header("Last-Event-ID", position.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["x-accel-buffering"], "no", "a proxy would hold events back");
        EventStream { response, buffer: String::new() }
    }

    /// The next frame, or `None` if none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame::default();
                for line in raw.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        frame.comments.push(comment.trim().to_owned());
                    } else if let Some(id) = line.strip_prefix("id:") {
                        frame.id = Some(id.trim().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        frame.data = Some(serde_json::from_str(data.trim()).unwrap());
                    }
                }
                return Some(frame);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The data of the next frames that carry data, until one satisfies `wanted`; panics after `wait`.
    async fn until(&mut self, wait: Duration, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let frame = self.next(wait).await.unwrap_or_else(|| panic!("no wanted event came; saw {seen:?}"));
            if let Some(data) = frame.data {
                assert_eq!(frame.id.as_deref(), Some(data["position"].to_string().as_str()), "the id is the position");
                let done = wanted(&data);
                seen.push(data);
                if done {
                    return seen;
                }
            }
        }
    }
}

/// The account of the user's `/me`, its first schedule and a shift of it a few weeks ahead.
async fn account_schedule_shift(app: &TestApp, token: &str) -> (String, String, String) {
    let (_, me) = app.get(token, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let (_, schedules) = app.get(token, &format!("/api/v1/accounts/{account}/schedules")).await;
    let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
    let from = (chrono::Utc::now() + chrono::Duration::days(21)).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, shifts) = app.get(token, &format!("/api/v1/schedules/{schedule}/shifts?from={from}")).await;
    let shift = shifts["shifts"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    (account, schedule, shift)
}

const WAIT: Duration = Duration::from_secs(10);

backend_tests! {
    async fn a_portal_sees_its_own_change_and_not_another_accounts(db) {
        let app = TestApp::spawn_demo(db).await;
        let genesis = app.login("4000-TEST", PASSWORD).await;
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let (account, schedule, shift) = account_schedule_shift(&app, &genesis).await;
        let (_, other_schedule, other_shift) = account_schedule_shift(&app, &clinique).await;
        let mut stream = EventStream::open(&app, &genesis, &account, None).await;

        // The stream opens with a comment saying where it starts.
        let opening = stream.next(WAIT).await.expect("an opening frame");
        assert!(opening.comments.iter().any(|c| c.starts_with(&format!("changes to account {account} after position"))), "{opening:?}");

        // Another account's change first, then ours: only ours arrives.
        let (status, _) = app.post(&clinique, &format!("/api/v1/schedules/{other_schedule}/shifts/{other_shift}/comments"), json!({"text": "Pas pour Genesis"})).await;
        assert_eq!(status, 200);
        let (status, commented) = app.post(&genesis, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), json!({"text": "Call the cell phone first"})).await;
        assert_eq!(status, 200, "{commented}");
        let seen = stream.until(WAIT, |d| d["type"] == "ShiftCommented").await;
        assert_eq!(seen.len(), 1, "another account's change leaked: {seen:?}");
        let change = &seen[0];
        assert_eq!(change["position"], commented["position"]);
        assert_eq!(change["version"], commented["version"]);
        assert_eq!(change["schedule_id"], schedule.as_str());
        assert_eq!(change["shift_id"], shift.as_str());
        assert_eq!(change["account_id"], account.as_str());
        assert_eq!(change["stream_id"], format!("schedule-{schedule}"));
        assert!(change["recorded_at"].as_str().unwrap().ends_with("-04:00") || change["recorded_at"].as_str().unwrap().ends_with("-05:00"), "not in Toronto time: {change}");
        assert!(change.get("data").is_none(), "the stream tells what changed, not the event's content");

        // A directory change made by an operator reaches the client's portal too.
        let operator = app.login("operator", PASSWORD).await;
        let (status, added) = app.post(&operator, &format!("/api/v1/accounts/{account}/contacts"), json!({"name": "Nouvelle Personne", "phones": ["514-555-0000"]})).await;
        assert_eq!(status, 201, "{added}");
        let seen = stream.until(WAIT, |d| d["type"] == "ContactAdded").await;
        assert_eq!(seen.last().unwrap()["contact_id"], added["id"]);

        // A schedule's change is written in the schedule's zone, which need not be its account's.
        let (status, created) = app.post(&operator, &format!("/api/v1/accounts/{account}/schedules"), json!({"name": "Bureau de Paris", "time_zone": "Europe/Paris"})).await;
        assert_eq!(status, 201, "{created}");
        let seen = stream.until(WAIT, |d| d["type"] == "ScheduleCreated").await;
        let recorded_at = seen.last().unwrap()["recorded_at"].as_str().unwrap().to_owned();
        assert!(recorded_at.ends_with("+01:00") || recorded_at.ends_with("+02:00"), "not in Paris time: {recorded_at}");
    }

    async fn a_reconnecting_portal_resumes_after_its_last_event_id(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule, shift) = account_schedule_shift(&app, &token).await;
        let path = format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments");
        let (_, first) = app.post(&token, &path, json!({"text": "first"})).await;
        let (_, second) = app.post(&token, &path, json!({"text": "second"})).await;

        // Resuming after the first change replays the second at once, and nothing before it.
        let mut stream = EventStream::open(&app, &token, &account, first["position"].as_u64()).await;
        let seen = stream.until(WAIT, |d| d["position"] == second["position"]).await;
        assert_eq!(seen.len(), 1, "{seen:?}");

        // A server started after both changes keeps in memory only what it applies from then on,
        // so resuming there reads the log, and replays the same.
        let restarted = ServerProcess::start(env!("CARGO_BIN_EXE_vigie-server"), &app.db.url, false).await;
        let url = restarted.url(&format!("/api/v1/accounts/{account}/events/stream"));
        let mut stream = EventStream::open_at(&app.client, url, &token, first["position"].as_u64()).await;
        let seen = stream.until(WAIT, |d| d["position"] == second["position"]).await;
        assert_eq!(seen.len(), 1, "{seen:?}");

        // A Last-Event-ID that is not a position is a problem+json 400.
        let response = app.client.get(app.url(&format!("/api/v1/accounts/{account}/events/stream")))
            .bearer_auth(&token).header("Last-Event-ID", "yesterday").send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(response.status(), 400);
        // Nor is one past the end of the log: the stream would wait silently for positions beyond it.
        let response = app.client.get(app.url(&format!("/api/v1/accounts/{account}/events/stream")))
            .bearer_auth(&token).header("Last-Event-ID", "99999999").send().await.unwrap();
        assert_eq!(response.status(), 400);
    }

    async fn a_client_of_another_account_gets_404_and_staff_may_follow_any_account(db) {
        let app = TestApp::spawn_demo(db).await;
        let genesis = app.login("4000-TEST", PASSWORD).await;
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let (account, _, _) = account_schedule_shift(&app, &genesis).await;
        let response = app.client.get(app.url(&format!("/api/v1/accounts/{account}/events/stream"))).bearer_auth(&clinique).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let (status, problem) = vigie_tests::answer(response).await;
        assert_eq!(status, 404, "{problem}");
        let response = app.client.get(app.url(&format!("/api/v1/accounts/{account}/events/stream"))).send().await.unwrap();
        assert_eq!(response.status(), 401);
        for user in ["operator", "dispatch", "auditor"] {
            let token = app.login(user, PASSWORD).await;
            let mut stream = EventStream::open(&app, &token, &account, None).await;
            assert!(stream.next(WAIT).await.is_some(), "{user} got no opening frame");
        }
    }

    async fn a_stream_ends_within_a_minute_once_its_user_is_deactivated(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, _, _) = account_schedule_shift(&app, &token).await;
        let mut stream = EventStream::open(&app, &token, &account, None).await;
        stream.next(WAIT).await.expect("an opening frame");
        let operator = app.login("operator", PASSWORD).await;
        let (_, users) = app.get(&operator, "/api/v1/users").await;
        let user = users.as_array().unwrap().iter().find(|u| u["username"] == "4000-TEST").unwrap()["id"].as_str().unwrap().to_owned();
        let (status, _) = app.post(&operator, &format!("/api/v1/users/{user}/deactivate"), json!({})).await;
        assert_eq!(status, 200);
        // The stream still sends keep-alives until the next check of the session, then closes.
        let ended = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(_)) = stream.response.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "the stream of a deactivated user is still open after a minute");
    }

    async fn after_a_logout_the_stream_passes_on_no_more_changes(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let (account, schedule, shift) = account_schedule_shift(&app, &token).await;
        let mut stream = EventStream::open(&app, &token, &account, None).await;
        stream.next(WAIT).await.expect("an opening frame");
        let response = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 204);

        let operator = app.login("operator", PASSWORD).await;
        let (status, commented) =
            app.post(&operator, &format!("/api/v1/schedules/{schedule}/shifts/{shift}/comments"), json!({"text": "après"})).await;
        assert_eq!(status, 200, "{commented}");
        let mut rest = std::mem::take(&mut stream.buffer);
        let ended = tokio::time::timeout(WAIT, async {
            while let Ok(Some(chunk)) = stream.response.chunk().await {
                rest.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream outlived its session by {WAIT:?}");
        assert!(!rest.contains("data:"), "a logged-out stream passed on a change: {rest}");
    }

    async fn an_idle_stream_sends_keep_alive_comments(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("auditor", PASSWORD).await;
        let (_, me) = app.get(&token, "/api/v1/me").await;
        let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
        let mut stream = EventStream::open(&app, &token, &account, None).await;
        stream.next(WAIT).await.expect("an opening frame");
        // Proxies close a silent connection; the server speaks up at least every 15 seconds.
        let frame = stream.next(Duration::from_secs(20)).await.expect("a keep-alive within 20 s");
        assert!(frame.data.is_none() && frame.id.is_none(), "{frame:?}");
        assert!(!frame.comments.is_empty(), "{frame:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_user_holds_at_most_sixteen_streams_and_staff_are_not_limited() {
    let app = TestApp::spawn_demo(vigie_tests::TestDatabase::sqlite()).await;
    let client = app.login("4000-TEST", PASSWORD).await;
    let (_, me) = app.get(&client, "/api/v1/me").await;
    let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
    let mut open = Vec::new();
    for _ in 0..16 {
        open.push(EventStream::open(&app, &client, &account, None).await);
    }
    let url = app.url(&format!("/api/v1/accounts/{account}/events/stream"));
    let refused = app.client.get(&url).bearer_auth(&client).send().await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "5");
    let (status, problem) = vigie_tests::answer(refused).await;
    assert_eq!((status, problem["type"].as_str()), (429, Some("/problems/too_many_streams")), "{problem}");
    // Another client user has streams of their own.
    let colleague = app.login("4001-TEST", PASSWORD).await;
    let (_, theirs) = app.get(&colleague, "/api/v1/me").await;
    open.push(EventStream::open(&app, &colleague, theirs["accounts"][0]["id"].as_str().unwrap(), None).await);
    // Dispatch follows many accounts at once.
    let dispatch = app.login("dispatch", PASSWORD).await;
    for _ in 0..17 {
        open.push(EventStream::open(&app, &dispatch, &account, None).await);
    }
}
