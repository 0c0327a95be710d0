//! The application: shared state, the router with its middleware, and the server loop.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use vigie_eventstore::{EventStore, StoreOptions, redact_url};
use vigie_projections::db::{Db, Durability};
use vigie_projections::live::Live;

use crate::auth::announce::SessionEnds;
use crate::auth::cache::SessionCache;
use crate::auth::throttle::LoginThrottle;
use crate::config::ServeConfig;
use crate::read_models::ReadModels;
use crate::routes;

/// What every request handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: EventStore,
    db: Db,
    live: Arc<Live>,
    read_models: ReadModels,
    throttle: LoginThrottle,
    sessions: Arc<SessionCache>,
    /// On PostgreSQL, forgets the sessions other nodes end.
    _session_ends: Option<SessionEnds>,
    settings: Settings,
    decoy_hash: String,
    /// True once the server has begun to stop.
    stopping: tokio::sync::watch::Sender<bool>,
    stream_turns: crate::commands::StreamTurns,
    stream_slots: crate::slots::Slots<vigie_domain::UserId>,
}

/// Settings the routes need.
#[derive(Debug, Clone)]
pub struct Settings {
    pub session_lifetime: chrono::Duration,
    pub demo: bool,
    /// How many days messages and calls are kept.
    pub retention_days: u32,
    /// Whether the session cookie is marked `Secure`.
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client's address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl AppState {
    /// Opens the log and its database, reads the log into the live model, and is ready to serve.
    pub async fn open(database_url: &str, settings: Settings) -> anyhow::Result<Self> {
        let store = EventStore::open(database_url, StoreOptions::default()).await?;
        let db = Db::connect(database_url, 8).await?;
        let throttle = LoginThrottle::new(db.clone());
        let live = Live::start(&store).await?;
        let projection_db = Db::connect_with(database_url, 4, Durability::Rebuildable).await?;
        let read_models = ReadModels::start(&store, &db, projection_db, settings.retention_days);
        let turn = crate::auth::password::take_turn().await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let decoy_hash = crate::auth::password::hash(&turn, uuid::Uuid::now_v7().to_string())
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let sessions = Arc::new(SessionCache::default());
        // On PostgreSQL other nodes may end sessions this one remembers. The
        // listener keeps its connection, so it gets a pool of its own.
        let session_ends = match &db {
            Db::Postgres(_) => match Db::connect(database_url, 1).await? {
                Db::Postgres(pool) => Some(SessionEnds::listen(pool, sessions.clone())),
                Db::Sqlite(_) => None,
            },
            Db::Sqlite(_) => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                db,
                live,
                read_models,
                throttle,
                sessions,
                _session_ends: session_ends,
                settings,
                decoy_hash,
                stopping: tokio::sync::watch::Sender::new(false),
                stream_turns: Default::default(),
                stream_slots: Default::default(),
            }),
        })
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn live(&self) -> &Live {
        &self.inner.live
    }

    /// The inbox and the call log, and the runners that keep them current.
    pub fn read_models(&self) -> &ReadModels {
        &self.inner.read_models
    }

    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }

    /// Sessions checked in the last few seconds.
    pub fn sessions(&self) -> &SessionCache {
        &self.inner.sessions
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Changes to one stream on this node take turns.
    pub fn stream_turns(&self) -> &crate::commands::StreamTurns {
        &self.inner.stream_turns
    }

    /// The live-change streams each client user holds open on this node.
    pub fn stream_slots(&self) -> &crate::slots::Slots<vigie_domain::UserId> {
        &self.inner.stream_slots
    }

    /// Tells long-lived answers (the live-change streams) that the server is stopping.
    pub fn begin_stopping(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once the server has begun to stop.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut stopping = self.inner.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    /// A hash to verify against when the user is unknown, so that an unknown
    /// user and a wrong password take the same time to refuse.
    pub fn decoy_hash(&self) -> &str {
        &self.inner.decoy_hash
    }
}

/// Every route of the API, with request ids, tracing, a body size limit and security headers.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(routes::router())
        // Only on routes that exist: a request to an unknown path is told 404,
        // whatever its Idempotency-Key says (the layer lets a method the path
        // does not take through to the router's 405 itself).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::idempotency::once))
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::routes::views::refuse_nul_in_uri))
        .layer(axum::middleware::map_response(crate::error::as_problem))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(DefaultBodyLimit::max(crate::idempotency::MAX_BODY))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry tokens. A calendar feed's path is its secret token.
            let path = request.uri().path();
            let path = if path.starts_with("/api/v1/calendar/") { "/api/v1/calendar/(token)" } else { path };
            tracing::info_span!("request", method = %request.method(), path = %path, request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_foreign_request_id))
}

/// Keeps a client's `X-Request-Id` only if it is a UUID, which the events
/// record as the change's request; any other value is replaced by a fresh one
/// (`SetRequestIdLayer`), so that every change names the request it came from.
async fn drop_foreign_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let is_uuid = |value: &HeaderValue| value.to_str().is_ok_and(|v| uuid::Uuid::parse_str(v).is_ok());
    if request.headers().get("x-request-id").is_some_and(|value| !is_uuid(value)) {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// Opens everything, seeds what an empty database needs, and serves until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let settings = Settings {
        session_lifetime: chrono::Duration::minutes(config.session_minutes as i64),
        demo: config.demo,
        retention_days: config.retention_days,
        secure_cookies: config.cookies_secure(),
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let state = AppState::open(&config.database, settings).await?;
    crate::seed::first_start(&state, config.demo).await?;
    let listener = TcpListener::bind(config.bind).await?;
    let address = listener.local_addr()?;
    tracing::info!(database = %redact_url(&config.database), %address, position = state.live().position(), "vigie is serving");
    println!("Vigie is listening on http://{address} (event log: {})", redact_url(&config.database));
    if config.demo {
        crate::seed::print_demo_logins(address);
    }
    let signalled = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            state.begin_stopping();
        }
    };
    let limits = config.connection_limits();
    tracing::info!(max_connections = limits.max_connections, header_timeout = ?limits.header_timeout, "connection limits");
    let server = crate::http_server::serve(listener, router(state.clone()), limits, signalled);
    // Live-change streams end when stopping begins (their clients reconnect to another
    // node); anything still running after the grace period is cut short, so that a
    // rolling restart never waits on one slow client.
    let grace_over = {
        let stopping = state.stopping();
        async move {
            stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    tokio::select! {
        () = server => {}
        () = grace_over => {
            tracing::warn!(seconds = SHUTDOWN_GRACE.as_secs(), "requests still running after the grace period; stopping without them");
        }
    }
    Ok(())
}

/// How long a stopping server waits for the requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
