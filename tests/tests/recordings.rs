//! Call recordings over HTTP: playing with seeking (Range), downloading, uploading, and who may.

use serde_json::{Value, json};
use vigie_tests::{TestApp, answer, backend_tests};

const PASSWORD: &str = "vigie-demo";

async fn account_of(app: &TestApp, token: &str) -> String {
    let (_, me) = app.get(token, "/api/v1/me").await;
    me["accounts"][0]["id"].as_str().unwrap().to_owned()
}

/// Every call the account's log lists, recent and archive together.
async fn calls(app: &TestApp, token: &str, account: &str) -> Vec<Value> {
    let (status, log) = app.get(token, &format!("/api/v1/accounts/{account}/calls")).await;
    assert_eq!(status, 200, "{log}");
    let mut all = log["recent"].as_array().unwrap().clone();
    all.extend(log["archive"].as_array().unwrap().iter().cloned());
    all
}

backend_tests! {
    async fn a_client_plays_a_recording_with_seeking_and_downloads_it(db) {
        let app = TestApp::spawn_demo(db).await;
        let token = app.login("4000-TEST", PASSWORD).await;
        let account = account_of(&app, &token).await;
        let call = calls(&app, &token, &account).await.into_iter().find(|c| !c["recording_id"].is_null()).expect("a recorded demo call");
        let bytes = call["bytes"].as_u64().unwrap();
        let path = app.url(&format!("/api/v1/accounts/{account}/calls/{}/recording", call["id"].as_str().unwrap()));

        let whole = app.client.get(&path).bearer_auth(&token).send().await.unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.headers()["content-type"], "audio/wav");
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        let audio = whole.bytes().await.unwrap();
        assert_eq!(audio.len() as u64, bytes);
        assert_eq!(&audio[..4], b"RIFF", "a real WAV file");

        // What a browser's player asks for when the user seeks.
        let part = app.client.get(&path).bearer_auth(&token).header("Range", "bytes=1000-1999").send().await.unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(part.headers()["content-range"], format!("bytes 1000-1999/{bytes}").as_str());
        assert_eq!(part.bytes().await.unwrap(), audio.slice(1000..2000));
        let past_the_end = app.client.get(&path).bearer_auth(&token).header("Range", format!("bytes={bytes}-")).send().await.unwrap();
        assert_eq!(past_the_end.status(), 416);

        let download = app.client.get(format!("{path}?download=true")).bearer_auth(&token).send().await.unwrap();
        assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));

        // Account 4001's client learns nothing of it.
        let other = app.login("4001-TEST", PASSWORD).await;
        let refused = app.client.get(&path).bearer_auth(&other).send().await.unwrap();
        assert_eq!(refused.status(), 404);
        // Nor do dispatch and auditors, who read every account's schedules.
        for reader in ["dispatch", "auditor"] {
            let token = app.login(reader, PASSWORD).await;
            let refused = app.client.get(&path).bearer_auth(&token).send().await.unwrap();
            assert_eq!(refused.status(), 403, "{reader} played a recording");
        }
    }

    async fn operators_attach_a_recording_once_to_a_voice_call_only(db) {
        let app = TestApp::spawn_demo(db).await;
        let operator = app.login("operator", PASSWORD).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let account = account_of(&app, &client).await;
        let log = |kind: &str| json!({"call_number": "990001", "started_at": chrono::Utc::now().to_rfc3339(), "duration_seconds": 30, "agent": "Nadia", "caller_id": "514-555-0000", "kind": kind});
        let (status, voice) = app.post(&operator, &format!("/api/v1/accounts/{account}/calls"), log("voice")).await;
        assert_eq!(status, 201, "{voice}");
        let (_, details) = app.post(&operator, &format!("/api/v1/accounts/{account}/calls"), log("details")).await;
        let upload = |token: &str, call: &Value, content_type: &str| {
            app.client
                .put(app.url(&format!("/api/v1/accounts/{account}/calls/{}/recording", call["id"].as_str().unwrap())))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(vec![7u8; 4096])
                .send()
        };

        let (status, problem) = answer(upload(&client, &voice, "audio/wav").await.unwrap()).await;
        assert_eq!(status, 403, "a client uploaded: {problem}");
        // One audio type only: a list would be served back to browsers, which take its last member.
        for not_audio in ["text/plain", "audio/", "audio/; codecs=1", "audio/wav, text/html", "audio/*", "audio/wav<b>"] {
            let (status, _) = answer(upload(&operator, &voice, not_audio).await.unwrap()).await;
            assert_eq!(status, 415, "{not_audio}");
        }
        // Media types are case-insensitive.
        let (status, attached) = answer(upload(&operator, &voice, "Audio/WAV").await.unwrap()).await;
        assert_eq!(status, 201, "{attached}");
        let (status, _) = answer(upload(&operator, &voice, "audio/wav").await.unwrap()).await;
        assert_eq!(status, 409, "a second recording was accepted");
        // Named through another account's path, the call is not found there, recording or not.
        let other = account_of(&app, &app.login("4001-TEST", PASSWORD).await).await;
        let elsewhere = app.client
            .put(app.url(&format!("/api/v1/accounts/{other}/calls/{}/recording", voice["id"].as_str().unwrap())))
            .bearer_auth(&operator).header("content-type", "audio/wav").body(vec![7u8; 16]).send().await.unwrap();
        let (status, problem) = answer(elsewhere).await;
        assert_eq!((status, problem["type"].as_str()), (404, Some("/problems/not_found")), "{problem}");
        let (status, problem) = answer(upload(&operator, &details, "audio/wav").await.unwrap()).await;
        assert_eq!(status, 422, "{problem}");

        let listed = calls(&app, &client, &account).await.into_iter().find(|c| c["id"] == voice["id"]).unwrap();
        assert_eq!(listed["recording_id"], attached["recording_id"]);
        assert_eq!(listed["bytes"], 4096);
        let played = app.client
            .get(app.url(&format!("/api/v1/accounts/{account}/calls/{}/recording", voice["id"].as_str().unwrap())))
            .bearer_auth(&client).send().await.unwrap();
        assert_eq!(played.headers()["content-type"], "audio/wav");
        assert_eq!(played.bytes().await.unwrap().to_vec(), vec![7u8; 4096]);

        // Ranges this server does not serve (several, another unit, nonsense) get the whole file.
        for range in ["bytes=0-1,5-6", "items=0-5", "bytes=abc"] {
            let whole = app.client
                .get(app.url(&format!("/api/v1/accounts/{account}/calls/{}/recording", voice["id"].as_str().unwrap())))
                .bearer_auth(&client).header("Range", range).send().await.unwrap();
            assert_eq!(whole.status(), 200, "{range}");
        }
    }

    async fn a_recording_is_gone_once_its_call_passes_retention(db) {
        let app = TestApp::spawn_demo_with(db, |settings| settings.retention_days = 1).await;
        let operator = app.login("operator", PASSWORD).await;
        let client = app.login("4000-TEST", PASSWORD).await;
        let account = account_of(&app, &client).await;
        // A call that reaches the end of its day of retention three seconds from now.
        let started_at = chrono::Utc::now() - chrono::Duration::days(1) + chrono::Duration::seconds(3);
        let call = json!({"call_number": "990002", "started_at": started_at.to_rfc3339(), "duration_seconds": 30,
                          "agent": "Nadia", "caller_id": "514-555-0001", "kind": "voice"});
        let (status, call) = app.post(&operator, &format!("/api/v1/accounts/{account}/calls"), call).await;
        assert_eq!(status, 201, "{call}");
        let path = app.url(&format!("/api/v1/accounts/{account}/calls/{}/recording", call["id"].as_str().unwrap()));
        let uploaded = app.client.put(&path).bearer_auth(&operator).header("content-type", "audio/wav")
            .body(vec![7u8; 1024]).send().await.unwrap();
        assert_eq!(uploaded.status(), 201);
        let played = app.client.get(&path).bearer_auth(&client).send().await.unwrap();
        assert_eq!(played.status(), 200, "the recording plays while its call is kept");

        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        assert!(calls(&app, &client, &account).await.iter().all(|c| c["id"] != call["id"]), "the call is still listed");
        let (status, problem) = answer(app.client.get(&path).bearer_auth(&client).send().await.unwrap()).await;
        assert_eq!(status, 404, "a recording past retention still played: {problem}");
        assert_eq!(problem["status"], 404);
        // And the purge removes its bytes, though they were uploaded only seconds ago.
        let pool = vigie_projections::db::Db::connect(&app.db.url, 1).await.unwrap();
        vigie_api::routes::purge_recordings(&pool, 1).await.unwrap();
        let call_id = call["id"].as_str().unwrap().to_owned();
        let (kept,): (i64,) = vigie_projections::on_db!(&pool, |p| sqlx::query_as("SELECT count(*) FROM recordings WHERE call_id = $1")
            .bind(&call_id).fetch_one(p).await).unwrap();
        assert_eq!(kept, 0, "the audio of a call past retention is still stored");
    }
}
