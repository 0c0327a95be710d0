//! Prometheus metrics: what requests, logins, appends and live streams add to, and the text a scrape reads.
//!
//! The `metrics` facade records from anywhere with one line; the Prometheus recorder is installed
//! once per process (tests start several servers in one process, and they share it).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "vigie_http_requests_total";
const REQUEST_SECONDS: &str = "vigie_http_request_duration_seconds";
const LOGIN_FAILURES: &str = "vigie_login_failures_total";
const APPENDS: &str = "vigie_appends_total";
const APPENDED_EVENTS: &str = "vigie_appended_events_total";
const HEAD_POSITION: &str = "vigie_log_head_position";
const APPLIED_POSITION: &str = "vigie_live_applied_position";
const OPEN_STREAMS: &str = "vigie_event_streams_open";
const OPEN_CONNECTIONS: &str = "vigie_http_connections_open";
const REFUSED_CONNECTIONS: &str = "vigie_http_connections_refused_total";

/// Latency buckets in seconds: most reads answer from memory in well under a millisecond, while a
/// change waits for an fsync.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use; `None` if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &BUCKETS);
    let handle = match builder.and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "metrics are not recorded: no Prometheus recorder could be installed");
            return None;
        }
    };
    describe();
    // Histograms keep raw samples until upkeep folds them into buckets; scrapes may be rare.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "metrics upkeep thread did not start; scrapes will do it");
    }
    Some(handle)
}

fn describe() {
    metrics::describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status.");
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request (to the headers, for streams), by method, route template and status."
    );
    metrics::describe_counter!(LOGIN_FAILURES, "Logins refused for a wrong username or password.");
    metrics::describe_counter!(APPENDS, "Changes appended to the log by this process, by aggregate category.");
    metrics::describe_counter!(APPENDED_EVENTS, "Events appended to the log by this process, by aggregate category.");
    metrics::describe_gauge!(OPEN_STREAMS, "Server-Sent Event streams open on this process.");
    metrics::describe_gauge!(OPEN_CONNECTIONS, "HTTP connections being served by this process.");
    metrics::describe_counter!(
        REFUSED_CONNECTIONS,
        "HTTP connections answered 503 or closed for the cap on open ones."
    );
}

/// The middleware that counts and times every request by its route template (never the raw path,
/// whose ids would make a series per schedule). Add it with `Router::layer`, which runs it after
/// routing, so that the template is known.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [("method", method.to_owned()), ("route", route), ("status", response.status().as_str().to_owned())];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_SECONDS, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label; anything unusual is `other`, so no client can grow the label set.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A login was refused for a wrong username or password.
pub fn login_failed() {
    metrics::counter!(LOGIN_FAILURES).increment(1);
}

/// This process appended `events` events of `category` in one change.
pub fn appended(category: &'static str, events: usize) {
    metrics::counter!(APPENDS, "category" => category).increment(1);
    metrics::counter!(APPENDED_EVENTS, "category" => category).increment(events as u64);
}

/// A connection was refused for the cap on open connections.
pub fn connection_refused() {
    metrics::counter!(REFUSED_CONNECTIONS).increment(1);
}

/// Counts one open thing (a connection, an event stream) on its gauge for as long as it lives.
#[derive(Debug)]
pub struct Open(&'static str);

impl Open {
    pub fn connection() -> Self {
        Self::on(OPEN_CONNECTIONS)
    }

    pub fn stream() -> Self {
        Self::on(OPEN_STREAMS)
    }

    fn on(gauge: &'static str) -> Self {
        metrics::gauge!(gauge).increment(1.0);
        Open(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

/// The Prometheus text, with the log's head and this server's live model position as of now.
///
/// The two positions belong to one server, not to the process (tests run several servers in one),
/// so they are written here rather than kept in the process-wide recorder.
pub fn render(head_position: u64, applied_position: u64) -> String {
    let mut text = handle().map(PrometheusHandle::render).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for (name, help, value) in [
        (HEAD_POSITION, "The position of the newest event in the log.", head_position),
        (APPLIED_POSITION, "The position of the last event this server's live model applied.", applied_position),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n\n"));
    }
    text
}
