//! Operators' administration over real HTTP, on the demo: shifts, schedules, the directory, accounts, users and corrections.

use reqwest::Method;
use serde_json::{Value, json};
use vigie_tests::{TestApp, backend_tests};

const PASSWORD: &str = "vigie-demo";

/// Sends any request and answers the status and JSON body; a refusal must be problem+json.
async fn send(app: &TestApp, method: Method, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    if !response.status().is_success() {
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
    }
    vigie_tests::answer(response).await
}

/// Demo account 4000's id, its schedule's id, and its contacts by name.
async fn genesis(app: &TestApp, token: &str) -> (String, String, Value) {
    let (_, me) = app.get(token, "/api/v1/me").await;
    let account = me["accounts"].as_array().unwrap().iter().find(|a| a["number"] == "4000").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, schedules) = app.get(token, &format!("/api/v1/accounts/{account}/schedules")).await;
    let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
    let (_, contacts) = app.get(token, &format!("/api/v1/accounts/{account}/contacts")).await;
    (account, schedule, contacts)
}

fn urlencode(value: &str) -> String {
    value.replace('+', "%2B").replace(':', "%3A")
}

fn contact_id(contacts: &Value, name: &str) -> String {
    contacts.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
}

/// The schedule's shifts overlapping `[now + from_days, now + to_days)`.
async fn shifts(app: &TestApp, token: &str, schedule: &str, from_days: i64, to_days: i64) -> Vec<Value> {
    let at = |days| (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let path = format!("/api/v1/schedules/{schedule}/shifts?from={}&to={}", at(from_days), at(to_days));
    let (status, body) = app.get(token, &path).await;
    assert_eq!(status, 200, "{body}");
    body["shifts"].as_array().unwrap().clone()
}

fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

backend_tests! {
    async fn an_operator_edits_and_removes_future_shifts_but_not_started_ones(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, schedule, _) = genesis(&app, &operator).await;
        let future = shifts(&app, &operator, &schedule, 60, 90).await;
        // One that starts inside the window, so it stays listed once shortened
        // whatever the time of day the test runs.
        let inside = chrono::Utc::now() + chrono::Duration::days(61);
        let shift = future.iter().find(|s| s["rank"] == 1 && instant(&s["start"]) > inside).unwrap();
        let path = format!("/api/v1/schedules/{schedule}/shifts/{}", shift["id"].as_str().unwrap());

        // Shorten it by an hour and rename it.
        let end = instant(&shift["end"]) - chrono::Duration::hours(1);
        // A fraction of a second is cut off: times are to the second, as exports print them.
        let (status, edited) = send(&app, Method::PATCH, &operator, &path, Some(json!({"end": (end + chrono::Duration::milliseconds(250)).to_rfc3339(), "name": "Relève"}))).await;
        assert_eq!(status, 200, "{edited}");
        assert!(edited["version"].as_u64().is_some() && edited["position"].as_u64().is_some());
        let listed = shifts(&app, &operator, &schedule, 60, 90).await;
        let listed = listed.iter().find(|s| s["id"] == shift["id"]).unwrap();
        assert_eq!(listed["name"], "Relève");
        assert_eq!(instant(&listed["end"]), end);
        assert_eq!(listed["start"], shift["start"]);

        // Moving it into rank 0's lane overlaps the rank-0 shift of the same week.
        let (status, problem) = send(&app, Method::PATCH, &operator, &path, Some(json!({"rank": 0}))).await;
        assert_eq!(status, 409, "{problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with("This shift overlaps shift"), "{problem}");

        // Ranks run from 0 to 99: below or above, however far, the same refusal.
        for rank in [json!(100), json!(-1), json!(4_294_967_296_u64)] {
            let (status, problem) = send(&app, Method::PATCH, &operator, &path, Some(json!({"rank": rank}))).await;
            assert_eq!((status, problem["type"].as_str().unwrap()), (422, "/problems/rank_out_of_range"), "{rank}: {problem}");
            assert_eq!(problem["detail"], "The rank is a whole number from 0 (called first) to 99.");
        }
        let (status, problem) = send(&app, Method::PATCH, &operator, &path, Some(json!({"rank": 1.5}))).await;
        assert_eq!(status, 400, "{problem}");

        let (status, problem) = send(&app, Method::PATCH, &operator, &path, Some(json!({}))).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (400, "Give at least one of start, end, rank, name or role to change."));

        // Clients may not edit shifts at all.
        let client = app.login("4000-TEST", PASSWORD).await;
        let (status, problem) = send(&app, Method::PATCH, &client, &path, Some(json!({"name": "Mine"}))).await;
        assert_eq!(status, 403, "{problem}");

        // The shift on call now has started: it can be neither edited nor removed.
        let current = shifts(&app, &operator, &schedule, 0, 1).await;
        let current = current.iter().find(|s| instant(&s["start"]) < chrono::Utc::now()).unwrap();
        let started = format!("/api/v1/schedules/{schedule}/shifts/{}", current["id"].as_str().unwrap());
        let (status, problem) = send(&app, Method::PATCH, &operator, &started, Some(json!({"name": "Trop tard"}))).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "You cannot edit or remove a shift that has started or ended."));
        let (status, problem) = send(&app, Method::DELETE, &operator, &started, None).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "You cannot edit or remove a shift that has started or ended."));

        // Removing the future one takes it off the schedule; removing it again finds nothing.
        let (status, removed) = send(&app, Method::DELETE, &operator, &path, None).await;
        assert_eq!(status, 200, "{removed}");
        assert!(shifts(&app, &operator, &schedule, 60, 90).await.iter().all(|s| s["id"] != shift["id"]));
        let (status, problem) = send(&app, Method::DELETE, &operator, &path, None).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (404, "This shift does not exist."));
    }

    async fn an_operator_renames_copies_and_deletes_schedules(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (account, schedule, _) = genesis(&app, &operator).await;
        let (status, _) = send(&app, Method::PATCH, &operator, &format!("/api/v1/schedules/{schedule}"), Some(json!({"name": "01 Horaire principal"}))).await;
        assert_eq!(status, 200);
        let (status, problem) = send(&app, Method::PATCH, &operator, &format!("/api/v1/schedules/{schedule}"), Some(json!({"name": "  "}))).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "The schedule name cannot be empty."));

        // A copy with assignments keeps who is on call; one without keeps only the shifts.
        let copy = |name: &str, with_assignments: bool| json!({"name": name, "with_assignments": with_assignments});
        // If-Match names the version of the schedule copied.
        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        let version = listed.as_array().unwrap().iter().find(|s| s["id"] == schedule.as_str()).unwrap()["version"].as_u64().unwrap();
        let copy_path = app.url(&format!("/api/v1/schedules/{schedule}/copy"));
        let stale = app.client.post(&copy_path).bearer_auth(&operator).header("If-Match", format!("\"{}\"", version - 1)).json(&copy("Périmé", false)).send().await.unwrap();
        assert_eq!(stale.status(), 412);
        let (status, full) = vigie_tests::answer(
            app.client.post(&copy_path).bearer_auth(&operator).header("If-Match", format!("\"{version}\"")).json(&copy("Été", true)).send().await.unwrap(),
        )
        .await;
        assert_eq!((status, &full["contacts_left_out"]), (201, &json!([])), "{full}");
        let (status, bare) = app.post(&operator, &format!("/api/v1/schedules/{schedule}/copy"), copy("Vide", false)).await;
        assert_eq!(status, 201, "{bare}");
        let original = shifts(&app, &operator, &schedule, 7, 60).await;
        let full_shifts = shifts(&app, &operator, full["id"].as_str().unwrap(), 7, 60).await;
        let bare_shifts = shifts(&app, &operator, bare["id"].as_str().unwrap(), 7, 60).await;
        assert_eq!(original.len(), full_shifts.len());
        assert_eq!(original.len(), bare_shifts.len());
        let names = |list: &[Value]| list.iter().map(|s| s["assignee"]["name"].clone()).collect::<Vec<_>>();
        assert_eq!(names(&original), names(&full_shifts));
        assert!(names(&original).iter().any(Value::is_string));
        assert!(bare_shifts.iter().all(|s| s["assignee"].is_null()));
        assert!(full_shifts.iter().zip(&original).all(|(copy, source)| copy["start"] == source["start"] && copy["id"] != source["id"]));

        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(listed, vec!["01 Horaire principal", "Vide", "Été"]);

        // Deleting one takes it out of every view; its history stays in the log.
        let bare_id = bare["id"].as_str().unwrap();
        let (status, _) = send(&app, Method::DELETE, &operator, &format!("/api/v1/schedules/{bare_id}"), None).await;
        assert_eq!(status, 200);
        let (status, _) = app.get(&operator, &format!("/api/v1/schedules/{bare_id}/shifts")).await;
        assert_eq!(status, 404);
        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert_eq!(listed.as_array().unwrap().len(), 2);
        let auditor = app.login("auditor", PASSWORD).await;
        let (_, feed) = app.get(&auditor, &format!("/api/v1/events?after={}", full["position"])).await;
        assert!(feed["events"].as_array().unwrap().iter().any(|e| e["type"] == "ScheduleDeleted" && e["stream_id"] == format!("schedule-{bare_id}")));

        // Its history never expires, and auditors still see it as it was before.
        let (status, history) = app.get(&auditor, &format!("/api/v1/schedules/{bare_id}/history?limit=1000")).await;
        assert_eq!(status, 200, "{history}");
        assert_eq!(history["events"].as_array().unwrap().last().unwrap()["type"], "ScheduleDeleted");
        let full_id = full["id"].as_str().unwrap();
        let before_deletion = chrono::Utc::now();
        let at = full_shifts.iter().find(|s| s["rank"] == 0 && s["assignee"].is_object()).unwrap()["start"].as_str().unwrap().to_owned();
        let at = urlencode(&(chrono::DateTime::parse_from_rfc3339(&at).unwrap() + chrono::Duration::hours(1)).to_rfc3339());
        let (status, _) = send(&app, Method::DELETE, &operator, &format!("/api/v1/schedules/{full_id}"), None).await;
        assert_eq!(status, 200);
        let as_of = urlencode(&before_deletion.to_rfc3339());
        let (status, past) = app.get(&auditor, &format!("/api/v1/schedules/{full_id}/shifts?from={at}&to={}&as_of={as_of}", urlencode(&(chrono::Utc::now() + chrono::Duration::days(90)).to_rfc3339()))).await;
        assert_eq!((status, past["schedule"]["name"].as_str()), (200, Some("Été")), "{past}");
        let on_call = |as_of: Option<String>| {
            let path = format!("/api/v1/accounts/{account}/on-call?at={at}{}", as_of.map(|a| format!("&as_of={a}")).unwrap_or_default());
            let auditor = auditor.clone();
            let app = &app;
            async move {
                let (status, answer) = app.get(&auditor, &path).await;
                assert_eq!(status, 200, "{answer}");
                answer["entries"].as_array().unwrap().iter().map(|e| e["schedule_name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert!(on_call(Some(as_of.clone())).await.contains(&"Été".to_owned()), "dispatch, as known before the deletion, called Été's contact");
        assert!(!on_call(None).await.contains(&"Été".to_owned()));
        let before_creation = urlencode(&(chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339());
        let (status, _) = app.get(&auditor, &format!("/api/v1/schedules/{full_id}/shifts?as_of={before_creation}")).await;
        assert_eq!(status, 404, "no such schedule was known then");

        // The original has a shift on call now: deleting it would take that person from dispatch.
        let (status, problem) = send(&app, Method::DELETE, &operator, &format!("/api/v1/schedules/{schedule}"), None).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/schedule_has_running_shift")), "{problem}");
        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/schedules")).await;
        assert!(listed.as_array().unwrap().iter().any(|s| s["id"] == schedule.as_str()), "{listed}");

        // Clients copy nothing, and a client of another account learns nothing.
        let client = app.login("4000-TEST", PASSWORD).await;
        let (status, _) = app.post(&client, &format!("/api/v1/schedules/{schedule}/copy"), copy("Moi", false)).await;
        assert_eq!(status, 403);
    }

    async fn a_copy_with_assignments_names_the_deactivated_contacts_it_leaves_behind(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, schedule, _) = genesis(&app, &operator).await;
        let source = shifts(&app, &operator, &schedule, 8, 36).await;
        let assigned = source.iter().find(|s| s["assignee"].is_object()).unwrap();
        let (gone, name) = (assigned["assignee"]["id"].as_str().unwrap(), assigned["assignee"]["name"].clone());
        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{gone}/deactivate"), json!({})).await;
        assert_eq!(status, 200);

        let copy_path = format!("/api/v1/schedules/{schedule}/copy");
        let (status, copied) = app.post(&operator, &copy_path, json!({"name": "Sans départs", "with_assignments": true})).await;
        assert_eq!(status, 201, "{copied}");
        assert_eq!(copied["contacts_left_out"], json!([{"id": gone, "name": name}]), "the operator is told who was not copied");
        let copy = shifts(&app, &operator, copied["id"].as_str().unwrap(), 8, 36).await;
        let same = |shift: &Value| copy.iter().find(|c| c["start"] == shift["start"] && c["rank"] == shift["rank"]).unwrap().clone();
        assert!(same(assigned)["assignee"].is_null(), "a deactivated contact was copied onto a shift");
        let kept = source.iter().find(|s| s["assignee"].is_object() && s["assignee"]["id"] != gone);
        if let Some(kept) = kept {
            assert_eq!(same(kept)["assignee"]["id"], kept["assignee"]["id"]);
        }

        let (status, bare) = app.post(&operator, &copy_path, json!({"name": "Rien", "with_assignments": false})).await;
        assert_eq!((status, &bare["contacts_left_out"]), (201, &json!([])), "{bare}");
    }

    async fn a_past_view_names_contacts_and_their_numbers_as_the_directory_then_had_them(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (account, schedule, _) = genesis(&app, &operator).await;
        let shift = shifts(&app, &operator, &schedule, 8, 36).await.into_iter().find(|s| s["assignee"].is_object()).unwrap();
        let contact = shift["assignee"]["id"].as_str().unwrap().to_owned();
        let (_, then) = app.get(&operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        let then = then.as_array().unwrap().iter().find(|c| c["id"] == contact.as_str()).unwrap().clone();
        let before = chrono::Utc::now();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let details = json!({"name": "Nouveau Nom", "phones": ["514-555-9999"], "sms": null, "email": null, "notes": null});
        let (status, _) = send(&app, Method::PUT, &operator, &format!("/api/v1/contacts/{contact}"), Some(details)).await;
        assert_eq!(status, 200);
        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{contact}/deactivate"), json!({})).await;
        assert_eq!(status, 200);

        let auditor = app.login("auditor", PASSWORD).await;
        let at = urlencode(&(chrono::DateTime::parse_from_rfc3339(shift["start"].as_str().unwrap()).unwrap() + chrono::Duration::hours(1)).to_rfc3339());
        let card = |as_of: Option<chrono::DateTime<chrono::Utc>>| {
            let path = format!("/api/v1/accounts/{account}/on-call?at={at}&schedule_id={schedule}{}",
                as_of.map(|a| format!("&as_of={}", urlencode(&a.to_rfc3339()))).unwrap_or_default());
            let (app, auditor) = (&app, auditor.clone());
            async move {
                let (status, answer) = app.get(&auditor, &path).await;
                assert_eq!(status, 200, "{answer}");
                answer["entries"].as_array().unwrap().iter().find(|e| e["rank"] == 0).unwrap()["contact"].clone()
            }
        };
        let past = card(Some(before)).await;
        assert_eq!((&past["name"], &past["phones"], &past["active"]), (&then["name"], &then["phones"], &json!(true)), "dispatch would have called these numbers");
        let now = card(None).await;
        assert_eq!((&now["name"], &now["phones"], &now["active"]), (&json!("Nouveau Nom"), &json!(["514-555-9999"]), &json!(false)));

        let range = format!("from={at}&to={}", urlencode(&(chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339()));
        let as_of = urlencode(&before.to_rfc3339());
        let (_, past) = app.get(&auditor, &format!("/api/v1/schedules/{schedule}/shifts?{range}&as_of={as_of}")).await;
        let listed = past["shifts"].as_array().unwrap().iter().find(|s| s["id"] == shift["id"]).unwrap();
        assert_eq!(listed["assignee"], json!({"id": contact, "name": then["name"]}), "named as then, and active then");

        // A moment not yet reached is not a view of the future: it is now.
        let future = urlencode(&(chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339());
        let (_, answer) = app.get(&auditor, &format!("/api/v1/schedules/{schedule}/shifts?{range}&as_of={future}")).await;
        let echoed = chrono::DateTime::parse_from_rfc3339(answer["as_of"].as_str().unwrap()).unwrap();
        assert!(echoed <= chrono::Utc::now(), "{answer}");
    }

    async fn a_live_view_says_when_it_was_known_so_a_replay_as_of_then_gives_the_same(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, schedule, _) = genesis(&app, &operator).await;
        let shift = shifts(&app, &operator, &schedule, 8, 36).await.remove(0);
        let comments = format!("/api/v1/schedules/{schedule}/shifts/{}/comments", shift["id"].as_str().unwrap());
        let (status, changed) = app.post(&operator, &comments, json!({"text": "Rappeler après 22 h"})).await;
        assert_eq!(status, 200, "{changed}");
        let position = changed["position"].as_u64().unwrap();
        let (_, feed) = app.get(&operator, &format!("/api/v1/events?after={}&limit=1", position - 1)).await;
        let recorded_at = instant(&feed["events"][0]["recorded_at"]);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;

        // The live answer is the log as known at its newest change: not at the moment of asking,
        // which a replay would read with whatever changes the node had not yet applied.
        let range = format!("from={}&to={}", urlencode(shift["start"].as_str().unwrap()), urlencode(shift["end"].as_str().unwrap()));
        let (_, live) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/shifts?{range}&min_position={position}")).await;
        assert_eq!(instant(&live["as_of"]), recorded_at, "{live}");
        let (_, replayed) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/shifts?{range}&as_of={}", urlencode(live["as_of"].as_str().unwrap()))).await;
        assert_eq!(replayed["version"], live["version"]);
        assert_eq!(replayed["shifts"], live["shifts"]);
    }

    async fn an_operator_maintains_the_directory(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (account, schedule, contacts) = genesis(&app, &operator).await;
        let luc = contact_id(&contacts, "Luc Lambert");
        let details = json!({"name": "Luc Lambert", "phones": ["438-555-0167"], "sms": null, "email": "luc@example.com", "notes": "Prefers SMS"});
        let (status, updated) = send(&app, Method::PUT, &operator, &format!("/api/v1/contacts/{luc}"), Some(details)).await;
        assert_eq!(status, 200, "{updated}");
        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        let listed = listed.as_array().unwrap().iter().find(|c| c["id"] == luc.as_str()).unwrap().clone();
        assert_eq!((listed["phones"].clone(), listed["email"].clone(), listed["notes"].clone()), (json!(["438-555-0167"]), json!("luc@example.com"), json!("Prefers SMS")));

        let four_phones = json!({"name": "Luc Lambert", "phones": ["1", "2", "3", "4"]});
        let (status, problem) = send(&app, Method::PUT, &operator, &format!("/api/v1/contacts/{luc}"), Some(four_phones)).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "A contact has at most three phone numbers."));
        // A misspelt field is refused rather than dropped, and dispatch never gets words for a number.
        let misspelt = json!({"name": "Luc Lambert", "phones": ["438-555-0167"], "e_mail": "luc@example.com"});
        let (status, problem) = send(&app, Method::PUT, &operator, &format!("/api/v1/contacts/{luc}"), Some(misspelt)).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("unknown field `e_mail`"), "{problem}");
        let words = json!({"name": "Luc Lambert", "phones": ["call me maybe"]});
        let (status, problem) = send(&app, Method::PUT, &operator, &format!("/api/v1/contacts/{luc}"), Some(words)).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/invalid_phone")), "{problem}");

        // A deactivated contact stays listed, flagged, and cannot be newly assigned.
        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{luc}/deactivate"), json!({})).await;
        assert_eq!(status, 200);
        let (status, problem) = app.post(&operator, &format!("/api/v1/contacts/{luc}/deactivate"), json!({})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "This contact is already deactivated."));
        let (_, listed) = app.get(&operator, &format!("/api/v1/accounts/{account}/contacts")).await;
        assert_eq!(listed.as_array().unwrap().iter().find(|c| c["id"] == luc.as_str()).unwrap()["active"], false);
        let future = shifts(&app, &operator, &schedule, 30, 60).await;
        let assign = format!("/api/v1/schedules/{schedule}/shifts/{}/assign", future[0]["id"].as_str().unwrap());
        let (status, problem) = app.post(&operator, &assign, json!({"contact_id": luc})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "This contact is deactivated and cannot be assigned."));

        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{luc}/reactivate"), json!({})).await;
        assert_eq!(status, 200);
        let (status, _) = app.post(&operator, &assign, json!({"contact_id": luc})).await;
        assert_eq!(status, 200);

        // Only operators maintain the directory; an unknown contact is 404.
        let client = app.login("4000-TEST", PASSWORD).await;
        let (status, _) = app.post(&client, &format!("/api/v1/contacts/{luc}/deactivate"), json!({})).await;
        assert_eq!(status, 403);
        let (status, _) = app.post(&operator, &format!("/api/v1/contacts/{}/deactivate", uuid::Uuid::now_v7()), json!({})).await;
        assert_eq!(status, 404);
    }

    async fn racing_creations_never_give_two_users_one_name_or_two_accounts_one_number(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let race = |path: &'static str, body: Value| {
            let requests = (0..8).map(|_| {
                let request = app.client.post(app.url(path)).bearer_auth(&operator).json(&body);
                async move { vigie_tests::answer(request.send().await.unwrap()).await }
            });
            futures_util::future::join_all(requests)
        };
        let users = race("/api/v1/users", json!({"username": "Course", "password": "Correct-horse-77", "role": "auditor"})).await;
        let accounts = race("/api/v1/accounts", json!({"number": "7777", "name": "Course", "time_zone": "America/Toronto"})).await;
        for (answers, code) in [(&users, "username_taken"), (&accounts, "account_number_taken")] {
            assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 1, "{answers:?}");
            assert!(answers.iter().all(|(status, body)| *status == 201 || (*status == 409 && body["type"] == format!("/problems/{code}"))), "{answers:?}");
        }
        let (_, listed) = app.get(&operator, "/api/v1/users").await;
        assert_eq!(listed.as_array().unwrap().iter().filter(|u| u["username"].as_str().unwrap().eq_ignore_ascii_case("course")).count(), 1);
        let (status, _) = app.post(&operator, "/api/v1/users", json!({"username": "course", "password": "Correct-horse-77", "role": "auditor"})).await;
        assert_eq!(status, 409, "taken whatever its case");
        // A creation the rules refuse gives its name back.
        let (status, problem) = app.post(&operator, "/api/v1/users", json!({"username": "libre", "password": "Correct-horse-77", "role": "client"})).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/client_without_account")), "{problem}");
        let (status, made) = app.post(&operator, "/api/v1/users", json!({"username": "libre", "password": "Correct-horse-77", "role": "auditor"})).await;
        assert_eq!(status, 201, "{made}");
    }

    async fn two_schedules_of_one_account_never_share_a_name(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (account, demo_schedule, _) = genesis(&app, &operator).await;
        let schedules = format!("/api/v1/accounts/{account}/schedules");
        let create = |name: &str| json!({"name": name});
        let taken = |(status, problem): (u16, Value)| {
            assert_eq!((status, problem["type"].as_str()), (409, Some("/problems/schedule_name_taken")), "{problem}");
        };

        let (status, first) = app.post(&operator, &schedules, create("Fin de semaine")).await;
        assert_eq!(status, 201, "{first}");
        let first = first["id"].as_str().unwrap().to_owned();
        // Case and outer spaces do not make another name: a client could not tell them apart.
        taken(app.post(&operator, &schedules, create(" fin de SEMAINE ")).await);
        taken(app.post(&operator, &format!("/api/v1/schedules/{demo_schedule}/copy"), create("FIN DE SEMAINE")).await);
        taken(send(&app, Method::PATCH, &operator, &format!("/api/v1/schedules/{demo_schedule}"), Some(create("fin de semaine"))).await);

        // A renamed or deleted schedule gives its name back at once; a new spelling of one's own name is fine.
        let (status, _) = send(&app, Method::PATCH, &operator, &format!("/api/v1/schedules/{first}"), Some(create("Fin de semaine (été)"))).await;
        assert_eq!(status, 200);
        let (status, second) = app.post(&operator, &schedules, create("Fin de semaine")).await;
        assert_eq!(status, 201, "{second}");
        let second = second["id"].as_str().unwrap().to_owned();
        let (status, _) = send(&app, Method::PATCH, &operator, &format!("/api/v1/schedules/{second}"), Some(create("FIN DE SEMAINE"))).await;
        assert_eq!(status, 200);
        let (status, _) = send(&app, Method::DELETE, &operator, &format!("/api/v1/schedules/{second}"), None).await;
        assert_eq!(status, 200);
        let (status, third) = app.post(&operator, &schedules, create("Fin de semaine")).await;
        assert_eq!(status, 201, "{third}");
        let third = third["id"].as_str().unwrap().to_owned();

        // Another account has names of its own.
        let (_, me) = app.get(&app.login("4001-TEST", PASSWORD).await, "/api/v1/me").await;
        let other = format!("/api/v1/accounts/{}/schedules", me["accounts"][0]["id"].as_str().unwrap());
        let (status, _) = app.post(&operator, &other, create("Fin de semaine")).await;
        assert_eq!(status, 201);

        // One name typed two ways (a precomposed "É", or "E" and a combining accent) is one name.
        let (status, _) = app.post(&operator, &schedules, create("Équipe B")).await;
        assert_eq!(status, 201);
        taken(app.post(&operator, &schedules, create("E\u{301}quipe b")).await);

        // Renaming to the name it has records nothing.
        let path = format!("/api/v1/schedules/{third}");
        let (_, once) = send(&app, Method::PATCH, &operator, &path, Some(create("Fin de semaine"))).await;
        let (_, twice) = send(&app, Method::PATCH, &operator, &path, Some(create("Fin de semaine"))).await;
        assert_eq!(once["version"], twice["version"]);

        // Two renames of one schedule at once: the name it ends up without is free at once.
        let renames = ["Relève A", "Relève B"].map(|name| send(&app, Method::PATCH, &operator, &path, Some(create(name))));
        let [(a, _), (b, _)] = futures_util::future::join_all(renames).await.try_into().unwrap();
        assert_eq!((a, b), (200, 200));
        let (_, listed) = app.get(&operator, &schedules).await;
        let kept = listed.as_array().unwrap().iter().find(|s| s["id"] == third.as_str()).unwrap()["name"].clone();
        let other = if kept == "Relève A" { "Relève B" } else { "Relève A" };
        let (status, body) = app.post(&operator, &schedules, create(other)).await;
        assert_eq!(status, 201, "{kept} kept, {other} should be free: {body}");

        // Creations racing for one name: exactly one wins.
        let racing = (0..6).map(|_| app.post(&operator, &schedules, create("Jours fériés")));
        let statuses: Vec<u16> = futures_util::future::join_all(racing).await.into_iter().map(|(status, _)| status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    }

    async fn an_operator_renames_accounts_and_changes_and_deactivates_users(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (genesis_id, schedule, _) = genesis(&app, &operator).await;
        let (status, _) = send(&app, Method::PATCH, &operator, &format!("/api/v1/accounts/{genesis_id}"), Some(json!({"name": "Genesis Chauffage"}))).await;
        assert_eq!(status, 200);
        let client = app.login("4000-TEST", PASSWORD).await;
        let (_, me) = app.get(&client, "/api/v1/me").await;
        assert_eq!(me["accounts"][0]["name"], "Genesis Chauffage");

        // Give 4001-TEST account 4000 too: their session reaches it at once, and loses it again.
        let (status, users) = app.get(&operator, "/api/v1/users").await;
        assert_eq!(status, 200);
        let clinique_user = users.as_array().unwrap().iter().find(|u| u["username"] == "4001-TEST").unwrap().clone();
        let clinique_account = clinique_user["account_ids"][0].clone();
        let accounts_path = format!("/api/v1/users/{}/accounts", clinique_user["id"].as_str().unwrap());
        let clinique = app.login("4001-TEST", PASSWORD).await;
        let (status, _) = app.get(&clinique, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        assert_eq!(status, 404);
        let (status, _) = send(&app, Method::PUT, &operator, &accounts_path, Some(json!({"account_ids": [genesis_id, clinique_account]}))).await;
        assert_eq!(status, 200);
        let (status, _) = app.get(&clinique, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        assert_eq!(status, 200);
        let (status, _) = send(&app, Method::PUT, &operator, &accounts_path, Some(json!({"account_ids": [clinique_account]}))).await;
        assert_eq!(status, 200);
        let (status, _) = app.get(&clinique, &format!("/api/v1/schedules/{schedule}/shifts")).await;
        assert_eq!(status, 404);
        let (status, problem) = send(&app, Method::PUT, &operator, &accounts_path, Some(json!({"account_ids": []}))).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "A client user reaches at least one account."));

        // Deactivating ends the user's sessions and logins, and revokes their calendar feeds.
        let (_, theirs) = app.get(&clinique, &format!("/api/v1/accounts/{}/schedules", clinique_account.as_str().unwrap())).await;
        let feeds = format!("/api/v1/schedules/{}/calendar-feeds", theirs[0]["id"].as_str().unwrap());
        let (status, feed) = app.post(&clinique, &feeds, Value::Null).await;
        assert_eq!(status, 201, "{feed}");
        let deactivate = format!("/api/v1/users/{}/deactivate", clinique_user["id"].as_str().unwrap());
        let (status, _) = app.post(&operator, &deactivate, json!({})).await;
        assert_eq!(status, 200);
        let (status, listed) = app.get(&operator, &feeds).await;
        assert_eq!((status, &listed["feeds"]), (200, &json!([])), "a deactivated user's feed no longer works, so it is not listed");
        let calendar = app.client.get(app.url(feed["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(calendar.status(), 404);
        let (status, _) = app.get(&clinique, "/api/v1/me").await;
        assert_eq!(status, 401);
        let refused = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "4001-TEST", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let (status, problem) = app.post(&operator, &deactivate, json!({})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "This user is deactivated."));
        let (_, users) = app.get(&operator, "/api/v1/users").await;
        assert_eq!(users.as_array().unwrap().iter().find(|u| u["username"] == "4001-TEST").unwrap()["active"], false);

        // An operator cannot lock themself out, and clients change no one.
        let me = users.as_array().unwrap().iter().find(|u| u["username"] == "operator").unwrap();
        let (status, problem) = app.post(&operator, &format!("/api/v1/users/{}/deactivate", me["id"].as_str().unwrap()), json!({})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "You cannot deactivate yourself; ask another operator."));
        let (status, _) = app.get(&client, "/api/v1/users").await;
        assert_eq!(status, 403);
        let (status, _) = app.post(&client, &deactivate, json!({})).await;
        assert_eq!(status, 403);
    }

    async fn an_ended_shift_is_corrected_only_by_an_operator_with_a_reason(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let (_, schedule, contacts) = genesis(&app, &operator).await;
        let ended = shifts(&app, &operator, &schedule, -30, -15).await;
        let shift = ended.iter().find(|s| s["rank"] == 0 && instant(&s["end"]) < chrono::Utc::now()).unwrap();
        let assign = format!("/api/v1/schedules/{schedule}/shifts/{}/assign", shift["id"].as_str().unwrap());
        let marie = contact_id(&contacts, "Marie Côté");

        let client = app.login("4000-TEST", PASSWORD).await;
        let (status, problem) = app.post(&client, &assign, json!({"contact_id": marie, "reason": "I was there"})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (403, "Clients cannot change a shift that has ended."));

        let (status, problem) = app.post(&operator, &assign, json!({"contact_id": marie})).await;
        assert_eq!((status, problem["detail"].as_str().unwrap()), (422, "A written reason is required to correct a shift that has ended."));
        let (status, problem) = app.post(&operator, &assign, json!({"contact_id": marie, "reason": "   "})).await;
        assert_eq!(status, 422, "a blank reason is no reason: {problem}");

        let reason = "Marie covered the whole week; the portal was not updated (ticket 4512).";
        let (status, corrected) = app.post(&operator, &assign, json!({"contact_id": marie, "reason": reason})).await;
        assert_eq!(status, 200, "{corrected}");
        let (_, history) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["type"].as_str(), last["reason"].as_str(), last["actor"]["username"].as_str()), (Some("ShiftAssigned"), Some(reason), Some("operator")));
        assert_eq!(last["position"], corrected["position"]);
        let listed = shifts(&app, &operator, &schedule, -30, -15).await;
        assert_eq!(listed.iter().find(|s| s["id"] == shift["id"]).unwrap()["assignee"]["name"], "Marie Côté");

        // A shift added in the past rewrites who was on call then: it needs a reason too.
        let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
        let past = json!({"start": week_ago.to_rfc3339(), "end": (week_ago + chrono::Duration::hours(8)).to_rfc3339(), "rank": 5, "name": "Renfort", "role": "OC"});
        let add = format!("/api/v1/schedules/{schedule}/shifts");
        let (status, problem) = app.post(&operator, &add, past.clone()).await;
        assert_eq!((status, problem["type"].as_str()), (422, Some("/problems/past_shift_needs_reason")), "{problem}");
        let mut with_reason = past;
        with_reason["reason"] = json!("Renfort du 20, oublié");
        let (status, added) = app.post(&operator, &add, with_reason).await;
        assert_eq!(status, 201, "{added}");
        let (_, history) = app.get(&operator, &format!("/api/v1/schedules/{schedule}/history?limit=1000")).await;
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["type"].as_str(), last["reason"].as_str()), (Some("ShiftAdded"), Some("Renfort du 20, oublié")));
    }
}
