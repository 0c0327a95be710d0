//! Accepts HTTP connections with the limits that `axum::serve` leaves out:
//! deadlines for a request's headers and for its body, and caps on open
//! connections, in all and from one address.
//!
//! Without them a client that opens connections and never finishes a request
//! holds each one open for ever, and a few thousand of them use up the
//! process's file descriptors: then nobody, dispatch included, is served.
//! With them, one address cannot take more than its share of the cap.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::slots::{Slot, Slots};

/// How long a client may take over a request's headers, or stay idle between requests.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most connections served at once when the process's open-file limit cannot be read.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// File descriptors kept for the database, the log file and the busy answers.
const RESERVED_FILES: u64 = 256;

/// The most connections served at once from one address: an office behind one
/// NAT address, every browser with a few connections and a live stream, fits.
pub const DEFAULT_MAX_PER_ADDRESS: usize = 512;

/// How long a whole request body may take to arrive, however steadily: a
/// recording's upload of 20 MiB needs about 1.5 Mbit/s to fit.
pub const BODY_DEADLINE: Duration = Duration::from_secs(120);

/// The most bytes of a request's start line and headers (a session token and
/// a few cookies need a few hundred); more is answered 431.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Connections over a cap that are still told "busy" (503) at once rather than
/// closed unanswered, and how long each may take to send its request.
const BUSY_ANSWERS: usize = 256;
const BUSY_ANSWER_WAIT: Duration = Duration::from_secs(1);

/// The limits on the connections one server accepts.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's headers, which is also how
    /// long a kept-alive connection may stay idle between requests, and how
    /// long a request's body may pause.
    pub header_timeout: Duration,
    /// How many connections are served at once; over it, a new one is told 503.
    pub max_connections: usize,
    /// How many of them may come from one address.
    pub max_per_address: usize,
    /// How long a whole request body may take to arrive.
    pub body_deadline: Duration,
    /// Addresses not limited per address: the proxies every client comes through.
    pub proxies: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    /// Thirty seconds for headers, and as many connections as the open-file limit allows.
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: connections_the_file_limit_allows(),
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
            body_deadline: BODY_DEADLINE,
            proxies: Vec::new(),
        }
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
    let per_address = Slots::<IpAddr>::default();
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
        // On an IPv6 socket an IPv4 peer is a mapped address; it is counted as the IPv4 one.
        let ip = peer.ip().to_canonical();
        let address = if limits.proxies.contains(&ip) {
            Ok(None)
        } else {
            per_address.take(ip, limits.max_per_address).map(Some).ok_or(Busy::Address)
        };
        let permit = address.and_then(|address| {
            let permit = connections.clone().try_acquire_owned().map_err(|_| Busy::Server)?;
            Ok(Held { _permit: permit, _address: address })
        });
        match permit {
            Ok(held) => {
                let connection = serve_connection(
                    stream,
                    peer,
                    router.clone(),
                    (limits.header_timeout, limits.body_deadline),
                    stopping_seen.clone(),
                );
                tokio::spawn(async move {
                    connection.await;
                    drop(held);
                });
                continue;
            }
            Err(busy) => {
                refused.note(busy, &limits);
                if let Ok(permit) = busy_answers.clone().try_acquire_owned() {
                    tokio::spawn(answer_busy(stream, busy, permit));
                }
            }
        }
        // Over both caps, dropping the stream closes it at once: the client may try another node.
    }
    drop(listener);
    stopping.send_replace(true);
    drop(stopping_seen);
    stopping.closed().await;
}

/// What a served connection holds until it closes: its place under the cap, and its address's.
struct Held {
    _permit: OwnedSemaphorePermit,
    _address: Option<Slot<IpAddr>>,
}

/// Which cap a refused connection met.
#[derive(Debug, Clone, Copy)]
enum Busy {
    Server,
    Address,
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

    fn note(&mut self, busy: Busy, limits: &ConnectionLimits) {
        crate::metrics::connection_refused();
        self.since_logged += 1;
        if self.logged_at.is_some_and(|at| at.elapsed() < Self::EVERY) {
            return;
        }
        let (max_connections, max_per_address) = (limits.max_connections, limits.max_per_address);
        tracing::warn!(
            ?busy,
            max_connections,
            max_per_address,
            refused = self.since_logged,
            "too many open connections: answering 503"
        );
        self.since_logged = 0;
        self.logged_at = Some(Instant::now());
    }
}

/// Serves one connection until the client closes it, a deadline passes, or the server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    (timeout, whole): (Duration, Duration),
    mut stopping: watch::Receiver<bool>,
) {
    let _open = crate::metrics::Open::connection();
    // The routes read the peer's address (the login throttle) as axum's `ConnectInfo`.
    // A body that pauses or trickles fails its request rather than holding the connection.
    let service = router.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(|body| Body::new(DeadlineBody::new(body, timeout, whole)))
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeout).max_header_size(MAX_HEADER_BYTES);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopping.wait_for(|stopping| *stopping) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Tells a connection over a cap that the server is busy, once, and closes it.
async fn answer_busy(stream: TcpStream, busy: Busy, _permit: OwnedSemaphorePermit) {
    let detail = match busy {
        Busy::Server => {
            "This server has as many open connections as it serves at once. Try again shortly, or another node."
        }
        Busy::Address => {
            "Your address has as many open connections to this server as one address may. Close some first."
        }
    };
    let busy = hyper::service::service_fn(move |_request: Request<Incoming>| async move {
        let problem = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_connections", detail).retry_after(1);
        Ok::<Response, Infallible>(problem.into_response())
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(BUSY_ANSWER_WAIT)
        .max_header_size(MAX_HEADER_BYTES)
        .keep_alive(false);
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

/// A request body that must keep arriving: it fails once it pauses longer than
/// `pause`, or once it has taken `whole` in all. Its clocks start when the
/// body is first read, so requests without one (most reads) set none.
struct DeadlineBody {
    inner: Incoming,
    pause: Duration,
    whole: Duration,
    /// The pause's clock and the whole body's.
    clocks: Option<(Clock, Clock)>,
}

type Clock = Pin<Box<Sleep>>;

impl DeadlineBody {
    fn new(inner: Incoming, pause: Duration, whole: Duration) -> Self {
        Self { inner, pause, whole, clocks: None }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let (pause, whole) = (this.pause, this.whole);
        let (paused, overdue) = this
            .clocks
            .get_or_insert_with(|| (Box::pin(tokio::time::sleep(pause)), Box::pin(tokio::time::sleep(whole))));
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            paused.as_mut().reset(tokio::time::Instant::now() + pause);
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if paused.as_mut().poll(cx).is_ready() || overdue.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyStoppedArriving))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body paused too long, or took too long in all.
#[derive(Debug)]
pub struct BodyStoppedArriving;

impl std::fmt::Display for BodyStoppedArriving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body stopped arriving in time")
    }
}

impl std::error::Error for BodyStoppedArriving {}
