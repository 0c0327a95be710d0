//! Connections: a client that never finishes a request (its headers or its
//! body) cannot hold one for ever, and over the caps on open connections (in
//! all, and from one address) a new one is told to come back.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vigie_api::http_server::ConnectionLimits;
use vigie_tests::{TestApp, TestDatabase, answer};

async fn spawn(limits: ConnectionLimits) -> TestApp {
    TestApp::spawn_demo_limited(TestDatabase::sqlite(), |_| {}, limits).await
}

/// Reads until the server closes the connection; false if it is still open after `patience`.
async fn closed_within(stream: &mut TcpStream, patience: Duration) -> bool {
    let mut buffer = [0_u8; 1024];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(patience, reading).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off_while_others_are_served() {
    let app = spawn(ConnectionLimits { header_timeout: Duration::from_secs(1), ..ConnectionLimits::default() }).await;
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: vigie\r\nX-Slow: ").await.unwrap();

    let (status, _) = answer(app.client.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, 200, "a whole request is served while a slow one waits");
    // Without a deadline the server would wait for the rest of the headers for ever.
    assert!(
        closed_within(&mut slow, Duration::from_secs(20)).await,
        "the unfinished request's connection is still open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_header_deadline() {
    let app = spawn(ConnectionLimits { header_timeout: Duration::from_secs(1), ..ConnectionLimits::default() }).await;
    let mut idle = TcpStream::connect(app.address).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: vigie\r\n\r\n").await.unwrap();
    let mut first_answer = [0_u8; 12];
    idle.read_exact(&mut first_answer).await.unwrap();
    assert_eq!(&first_answer, b"HTTP/1.1 200");
    // Kept alive, then silent: the connection is let go rather than held for ever.
    assert!(closed_within(&mut idle, Duration::from_secs(20)).await, "an idle kept-alive connection is still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_a_new_connection_is_told_to_retry_until_one_closes() {
    let app = spawn(ConnectionLimits { max_connections: 2, ..ConnectionLimits::default() }).await;
    let first = TcpStream::connect(app.address).await.unwrap();
    let _second = TcpStream::connect(app.address).await.unwrap();

    let response = reqwest::Client::new().get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let (status, problem) = answer(response).await;
    assert_eq!(status, 503);
    assert_eq!(problem["type"], "/problems/too_many_connections");

    drop(first);
    let mut served = false;
    for _ in 0..100 {
        let response = reqwest::Client::new().get(app.url("/health")).send().await.unwrap();
        if response.status() == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a closed connection frees its place for the next client");
}

/// Sends `head` and the start of a body that then stops; answers the status line the server sends.
async fn status_of_a_stalled_body(app: &TestApp, head: &str) -> String {
    let mut stalled = TcpStream::connect(app.address).await.unwrap();
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(b"{\"current_password\": \"vig").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the stalled request's connection is still open");
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_fails_its_request_and_frees_the_connection() {
    let app = spawn(ConnectionLimits { header_timeout: Duration::from_secs(1), ..ConnectionLimits::default() }).await;
    let token = app.login("4000-TEST", "vigie-demo").await;
    let head = |keyed: &str| {
        format!(
            "PUT /api/v1/me/password HTTP/1.1\r\nHost: vigie\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n{keyed}\r\n"
        )
    };
    assert_eq!(status_of_a_stalled_body(&app, &head("Idempotency-Key: k-1\r\n")).await, "HTTP/1.1 408 Request Timeout");
    assert!(status_of_a_stalled_body(&app, &head("")).await.starts_with("HTTP/1.1 4"));
    // Nothing was changed: the password is the same.
    app.login("4000-TEST", "vigie-demo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_fails_once_it_has_taken_too_long_in_all() {
    let limits = ConnectionLimits { body_deadline: Duration::from_secs(2), ..ConnectionLimits::default() };
    let app = spawn(limits).await;
    let token = app.login("4000-TEST", "vigie-demo").await;
    let mut trickle = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "PUT /api/v1/me/password HTTP/1.1\r\nHost: vigie\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\nIdempotency-Key: k-1\r\n\r\n"
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    // A byte every 100 ms never pauses long, but the whole body would take 20 s.
    let mut sent = 0;
    while sent < 200 && trickle.write_all(b" ").await.is_ok() {
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut peek = [0_u8; 12];
        if let Ok(Ok(12)) = tokio::time::timeout(Duration::from_millis(1), trickle.peek(&mut peek)).await {
            assert_eq!(&peek, b"HTTP/1.1 408");
            return;
        }
    }
    panic!("the trickled body was read to its end ({sent} bytes) without a 408");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_more_than_its_share_unless_it_is_the_proxy() {
    let app = spawn(ConnectionLimits { max_per_address: 2, ..ConnectionLimits::default() }).await;
    let _first = TcpStream::connect(app.address).await.unwrap();
    let _second = TcpStream::connect(app.address).await.unwrap();
    let (status, problem) = answer(reqwest::Client::new().get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!((status, problem["type"].as_str()), (503, Some("/problems/too_many_connections")));
    assert!(problem["detail"].as_str().unwrap().contains("Your address"), "{problem}");

    let proxied = ConnectionLimits {
        max_per_address: 2,
        proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ConnectionLimits::default()
    };
    let app = spawn(proxied).await;
    let _first = TcpStream::connect(app.address).await.unwrap();
    let _second = TcpStream::connect(app.address).await.unwrap();
    let (status, _) = answer(reqwest::Client::new().get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, 200, "every client comes through the proxy's address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_ipv6_socket_an_ipv4_proxy_is_still_recognised() {
    // A dual-stack socket hears 127.0.0.1 as ::ffff:127.0.0.1.
    let Ok(listener) = tokio::net::TcpListener::bind("[::]:0").await else {
        eprintln!("skipped: this machine has no IPv6 socket");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let limits = ConnectionLimits {
        max_per_address: 1,
        proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ConnectionLimits::default()
    };
    let router = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    let server = tokio::spawn(vigie_api::http_server::serve(listener, router, limits, std::future::pending()));
    let _held = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let response = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the proxy's second connection was counted against one address");
    server.abort();
}
