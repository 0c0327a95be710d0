//! The OpenAPI document: served, valid OpenAPI 3.1, covering every route, and a walk of every route
//! of it proving that a client of account 4001 cannot reach anything of account 4000.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use vigie_tests::{TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// Every route the server has, as `METHOD path`: a route added without documentation, or documented
/// without being served, shows up here.
const ROUTES: &[&str] = &[
    "GET /health",
    "GET /metrics",
    "GET /api/v1/openapi.json",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/logout",
    "GET /api/v1/me",
    "PUT /api/v1/me/password",
    "POST /api/v1/accounts",
    "PATCH /api/v1/accounts/{account_id}",
    "GET /api/v1/accounts/{account_id}/schedules",
    "POST /api/v1/accounts/{account_id}/schedules",
    "GET /api/v1/accounts/{account_id}/contacts",
    "POST /api/v1/accounts/{account_id}/contacts",
    "GET /api/v1/accounts/{account_id}/on-call",
    "GET /api/v1/accounts/{account_id}/events/stream",
    "GET /api/v1/accounts/{account_id}/messages",
    "POST /api/v1/accounts/{account_id}/messages",
    "GET /api/v1/accounts/{account_id}/messages.csv",
    "GET /api/v1/accounts/{account_id}/calls",
    "POST /api/v1/accounts/{account_id}/calls",
    "GET /api/v1/accounts/{account_id}/calls/{call_id}",
    "GET /api/v1/accounts/{account_id}/calls/{call_id}/recording",
    "PUT /api/v1/accounts/{account_id}/calls/{call_id}/recording",
    "POST /api/v1/messages/{message_id}/close",
    "POST /api/v1/messages/{message_id}/reopen",
    "POST /api/v1/messages/{message_id}/deliveries",
    "GET /api/v1/users",
    "POST /api/v1/users",
    "PUT /api/v1/users/{user_id}/password",
    "PUT /api/v1/users/{user_id}/accounts",
    "POST /api/v1/users/{user_id}/deactivate",
    "PUT /api/v1/contacts/{contact_id}",
    "POST /api/v1/contacts/{contact_id}/deactivate",
    "POST /api/v1/contacts/{contact_id}/reactivate",
    "PATCH /api/v1/schedules/{schedule_id}",
    "DELETE /api/v1/schedules/{schedule_id}",
    "POST /api/v1/schedules/{schedule_id}/copy",
    "GET /api/v1/schedules/{schedule_id}/shifts",
    "POST /api/v1/schedules/{schedule_id}/shifts",
    "PATCH /api/v1/schedules/{schedule_id}/shifts/{shift_id}",
    "DELETE /api/v1/schedules/{schedule_id}/shifts/{shift_id}",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/assign",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/overrides",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/unassign",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/comments",
    "POST /api/v1/schedules/{schedule_id}/swap",
    "POST /api/v1/schedules/{schedule_id}/series",
    "GET /api/v1/schedules/{schedule_id}/coverage",
    "GET /api/v1/schedules/{schedule_id}/history",
    "GET /api/v1/schedules/{schedule_id}/export.pdf",
    "GET /api/v1/schedules/{schedule_id}/calendar-feeds",
    "POST /api/v1/schedules/{schedule_id}/calendar-feeds",
    "DELETE /api/v1/schedules/{schedule_id}/calendar-feeds/{feed_id}",
    "GET /api/v1/calendar/{file}",
    "GET /api/v1/events",
];

/// API.md's fixed core, which the document must contain whatever else changes.
const FIXED_CORE: &[&str] = &[
    "GET /health",
    "GET /metrics",
    "GET /api/v1/openapi.json",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/logout",
    "GET /api/v1/me",
    "PUT /api/v1/me/password",
    "GET /api/v1/accounts/{account_id}/schedules",
    "GET /api/v1/accounts/{account_id}/contacts",
    "GET /api/v1/accounts/{account_id}/on-call",
    "GET /api/v1/schedules/{schedule_id}/shifts",
    "GET /api/v1/schedules/{schedule_id}/coverage",
    "GET /api/v1/schedules/{schedule_id}/history",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/assign",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/overrides",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/unassign",
    "POST /api/v1/schedules/{schedule_id}/shifts/{shift_id}/comments",
    "POST /api/v1/schedules/{schedule_id}/swap",
    "GET /api/v1/events",
];

/// The document as the server serves it, without a session.
async fn document(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// The id of account 4000, as the operator sees it.
async fn account_4000(app: &TestApp, operator: &str) -> String {
    let (_, me) = app.get(operator, "/api/v1/me").await;
    let account = me["accounts"].as_array().unwrap().iter().find(|a| a["number"] == "4000").unwrap();
    account["id"].as_str().unwrap().to_owned()
}

/// The member names of a JSON object.
fn fields(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

/// Checks `answer` against the document's component schema `name`, types and
/// nullability included (OpenAPI 3.1 schemas are JSON Schema 2020-12).
fn conforms(document: &Value, name: &str, answer: &Value) {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema {name}: {e}"));
    let errors: Vec<String> = validator.iter_errors(answer).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "the answer does not fit {name}: {errors:#?}\n{answer}");
}

/// The properties the document's component schema `name` has.
fn documented(document: &Value, name: &str) -> BTreeSet<String> {
    let schema = &document["components"]["schemas"][name];
    schema["properties"].as_object().unwrap_or_else(|| panic!("no properties in {name}")).keys().cloned().collect()
}

/// Every operation of the document as (method, path, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                operations.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    operations
}

/// Every `$ref` anywhere in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// The `{name}` parameters of a path template.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// Sends `method path` with `token` (if any) and a JSON body (if any).
async fn send(app: &TestApp, token: Option<&str>, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    // The event stream never ends: its status and headers are all this needs.
    let response = request.send().await.unwrap();
    if response.headers().get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream")) {
        return (response.status().as_u16(), Value::Null);
    }
    vigie_tests::answer(response).await
}

/// The ids of account 4000 (and of things in it), which a client of 4001 must not reach.
struct Foreign {
    ids: Vec<(&'static str, String)>,
}

impl Foreign {
    /// Reads them as the operator, creating a calendar feed so that there is one to name.
    async fn of_account_4000(app: &TestApp, operator: &str) -> Self {
        let account = account_4000(app, operator).await;
        let (_, schedules) = app.get(operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
        let (_, shifts) = app.get(operator, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        let shift = shifts["shifts"][0]["id"].as_str().unwrap().to_owned();
        let (_, contacts) = app.get(operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        let contact = contacts[0]["id"].as_str().unwrap().to_owned();
        let (message, call) = Self::message_and_call(app, operator, &account).await;
        let (_, users) = app.get(operator, "/api/v1/users").await;
        let user = users.as_array().unwrap().iter().find(|u| u["username"] == "4000-TEST").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, feed) =
            app.post(operator, &format!("/api/v1/schedules/{schedule}/calendar-feeds"), Value::Null).await;
        assert_eq!(status, 201, "{feed}");
        let feed = feed["id"].as_str().unwrap().to_owned();
        let ids = vec![
            ("account_id", account),
            ("schedule_id", schedule),
            ("shift_id", shift),
            ("contact_id", contact),
            ("message_id", message),
            ("call_id", call),
            ("user_id", user),
            ("feed_id", feed),
        ];
        Self { ids }
    }

    /// A message and a call of the account, once the demo's inbox and call log have been read in.
    async fn message_and_call(app: &TestApp, operator: &str, account: &str) -> (String, String) {
        for _ in 0..200 {
            let (_, messages) = app.get(operator, &format!("/api/v1/accounts/{account}/messages")).await;
            let (_, calls) = app.get(operator, &format!("/api/v1/accounts/{account}/calls")).await;
            let call = calls["recent"][0]["id"].as_str().or(calls["archive"][0]["id"].as_str());
            if let (Some(message), Some(call)) = (messages["messages"][0]["id"].as_str(), call) {
                return (message.to_owned(), call.to_owned());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the demo's messages and calls never appeared");
    }

    fn id(&self, name: &str) -> &str {
        &self.ids.iter().find(|(key, _)| *key == name).unwrap_or_else(|| panic!("no id for {{{name}}}")).1
    }

    /// The path with every `{name}` replaced by account 4000's id of that name.
    fn fill(&self, path: &str) -> String {
        let mut filled = path.to_owned();
        for name in path_parameters(path) {
            let value = if name == "file" { "not-a-feed.ics" } else { self.id(name) };
            filled = filled.replace(&format!("{{{name}}}"), value);
        }
        filled
    }
}

/// A body the request's schema accepts, filled with account 4000's ids, so that a refusal cannot
/// come from a malformed body before the route looks at whose things they are.
fn sample_body(document: &Value, operation: &Value, foreign: &Foreign) -> Option<Value> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return None;
    }
    Some(sample(document, schema, "", foreign))
}

fn sample(document: &Value, schema: &Value, name: &str, foreign: &Foreign) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let component = reference.rsplit('/').next().unwrap();
        return sample(document, &document["components"]["schemas"][component], name, foreign);
    }
    let alternatives = schema["oneOf"].as_array().or(schema["anyOf"].as_array());
    if let Some(alternative) = alternatives.into_iter().flatten().find(|a| a["type"] != "null") {
        return sample(document, alternative, name, foreign);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
        kind => kind.clone(),
    };
    match kind.as_str() {
        Some("object") => {
            let mut body = serde_json::Map::new();
            for required in schema["required"].as_array().into_iter().flatten() {
                let field = required.as_str().unwrap();
                body.insert(field.to_owned(), sample(document, &schema["properties"][field], field, foreign));
            }
            Value::Object(body)
        }
        Some("array") => json!([]),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        _ => json!(match name {
            "contact_id" => foreign.id("contact_id"),
            "shift_a" | "shift_b" => foreign.id("shift_id"),
            "first_start" => "2030-01-07T08:00:00",
            "first_end" => "2030-01-07T16:00:00",
            "start" | "taken_at" | "started_at" => "2030-01-07T08:00:00Z",
            "end" => "2030-01-07T16:00:00Z",
            "time_zone" => "Europe/Paris",
            "kind" => "voice",
            "role" => "client",
            _ if name.contains("password") => "a long enough password 42",
            _ => "sample",
        }),
    }
}

backend_tests! {
    async fn the_document_is_valid_openapi_3_1_and_contains_the_fixed_core(db) {
        let app = TestApp::spawn_demo(db).await;
        let document = document(&app).await;
        let spec = oas3::from_json(document.to_string()).expect("the document parses as OpenAPI 3.1");
        assert!(spec.openapi.starts_with("3.1."), "{}", spec.openapi);
        assert_eq!(spec.info.title, "Vigie");
        assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"));
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());

        let mut dangling = Vec::new();
        let mut found = Vec::new();
        references(&document, &mut found);
        for reference in found {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is not local"));
            if document.pointer(pointer).is_none() {
                dangling.push(reference);
            }
        }
        assert!(dangling.is_empty(), "references to nothing: {dangling:?}");

        for (method, path, operation) in operations(&document) {
            let responses = operation["responses"].as_object().map_or(0, |r| r.len());
            assert!(responses > 0, "{method} {path} documents no response");
            assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
            let declared: BTreeSet<&str> = operation["parameters"].as_array().into_iter().flatten()
                .filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect();
            assert_eq!(declared, path_parameters(&path).into_iter().collect(), "{method} {path}'s path parameters");
        }

        // The coverage calendar refuses a request without its range, so the document says it is required.
        let coverage = &document["paths"]["/api/v1/schedules/{schedule_id}/coverage"]["get"]["parameters"];
        let required: BTreeSet<&str> = coverage.as_array().into_iter().flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true).map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(required, BTreeSet::from(["from", "to"]), "coverage's required query parameters");

        let documented: BTreeSet<String> =
            operations(&document).into_iter().map(|(method, path, _)| format!("{method} {path}")).collect();
        let missing: Vec<_> = FIXED_CORE.iter().filter(|route| !documented.contains(**route)).collect();
        assert!(missing.is_empty(), "the fixed core is missing {missing:?}");
    }

    async fn the_typed_answers_have_the_fields_their_schemas_document(db) {
        let app = TestApp::spawn_demo(db).await;
        let document = document(&app).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = account_4000(&app, &operator).await;
        // The demo's schedules cover the week, so some instant of it has someone on call.
        let mut answer = None;
        for hour in 0..7 * 24 {
            let at = chrono::Utc::now() + chrono::Duration::hours(hour);
            let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let (status, body) = app.get(&operator, &format!("/api/v1/accounts/{account}/on-call?at={at}")).await;
            assert_eq!(status, 200, "{body}");
            if body["entries"].as_array().is_some_and(|e| e.iter().any(|e| e["contact"].is_object())) {
                answer = Some(body);
                break;
            }
        }
        let answer = answer.expect("someone on call in the coming week");

        let documented = |name: &str| documented(&document, name);
        let on_call = &document["paths"]["/api/v1/accounts/{account_id}/on-call"]["get"]["responses"]["200"];
        assert_eq!(on_call["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/OnCallAnswer");
        assert_eq!(fields(&answer), documented("OnCallAnswer"));
        conforms(&document, "OnCallAnswer", &answer);
        let entry = answer["entries"].as_array().unwrap().iter().find(|e| e["contact"].is_object()).unwrap();
        assert_eq!(fields(entry), documented("OnCallEntry"));
        assert_eq!(fields(&entry["contact"]), documented("ContactCard"));

        // The login answer, which every client reads first.
        let login = &document["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"];
        assert_eq!(login["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/LoginAnswer");
        let (status, session) =
            send(&app, None, "POST", "/api/v1/auth/login", Some(&json!({"username": "4000-TEST", "password": PASSWORD})))
                .await;
        assert_eq!(status, 200, "{session}");
        assert_eq!(fields(&session), documented("LoginAnswer"));
        conforms(&document, "LoginAnswer", &session);
        assert_eq!(fields(&session["user"]), documented("SessionUser"));

        // Who the caller is, and the directory.
        let (_, me) = app.get(&operator, "/api/v1/me").await;
        assert_eq!(fields(&me), documented("MeAnswer"));
        conforms(&document, "MeAnswer", &me);
        assert_eq!(fields(&me["accounts"][0]), documented("AccountView"));
        let (_, contacts) = app.get(&operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        assert_eq!(fields(&contacts[0]), documented("ContactView"));
        for contact in contacts.as_array().unwrap() {
            conforms(&document, "ContactView", contact);
        }

        // The schedules, and a schedule's shifts with whatever overrides and comments the demo holds.
        let (_, schedules) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert_eq!(fields(&schedules[0]), documented("ScheduleListed"));
        let schedule = schedules[0]["id"].as_str().unwrap();
        let (_, shifts) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        assert_eq!(fields(&shifts), documented("ShiftsAnswer"));
        conforms(&document, "ShiftsAnswer", &shifts);
        assert_eq!(fields(&shifts["schedule"]), documented("ScheduleHead"));
        assert_eq!(fields(&shifts["summary"]), documented("RangeSummary"));
        let all_shifts = shifts["shifts"].as_array().unwrap();
        assert!(!all_shifts.is_empty(), "{shifts}");
        for shift in all_shifts {
            assert_eq!(fields(shift), documented("ShiftView"));
            for (list, name) in [("overrides", "OverrideView"), ("comments", "CommentView"), ("segments", "SegmentView")] {
                for item in shift[list].as_array().unwrap() {
                    assert_eq!(fields(item), documented(name), "{item}");
                }
            }
            if shift["assignee"].is_object() {
                // `active` shows only for a deactivated contact.
                assert!(fields(&shift["assignee"]).is_subset(&documented("ContactRef")));
            }
        }

        // The coverage calendar: a week of days, each with a documented colour.
        let today = chrono::Utc::now().date_naive();
        let week = format!("from={today}&to={}", today + chrono::Duration::days(6));
        let (status, coverage) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/coverage?{week}")).await;
        assert_eq!(status, 200, "{coverage}");
        assert_eq!(fields(&coverage), documented("CoverageAnswer"));
        conforms(&document, "CoverageAnswer", &coverage);
        let days = coverage["days"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        for day in days {
            assert_eq!(fields(day), documented("DayCoverage"));
            assert!(["full", "partial", "none"].contains(&day["status"].as_str().unwrap()), "{day}");
        }
    }

    async fn the_change_answers_and_the_inbox_have_the_fields_their_schemas_document(db) {
        let app = TestApp::spawn_demo(db).await;
        let document = document(&app).await;
        let operator = app.login("operator", PASSWORD).await;
        let account = account_4000(&app, &operator).await;
        let documented = |name: &str| documented(&document, name);
        // Each answer: the route documents the schema, and the real answer has exactly its fields.
        let check = |method: &str, path: &str, status: &str, schema: &str, answer: &Value| {
            let response = &document["paths"][path][method]["responses"][status];
            let reference = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(reference, &json!(format!("#/components/schemas/{schema}")), "{method} {path}");
            assert_eq!(fields(answer), documented(schema), "{method} {path}: {answer}");
            conforms(&document, schema, answer);
        };

        // The inbox: take a message, read it back, close it.
        let messages = format!("/api/v1/accounts/{account}/messages");
        let message = json!({"agent": "Chantal", "caller_name": "Marie Côté", "text": "Call back", "urgent": true});
        let (status, taken) = app.post(&operator, &messages, message).await;
        assert_eq!(status, 201, "{taken}");
        check("post", "/api/v1/accounts/{account_id}/messages", "201", "Created", &taken);
        let (status, page) = app.get(&operator, &format!("{messages}?min_position={}", taken["position"])).await;
        assert_eq!(status, 200, "{page}");
        check("get", "/api/v1/accounts/{account_id}/messages", "200", "MessagesAnswer", &page);
        let newest = page["messages"].as_array().unwrap().iter().find(|m| m["id"] == taken["id"]).unwrap();
        assert_eq!(fields(newest), documented("MessageView"));
        let (status, closed) = app.post(&operator, &format!("/api/v1/messages/{}/close", taken["id"].as_str().unwrap()), json!({})).await;
        assert_eq!(status, 200, "{closed}");
        check("post", "/api/v1/messages/{message_id}/close", "200", "Changed", &closed);

        // The call log: record a call, search it, read it alone.
        let calls = format!("/api/v1/accounts/{account}/calls");
        let started = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
        let call = json!({"call_number": "15319140", "started_at": started, "duration_seconds": 125, "agent": "Olivier", "kind": "voice"});
        let (status, logged) = app.post(&operator, &calls, call).await;
        assert_eq!(status, 201, "{logged}");
        check("post", "/api/v1/accounts/{account_id}/calls", "201", "Created", &logged);
        let (status, log) = app.get(&operator, &format!("{calls}?min_position={}", logged["position"])).await;
        assert_eq!(status, 200, "{log}");
        check("get", "/api/v1/accounts/{account_id}/calls", "200", "CallLogView", &log);
        let (status, one) = app.get(&operator, &format!("{calls}/{}", logged["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{one}");
        check("get", "/api/v1/accounts/{account_id}/calls/{call_id}", "200", "CallView", &one);
        assert_eq!(fields(&log["recent"][0]), documented("CallView"));

        // On-call changes: assign, then override the start of a shift wholly in the future.
        let (_, schedules) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
        let from = (chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let to = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (_, shifts) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/shifts?from={from}&to={to}")).await;
        let shift = &shifts["shifts"][0];
        let (_, contacts) = app.get(&operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        let contact = contacts[0]["id"].clone();
        let base = format!("/api/v1/schedules/{schedule}/shifts/{}", shift["id"].as_str().unwrap());
        let (status, assigned) = app.post(&operator, &format!("{base}/assign"), json!({"contact_id": contact})).await;
        assert_eq!(status, 200, "{assigned}");
        check("post", "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/assign", "200", "Changed", &assigned);
        let start = chrono::DateTime::parse_from_rfc3339(shift["start"].as_str().unwrap()).unwrap();
        let cover = json!({"contact_id": contact, "start": start.to_rfc3339(), "end": (start + chrono::Duration::hours(1)).to_rfc3339()});
        let (status, added) = app.post(&operator, &format!("{base}/overrides"), cover).await;
        assert_eq!(status, 201, "{added}");
        check("post", "/api/v1/schedules/{schedule_id}/shifts/{shift_id}/overrides", "201", "OverrideAdded", &added);

        // Administration: a new contact, and a renamed account.
        let contact = json!({"name": "Nouvelle Personne", "phones": ["514-555-0000"]});
        let (status, added) = app.post(&operator, &format!("/api/v1/accounts/{account}/contacts"), contact).await;
        assert_eq!(status, 201, "{added}");
        check("post", "/api/v1/accounts/{account_id}/contacts", "201", "Created", &added);
        let rename = json!({"name": "Demo Genesis Inc."});
        let (status, renamed) = send(&app, Some(&operator), "PATCH", &format!("/api/v1/accounts/{account}"), Some(&rename)).await;
        assert_eq!(status, 200, "{renamed}");
        check("patch", "/api/v1/accounts/{account_id}", "200", "Changed", &renamed);

        // History: the schedule's, and the whole log's feed.
        let (status, history) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/history")).await;
        assert_eq!(status, 200, "{history}");
        check("get", "/api/v1/schedules/{schedule_id}/history", "200", "HistoryPage", &history);
        assert_eq!(fields(&history["events"][0]), documented("HistoryEntry"));
        assert_eq!(fields(&history["events"][0]["actor"]), documented("HistoryActor"));
        let (status, feed) = app.get(&operator, "/api/v1/events?limit=5").await;
        assert_eq!(status, 200, "{feed}");
        check("get", "/api/v1/events", "200", "HistoryPage", &feed);
        assert_eq!(fields(&feed["events"][0]), documented("HistoryEntry"));
        // An auditor's feed leaves out what messages and calls said.
        let auditor = app.login("auditor", PASSWORD).await;
        let after = taken["position"].as_u64().unwrap() - 1;
        let (status, withheld) = app.get(&auditor, &format!("/api/v1/events?after={after}&limit=1")).await;
        assert_eq!((status, &withheld["events"][0]["data"]), (200, &Value::Null), "{withheld}");
        check("get", "/api/v1/events", "200", "HistoryPage", &withheld);

        // Calendar feeds: one created, then listed without its token.
        let feeds = format!("/api/v1/schedules/{schedule}/calendar-feeds");
        let (status, created) = app.post(&operator, &feeds, Value::Null).await;
        assert_eq!(status, 201, "{created}");
        check("post", "/api/v1/schedules/{schedule_id}/calendar-feeds", "201", "FeedCreated", &created);
        let (status, listed) = app.get(&operator, &feeds).await;
        assert_eq!(status, 200, "{listed}");
        check("get", "/api/v1/schedules/{schedule_id}/calendar-feeds", "200", "FeedList", &listed);
        assert_eq!(fields(&listed["feeds"][0]), documented("FeedListed"));
        assert_eq!(fields(&listed["feeds"][0]["created_by"]), documented("FeedOwner"));

        // Health, for load balancers.
        let (status, health) = send(&app, None, "GET", "/health", None).await;
        assert_eq!(status, 200, "{health}");
        check("get", "/health", "200", "Health", &health);
        assert_eq!(health["status"], "ok");
        assert!(health["database"] == "sqlite" || health["database"] == "postgres", "{health}");

        // The users, as a list of one documented shape.
        let (status, users) = app.get(&operator, "/api/v1/users").await;
        assert_eq!(status, 200, "{users}");
        let listed = &document["paths"]["/api/v1/users"]["get"]["responses"]["200"]["content"]["application/json"];
        assert_eq!(listed["schema"]["items"]["$ref"], "#/components/schemas/UserListed");
        for user in users.as_array().unwrap() {
            assert_eq!(fields(user), documented("UserListed"), "{user}");
        }
    }

    async fn the_document_covers_every_route_the_server_serves(db) {
        let app = TestApp::spawn_demo(db).await;
        let document = document(&app).await;
        let documented: BTreeSet<String> =
            operations(&document).into_iter().map(|(method, path, _)| format!("{method} {path}")).collect();
        let known: BTreeSet<String> = ROUTES.iter().map(|route| route.to_string()).collect();
        assert_eq!(documented, known, "the document and the list of routes differ");

        // Each documented route is one the server has: an unknown one gets axum's empty 404, or 405.
        let operator = app.login("operator", PASSWORD).await;
        let unknown = uuid::Uuid::now_v7().to_string();
        for (method, path, _) in operations(&document) {
            // Logging out would end the session the rest of the walk uses.
            let token = if path == "/api/v1/auth/logout" { app.login("operator", PASSWORD).await } else { operator.clone() };
            let mut filled = path.clone();
            for name in path_parameters(&path) {
                filled = filled.replace(&format!("{{{name}}}"), &unknown);
            }
            let (status, body) = send(&app, Some(&token), &method, &filled, Some(&json!({}))).await;
            assert_ne!(status, 405, "{method} {path} is not served");
            assert!(!(status == 404 && body.is_null()), "{method} {path} is not served");
            assert!(status < 500, "{method} {path} answered {status}: {body}");
        }
    }

    async fn a_client_of_4001_reaches_nothing_of_account_4000_on_any_route(db) {
        let app = TestApp::spawn_demo(db).await;
        let document = document(&app).await;
        let operator = app.login("operator", PASSWORD).await;
        let foreign = Foreign::of_account_4000(&app, &operator).await;
        let client = app.login("4001-TEST", PASSWORD).await;
        // What a client may use without naming anything of another account.
        let open_to_clients = [
            "POST /api/v1/auth/login",
            "GET /api/v1/me",
            "PUT /api/v1/me/password",
            "GET /health",
            "GET /api/v1/openapi.json",
        ];

        let mut walked = 0;
        for (method, path, operation) in operations(&document) {
            let route = format!("{method} {path}");
            if route == "POST /api/v1/auth/logout" {
                continue; // Walked last: it ends the client's session.
            }
            let body = sample_body(&document, &operation, &foreign);
            // Coverage refuses to guess a range, before it looks whose schedule it is.
            let query = if path.ends_with("/coverage") { "?from=2030-01-01&to=2030-01-31" } else { "" };
            let target = format!("{}{query}", foreign.fill(&path));
            let (status, answer) = send(&app, Some(&client), &method, &target, body.as_ref()).await;
            assert!(status < 500, "{route} answered {status}: {answer}");
            let names_an_id = path_parameters(&path).iter().any(|name| *name != "file");
            if names_an_id {
                assert!(status == 403 || status == 404, "{route} with account 4000's ids answered {status}: {answer}");
            } else if !open_to_clients.contains(&route.as_str()) {
                assert!(!(200..300).contains(&status), "{route} is not for clients, yet answered {status}: {answer}");
            }
            walked += 1;
        }
        assert!(walked >= ROUTES.len() - 1, "only {walked} routes walked");

        let (status, _) = send(&app, Some(&client), "POST", "/api/v1/auth/logout", None).await;
        assert_eq!(status, 204);
    }
}
