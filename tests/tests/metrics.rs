//! `GET /metrics` over real HTTP, on the demo: the Prometheus text counts requests, logins and appends.

use serde_json::json;
use vigie_tests::{TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// The value of the first sample line that starts with `series` (name and labels as far as given).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find(|l| l.starts_with(series))?.rsplit(' ').next()?.parse().ok()
}

async fn scrape(app: &TestApp, token: &str) -> String {
    let response = app.client.get(app.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

backend_tests! {
    async fn an_operator_reads_request_login_and_append_counters_after_some_requests(db) {
        let app = TestApp::spawn_demo(db).await;
        // A failed login, some reads and one change.
        let refused = app.client.post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "4000-TEST", "password": "not-the-password"})).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let operator = app.login("operator", PASSWORD).await;
        let (_, me) = app.get(&operator, "/api/v1/me").await;
        let account = me["accounts"][0]["id"].as_str().unwrap().to_owned();
        let (status, _) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert_eq!(status, 200);
        let (status, created) = app.post(&operator, &format!("/api/v1/accounts/{account}/schedules"), json!({"name": "Métriques"})).await;
        assert_eq!(status, 201, "{created}");

        let text = scrape(&app, &operator).await;
        // Requests by route template, never by raw path: no account id in the labels.
        let schedules = r#"vigie_http_requests_total{method="GET",route="/api/v1/accounts/{account_id}/schedules",status="200"}"#;
        assert!(sample(&text, schedules).is_some_and(|n| n >= 1.0), "{text}");
        assert!(!text.contains(&account), "a raw path leaked into the labels");
        let latency = r#"vigie_http_request_duration_seconds_bucket{method="POST",route="/api/v1/accounts/{account_id}/schedules",status="201",le="+Inf"}"#;
        assert!(sample(&text, latency).is_some_and(|n| n >= 1.0), "{text}");
        assert!(sample(&text, "vigie_login_failures_total").is_some_and(|n| n >= 1.0), "{text}");
        assert!(sample(&text, r#"vigie_appends_total{category="schedule"}"#).is_some_and(|n| n >= 1.0), "{text}");
        // The log's head and the live model's position are where the change landed, or later.
        let position = created["position"].as_f64().unwrap();
        assert!(sample(&text, "vigie_log_head_position").is_some_and(|p| p >= position), "{text}");
        assert!(sample(&text, "vigie_live_applied_position").is_some_and(|p| p >= position), "{text}");
        assert!(text.contains("# HELP vigie_http_requests_total"));

        // Counters only grow: a second scrape has counted the first one.
        let again = scrape(&app, &operator).await;
        let scrapes = r#"vigie_http_requests_total{method="GET",route="/metrics",status="200"}"#;
        assert!(sample(&again, scrapes).is_some_and(|n| n >= 1.0), "{again}");
    }

    async fn metrics_need_an_operator_or_the_metrics_token(db) {
        let app = TestApp::spawn_demo(db).await;
        let (status, problem) = vigie_tests::answer(app.client.get(app.url("/metrics")).send().await.unwrap()).await;
        assert_eq!(status, 401, "{problem}");
        for user in ["4000-TEST", "dispatch", "auditor"] {
            let token = app.login(user, PASSWORD).await;
            let response = app.client.get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let (status, problem) = vigie_tests::answer(response).await;
            assert_eq!(status, 403, "{user}: {problem}");
        }
        // A made-up bearer token is no metrics token when none is configured.
        let (status, _) = vigie_tests::answer(app.client.get(app.url("/metrics")).bearer_auth("guess").send().await.unwrap()).await;
        assert_eq!(status, 401);
    }
}
