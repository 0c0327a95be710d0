//! Accepts HTTP connections with the limits that `axum::serve` leaves out: a
//! deadline for every request's headers, and a cap on open connections.
//!
//! Without them a client that opens connections and never finishes a request
//! holds each one open for ever, and a few thousand of them use up the
//! process's file descriptors: then nobody, dispatch included, is served.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::error::ApiError;

/// How long a client may take over a request's headers, or stay idle between requests.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most connections served at once when the process's open-file limit cannot be read.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// File descriptors kept for the database, the log file and the busy answers.
const RESERVED_FILES: u64 = 256;

/// Connections over the cap that are still told "busy" (503) rather than dropped unanswered.
const BUSY_ANSWERS: usize = 64;

/// The limits on the connections one server accepts.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's headers, which is also how
    /// long a kept-alive connection may stay idle between requests.
    pub header_timeout: Duration,
    /// How many connections are served at once; over it, a new one is told 503.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// Thirty seconds for headers, and as many connections as the open-file limit allows.
    fn default() -> Self {
        Self { header_timeout: DEFAULT_HEADER_TIMEOUT, max_connections: connections_the_file_limit_allows() }
    }
}

/// The process's open-file limit less a reserve, or [`DEFAULT_MAX_CONNECTIONS`]
/// where that limit cannot be read (it is read from `/proc`, so on Linux only).
pub fn connections_the_file_limit_allows() -> usize {
    match open_file_limit() {
        Some(limit) => usize::try_from(limit.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX).clamp(16, 1_000_000),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// The soft "Max open files" limit of this process, as `/proc/self/limits` gives it.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// Serves `router` on `listener` until `stop` resolves, then finishes the
/// requests in flight: kept-alive connections close after their current answer.
pub async fn serve(listener: TcpListener, router: Router, limits: ConnectionLimits, stop: impl Future<Output = ()>) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let busy_answers = Arc::new(Semaphore::new(BUSY_ANSWERS));
    // Each connection holds a receiver; once all are dropped, every connection has ended.
    let (stopping, stopping_seen) = watch::channel(false);
    let mut stop = pin!(stop);
    let mut refused = Refusals::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_failed_accept(error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = connections.clone().try_acquire_owned() {
            tokio::spawn(serve_connection(stream, peer, router.clone(), limits, permit, stopping_seen.clone()));
            continue;
        }
        refused.note(limits.max_connections);
        if let Ok(permit) = busy_answers.clone().try_acquire_owned() {
            tokio::spawn(answer_busy(stream, limits, permit));
        }
        // Over both caps, dropping the stream closes it at once: the client may try another node.
    }
    drop(listener);
    stopping.send_replace(true);
    drop(stopping_seen);
    stopping.closed().await;
}

/// Connections refused for the cap, logged at most once every [`Refusals::EVERY`]
/// so that a flood of them cannot flood the log too.
#[derive(Debug, Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    const EVERY: Duration = Duration::from_secs(10);

    fn note(&mut self, max_connections: usize) {
        crate::metrics::connection_refused();
        self.since_logged += 1;
        if self.logged_at.is_some_and(|at| at.elapsed() < Self::EVERY) {
            return;
        }
        tracing::warn!(max_connections, refused = self.since_logged, "too many open connections: answering 503");
        self.since_logged = 0;
        self.logged_at = Some(Instant::now());
    }
}

/// Serves one connection until the client closes it, a deadline passes, or the server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    _permit: OwnedSemaphorePermit,
    mut stopping: watch::Receiver<bool>,
) {
    let _open = crate::metrics::Open::connection();
    // The routes read the peer's address (the login throttle) as axum's `ConnectInfo`.
    let service = router.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(Body::new)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopping.wait_for(|stopping| *stopping) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Tells a connection over the cap that the server is busy, once, and closes it.
async fn answer_busy(stream: TcpStream, limits: ConnectionLimits, _permit: OwnedSemaphorePermit) {
    let busy = hyper::service::service_fn(|_request: Request<Incoming>| async {
        let problem = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            "This server has as many open connections as it serves at once. Try again shortly, or another node.",
        )
        .retry_after(1);
        Ok::<Response, Infallible>(problem.into_response())
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(false);
    let _ = builder.serve_connection(TokioIo::new(stream), busy).await;
}

/// An accept that failed for the connection alone is forgotten; any other
/// failure (out of file descriptors, most likely) is logged, and accepting
/// pauses for a second rather than spinning while nothing can be opened.
async fn wait_after_failed_accept(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused)
    {
        return;
    }
    tracing::error!(%error, "could not accept a connection; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
