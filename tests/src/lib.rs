//! Shared helpers for Vigie's black-box tests: a throw-away database per test.
//!
//! Every test that touches a database runs twice, once per back end (see
//! [`backend_tests!`]). SQLite needs nothing; PostgreSQL is found through
//! `VIGIE_TEST_POSTGRES_URL` (a server URL whose user may create databases),
//! and each test gets a database of its own, so tests run in parallel.

use std::path::PathBuf;

/// The environment variable that points the tests at a PostgreSQL server.
pub const POSTGRES_URL_VAR: &str = "VIGIE_TEST_POSTGRES_URL";
/// Set to `1` (CI does) to fail, rather than skip, when PostgreSQL is not configured.
pub const REQUIRE_POSTGRES_VAR: &str = "VIGIE_TEST_REQUIRE_POSTGRES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: Backend,
    /// The URL to open the event store (or the server) with.
    pub url: String,
    /// Keeps the SQLite file's folder alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the server URL and the database to drop afterwards.
    postgres_cleanup: Option<(String, String)>,
}

impl TestDatabase {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder for the test database");
        let path: PathBuf = dir.path().join("vigie.db");
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            postgres_cleanup: None,
        }
    }

    /// A new database on the configured PostgreSQL server, or `None` (after
    /// saying so) when no server is configured and CI does not require one.
    pub async fn postgres(test_name: &str) -> Option<Self> {
        let Ok(server_url) = std::env::var(POSTGRES_URL_VAR) else {
            if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") {
                panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set");
            }
            eprintln!("skipped {test_name} on PostgreSQL: set {POSTGRES_URL_VAR} to run it");
            return None;
        };
        let name = format!("vigie_test_{}", uuid::Uuid::now_v7().simple());
        let admin = sqlx::PgPool::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server_url} ({POSTGRES_URL_VAR}): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create a test database");
        admin.close().await;
        let mut url = url::Url::parse(&server_url).expect("a valid PostgreSQL URL");
        url.set_path(&name);
        Some(Self {
            backend: Backend::Postgres,
            url: url.to_string(),
            _dir: None,
            postgres_cleanup: Some((server_url, name)),
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server_url, name)) = self.postgres_cleanup.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on, so
        // the clean-up gets a small runtime of its own on another thread.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&server_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.ok()?;
                admin.close().await;
                Some(())
            })
        });
        let _ = cleanup.join();
    }
}

/// Writes each test once per back end: `mod sqlite { fn NAME }` and
/// `mod postgres { fn NAME }`, so `cargo test postgres::` runs one back end.
/// The body gets `db: TestDatabase`.
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($db:ident) $body:block )*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $db = $crate::TestDatabase::sqlite();
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some($db) = $crate::TestDatabase::postgres(stringify!($name)).await else { return };
                    $body
                }
            )*
        }
    };
}

/// A Vigie server on a random port of this machine, over a test database, seeded with the demo.
#[derive(Debug)]
pub struct TestApp {
    pub address: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// Starts the server exactly as `vigie serve --demo` does, on port 0.
    pub async fn spawn_demo(db: TestDatabase) -> Self {
        Self::spawn_demo_with(db, |_| {}).await
    }

    /// [`spawn_demo`](Self::spawn_demo), with settings of the test's own.
    pub async fn spawn_demo_with(db: TestDatabase, configure: impl FnOnce(&mut vigie_api::app::Settings)) -> Self {
        Self::spawn_demo_limited(db, configure, vigie_api::http_server::ConnectionLimits::default()).await
    }

    /// [`spawn_demo_with`](Self::spawn_demo_with), with limits on connections of the test's own.
    pub async fn spawn_demo_limited(
        db: TestDatabase,
        configure: impl FnOnce(&mut vigie_api::app::Settings),
        limits: vigie_api::http_server::ConnectionLimits,
    ) -> Self {
        let mut settings = vigie_api::app::Settings {
            session_lifetime: chrono::Duration::hours(1),
            demo: true,
            retention_days: 60,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
        };
        configure(&mut settings);
        let state = vigie_api::app::AppState::open(&db.url, settings).await.expect("the server opens its database");
        vigie_api::seed::first_start(&state, true).await.expect("the demo seeds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("the port's address");
        let app = vigie_api::app::router(state);
        let server = tokio::spawn(vigie_api::http_server::serve(listener, app, limits, std::future::pending()));
        Self { address, client: reqwest::Client::new(), db, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Logs in and answers the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200, "login as {username} failed");
        let body: serde_json::Value = response.json().await.expect("a JSON answer");
        body["token"].as_str().expect("a token").to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let response = self.client.get(self.url(path)).bearer_auth(token).send().await.expect("the server answers");
        answer(response).await
    }

    pub async fn post(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response =
            self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.expect("the server answers");
        answer(response).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The status and JSON body of a response (problem+json included); `null` for an empty body.
pub async fn answer(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

/// A `vigie serve` child process on a random port; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    pub address: std::net::SocketAddr,
    child: tokio::process::Child,
}

impl ServerProcess {
    /// Starts the server binary (`env!("CARGO_BIN_EXE_vigie-server")` in a
    /// test) on `database_url`, with `--demo` if asked, and waits until it
    /// says where it listens.
    pub async fn start(binary: &str, database_url: &str, demo: bool) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::new(binary);
        command.args(["--bind", "127.0.0.1:0", "--database", database_url]);
        if demo {
            command.arg("--demo");
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server process starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let address = tokio::time::timeout(std::time::Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.expect("the server's output") {
                if let Some(rest) = line.strip_prefix("Vigie is listening on http://") {
                    return rest.split_whitespace().next().expect("an address").parse().expect("a socket address");
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("the server starts within two minutes");
        // Keep reading its output so the pipe never fills and blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { address, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SIGTERM, as an orchestrator stops a node; answers whether it exited within `within`.
    pub async fn terminate(mut self, within: std::time::Duration) -> bool {
        let pid = self.child.id().expect("the server is running");
        let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM was not delivered");
        tokio::time::timeout(within, self.child.wait()).await.is_ok()
    }

    /// SIGSTOP: the process keeps its connections and locks but does nothing,
    /// as a node stuck in a long pause would; [`thaw`](Self::thaw) resumes it.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT, after [`freeze`](Self::freeze).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the server is running");
        let sent = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().expect("kill runs");
        assert!(sent.success(), "{signal} was not delivered");
    }

    /// SIGKILL: no shutdown, no flushing, as in a power cut of the process.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }
}
