//! Group commit: concurrent appends share one transaction, so one fsync serves many writers.
//!
//! Appends queue up while the previous transaction commits; the writer then
//! takes everything waiting, and the appends of writers it has just answered,
//! as the next batch. A batch under light load is a single append, so a lone
//! writer pays no extra latency. Each append keeps its own expected-version
//! check inside the batch and gets its own answer, only after the batch's
//! transaction committed. Once a batch has committed, the writer hands its
//! events to this process's followers and moves the head that wakes them.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::StoreError;
use crate::hand_off::HandOff;
use crate::model::{AppendOutcome, AppendRequest};
use crate::store::advance_head;

/// How many times the writer steps aside for appends on their way before it
/// writes a batch, when the last batch had several writers. A lone writer
/// never waits.
const GATHER_YIELDS: usize = 4;

/// One answer per append of a batch, in the batch's order.
pub(crate) type BatchOutcome = Vec<Result<AppendOutcome, StoreError>>;

/// A back end's way of writing a batch of appends in one transaction.
pub(crate) trait BatchWriter: Send + 'static {
    /// Whether a lone append should keep the writer's worker thread awake
    /// while it commits (see `keep_awake`): worth it when the database runs
    /// on a thread of this process, not when it needs this machine's CPUs
    /// for a server process of its own (measured: PostgreSQL's lone appends
    /// lost 15–25 % with it).
    const KEEPS_AWAKE_FOR_A_LONE_APPEND: bool;

    /// Writes the batch. `Err` means the transaction failed as a whole and nothing was written.
    fn write_batch(&mut self, batch: &[AppendRequest])
    -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// The newest position the writer saw committed by anyone, if it reads
    /// that while it writes (SQLite does); the head then moves to it too.
    fn head_seen(&self) -> Option<u64> {
        None
    }

    /// Waits, while no append is waiting, for news that another process
    /// committed; answers the newest position heard. Must lose nothing when
    /// dropped before it answers. Never answers unless the back end hears
    /// of other processes' commits through the writer's connection.
    fn heard(&mut self) -> impl Future<Output = Option<u64>> + Send {
        std::future::pending()
    }
}

/// Where this process learns of its own commits: the head its followers
/// wait on, and the events themselves.
#[derive(Debug, Clone)]
pub(crate) struct Followers {
    pub(crate) head: Arc<watch::Sender<u64>>,
    pub(crate) hand_off: Arc<HandOff>,
}

impl Followers {
    /// Hands the committed events over first, so a follower the head wakes finds them.
    fn tell(&self, writer: &impl BatchWriter, batch: Vec<AppendRequest>, outcomes: &BatchOutcome) {
        let newest = outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|o| o.last_position).max();
        self.hand_off.keep_committed(batch, outcomes, Instant::now());
        if let Some(newest) = newest.max(writer.head_seen()) {
            advance_head(&self.head, newest);
        }
    }
}

struct PendingAppend {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// The handle appends go through. Cheap to clone; the writer stops when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<PendingAppend>,
}

impl std::fmt::Debug for PendingAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAppend").field("stream_id", &self.request.stream_id).finish()
    }
}

impl GroupCommit {
    /// Starts the writer task. A batch stops growing at `max_batch_events` events.
    pub(crate) fn spawn(writer: impl BatchWriter, max_batch_events: usize, followers: Followers) -> Self {
        let (queue, pending) = mpsc::channel(4096);
        tokio::spawn(run_writer(writer, pending, max_batch_events.max(1), followers));
        Self { queue }
    }

    /// Appends and waits until the transaction holding the append has committed.
    pub(crate) async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(PendingAppend { request, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run_writer(
    mut writer: impl BatchWriter,
    mut pending: mpsc::Receiver<PendingAppend>,
    max_batch_events: usize,
    followers: Followers,
) {
    let mut batch: Vec<PendingAppend> = Vec::new();
    let mut last_batch_appends = 0;
    loop {
        let first = tokio::select! {
            biased;
            next = pending.recv() => match next {
                Some(first) => first,
                None => return,
            },
            heard = writer.heard() => {
                if let Some(position) = heard {
                    advance_head(&followers.head, position);
                }
                continue;
            }
        };
        let mut events = first.request.events.len();
        batch.push(first);
        let mut yields = 0;
        while events < max_batch_events {
            match pending.try_recv() {
                Ok(next) => {
                    events += next.request.events.len();
                    batch.push(next);
                }
                // Writers answered by the last batch are waking up to append
                // again. Taking only those already queued would split them
                // for good into two halves, one written while the other
                // queues (measured: 32 writers made batches of 16). So when
                // there are other writers, let them run for a moment first.
                Err(_) if last_batch_appends > 1 && yields < GATHER_YIELDS => {
                    yields += 1;
                    tokio::task::yield_now().await;
                }
                Err(_) => break,
            }
        }
        last_batch_appends = batch.len();
        write_and_reply(&mut writer, &followers, std::mem::take(&mut batch)).await;
    }
}

async fn write_and_reply<W: BatchWriter>(writer: &mut W, followers: &Followers, batch: Vec<PendingAppend>) {
    let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.request, p.reply)).unzip();
    let lone_small_append = requests.len() == 1 && requests[0].events.len() <= LONE_APPEND_EVENTS_MAX;
    let written = if W::KEEPS_AWAKE_FOR_A_LONE_APPEND && lone_small_append {
        keep_awake(writer.write_batch(&requests), LONE_APPEND_AWAKE).await
    } else {
        writer.write_batch(&requests).await
    };
    match written {
        Ok(outcomes) => {
            followers.tell(writer, requests, &outcomes);
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        // A failed transaction wrote nothing. Alone, the append gets the error;
        // in a batch, each append is retried on its own so one bad append
        // cannot fail its neighbours.
        Err(error) if requests.len() == 1 => {
            let _ = replies.into_iter().next().map(|reply| reply.send(Err(error)));
        }
        Err(error) => {
            tracing::warn!(%error, appends = requests.len(), "batched append failed; retrying each append alone");
            for (request, reply) in requests.into_iter().zip(replies) {
                let outcome = match writer.write_batch(std::slice::from_ref(&request)).await {
                    Ok(mut outcomes) => {
                        followers.tell(writer, vec![request], &outcomes);
                        outcomes.pop().unwrap_or(Err(StoreError::WriterStopped))
                    }
                    Err(error) => Err(error),
                };
                let _ = reply.send(outcome);
            }
        }
    }
}

/// The most events a lone append may hold for the writer to stay awake while
/// it commits. The driver's share of a commit grows with its events, and a
/// thread it wakes tends to run on the waker's CPU: beside a busy worker, a
/// batch of 50 events lost 13–40 %, while a lone event went from 63–72 % to
/// 77–86 % of the raw SQLite loop on disk (BENCHMARKS.md, session 7).
const LONE_APPEND_EVENTS_MAX: usize = 8;

/// How long the writer keeps its worker thread awake while a lone append
/// commits: a few fsyncs, after which it is in no hurry anyway.
const LONE_APPEND_AWAKE: Duration = Duration::from_millis(2);

/// Awaits `future` without letting the worker thread sleep, for up to `budget`.
///
/// The future is polled with a waker that does nothing, and the task yields
/// between polls: the driver's completion then wakes nobody, instead of
/// unparking a worker from outside the runtime (which makes tokio wake a
/// second worker for nothing). Past the budget, the future is awaited as usual.
async fn keep_awake<F: Future>(future: F, budget: Duration) -> F::Output {
    let mut future = pin!(future);
    let deadline = Instant::now() + budget;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return output;
        }
        if Instant::now() >= deadline {
            return future.await;
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_that_comes_within_the_budget_or_after_it_is_never_missed() {
        for (answer_after, budget) in
            [(Duration::ZERO, Duration::from_secs(5)), (Duration::from_millis(30), Duration::from_millis(1))]
        {
            let (answer, answered) = oneshot::channel();
            // The answer comes from a thread outside the runtime, as the driver's does.
            std::thread::spawn(move || {
                std::thread::sleep(answer_after);
                answer.send(42).unwrap();
            });

            // Waited for from another task, so that only the answer can wake the one waiting.
            let waiting = tokio::spawn(keep_awake(answered, budget));
            let waited = tokio::time::timeout(Duration::from_secs(5), waiting).await;

            assert_eq!(waited.expect("the answer wakes the writer").unwrap().unwrap(), 42);
        }
    }
}
