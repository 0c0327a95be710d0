//! The auditors' global event feed over real HTTP, on the demo: every event in order, paged, and who may read it.

use serde_json::{Value, json};
use vigie_tests::{TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// Every event of the feed, read page by page with `next_after`.
async fn whole_feed(app: &TestApp, token: &str, limit: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = app.get(token, &format!("/api/v1/events?after={after}&limit={limit}")).await;
        assert_eq!(status, 200, "{page}");
        let batch = page["events"].as_array().unwrap();
        assert!(batch.len() <= limit);
        events.extend(batch.iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => return events,
        }
    }
}

backend_tests! {
    async fn an_auditor_reads_every_event_of_the_log_in_order_page_by_page(db) {
        let app = TestApp::spawn_demo(db).await;
        let auditor = app.login("auditor", PASSWORD).await;
        let events = whole_feed(&app, &auditor, 50).await;

        // The demo's accounts, contacts, schedules, users, messages and calls are all there, in position order.
        assert!(events.len() > 100, "only {} events", events.len());
        let positions: Vec<u64> = events.iter().map(|e| e["position"].as_u64().unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions out of order");
        let (_, one_page) = app.get(&auditor, "/api/v1/events?limit=1000").await;
        assert_eq!(one_page["events"].as_array().unwrap().len(), events.len(), "paging lost or repeated events");
        for category in ["account-", "contact-", "schedule-", "user-", "message-", "call-"] {
            assert!(events.iter().any(|e| e["stream_id"].as_str().unwrap().starts_with(category)), "no {category} events");
        }

        // Each event says what, where, when (in UTC), who, from which request and why.
        let first = &events[0];
        assert_eq!(first["type"], "UserCreated");
        assert_eq!(first["version"], 1);
        assert_eq!(first["schema_version"], 1);
        assert_eq!(first["actor"]["username"], "admin");
        assert_eq!(first["data"]["username"], "admin");
        for event in &events {
            let recorded_at = event["recorded_at"].as_str().unwrap();
            assert!(recorded_at.ends_with('Z'), "not UTC as the data writes it: {recorded_at}");
            for member in ["position", "stream_id", "version", "type", "schema_version", "actor", "request_id", "reason", "data"] {
                assert!(event.get(member).is_some(), "{member} missing from {event}");
            }
        }
        let assigned = events.iter().find(|e| e["type"] == "ShiftAssigned").unwrap();
        assert_eq!(assigned["reason"], "Demo data");
        assert!(assigned["data"]["shift_id"].is_string());
    }

    async fn a_change_through_the_api_appears_at_the_end_of_the_feed_with_its_request_id(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&operator, "/api/v1/me").await;
        let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
        let response = app.client.post(app.url(&format!("/api/v1/accounts/{account}/schedules")))
            .bearer_auth(&operator)
            .header("x-request-id", "0199b1c2-0000-7000-8000-000000000042")
            .json(&json!({"name": "Fin de semaine"}))
            .send().await.unwrap();
        let (status, created) = vigie_tests::answer(response).await;
        assert_eq!(status, 201, "{created}");
        let position = created["position"].as_u64().unwrap();

        let auditor = app.login("auditor", PASSWORD).await;
        let (status, page) = app.get(&auditor, &format!("/api/v1/events?after={}", position - 1)).await;
        assert_eq!(status, 200);
        assert_eq!(page["next_after"], Value::Null);
        let event = &page["events"][0];
        assert_eq!(event["position"], position);
        assert_eq!(event["type"], "ScheduleCreated");
        assert_eq!(event["stream_id"], format!("schedule-{}", created["id"].as_str().unwrap()));
        assert_eq!(event["actor"]["username"], "operator");
        assert_eq!(event["request_id"], "0199b1c2-0000-7000-8000-000000000042");
        assert_eq!(event["data"]["name"], "Fin de semaine");

        // A request id that is not a UUID is replaced by one the server makes,
        // which the answer and the event both carry.
        let response = app.client.post(app.url(&format!("/api/v1/accounts/{account}/schedules")))
            .bearer_auth(&operator)
            .header("x-request-id", "not-a-uuid")
            .json(&json!({"name": "Jours fériés"}))
            .send().await.unwrap();
        let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request_id}");
        let (_, created) = vigie_tests::answer(response).await;
        let position = created["position"].as_u64().unwrap();
        let (_, page) = app.get(&auditor, &format!("/api/v1/events?after={}", position - 1)).await;
        assert_eq!(page["events"][0]["request_id"], request_id.as_str());

        // Operators read the feed too; nothing is after the newest event.
        let (status, page) = app.get(&operator, &format!("/api/v1/events?after={position}")).await;
        assert_eq!(status, 200);
        assert_eq!(page, json!({"events": [], "next_after": null}));
    }

    async fn every_read_waits_for_min_position_and_limits_are_checked(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&operator, "/api/v1/me").await;
        let account = me["accounts"][0]["id"].as_str().unwrap();
        let (_, schedules) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        let schedule = schedules[0]["id"].as_str().unwrap();
        // Each read takes min_position: one the log has is answered (at once, on one node);
        // one past the log's end is refused, since waiting for it would answer 503 forever.
        let (_, created) = app.post(&operator, &format!("/api/v1/accounts/{account}/schedules"), json!({"name": "Vacances"})).await;
        let written = created["position"].as_u64().unwrap();
        for path in ["/api/v1/me", "/api/v1/users", "/api/v1/events", &format!("/api/v1/schedules/{schedule}/calendar-feeds")] {
            let separator = if path.contains('?') { '&' } else { '?' };
            let (status, answer) = app.get(&operator, &format!("{path}{separator}min_position={written}")).await;
            assert_eq!(status, 200, "{path}: {answer}");
            let (status, problem) = app.get(&operator, &format!("{path}{separator}min_position=999999999")).await;
            assert_eq!(status, 400, "{path}: {problem}");
            assert!(problem["detail"].as_str().unwrap().starts_with("min_position 999999999 is past the end of the log"), "{path}: {problem}");
        }
        for path in ["/api/v1/events?limit=0", &format!("/api/v1/schedules/{schedule}/history?limit=1001")] {
            let (status, problem) = app.get(&operator, path).await;
            assert_eq!((status, problem["detail"].as_str()), (400, Some("limit is between 1 and 1000.")), "{path}");
        }
        // A query string that does not parse names its parameter in plain words, whichever route reads it.
        for (path, detail) in [
            ("/api/v1/events?limit=abc", "The query parameter limit must be a whole number, written in digits."),
            ("/api/v1/events?after=-1", "The query parameter after must be a whole number, written in digits."),
            ("/api/v1/events?limit=1&limit=2", "The query parameter limit is given more than once."),
            ("/api/v1/me?min_position=99999999999999999999", "The query parameter min_position is too large."),
        ] {
            let (status, problem) = app.get(&operator, path).await;
            assert_eq!((status, problem["detail"].as_str()), (400, Some(detail)), "{path}: {problem}");
        }
    }

    async fn clients_and_dispatch_may_not_read_the_feed(db) {
        let app = TestApp::spawn_demo(db).await;
        for user in ["4000-TEST", "dispatch"] {
            let token = app.login(user, PASSWORD).await;
            let response = app.client.get(app.url("/api/v1/events")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let (status, problem) = vigie_tests::answer(response).await;
            assert_eq!(status, 403, "{user}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains("cannot read the whole event log"), "{problem}");
        }
        let (status, _) = vigie_tests::answer(app.client.get(app.url("/api/v1/events")).send().await.unwrap()).await;
        assert_eq!(status, 401);

        let auditor = app.login("auditor", PASSWORD).await;
        let response = app.client.get(app.url("/api/v1/events?after=soon")).bearer_auth(&auditor).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(response.status(), 400);
    }
}
