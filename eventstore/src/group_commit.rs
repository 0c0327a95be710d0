//! Group commit: concurrent appends share one transaction, so one fsync serves many writers.
//!
//! Appends queue up while the previous transaction commits; the writer then
//! takes everything waiting, and the appends of writers it has just answered,
//! as the next batch. A batch under light load is a single append, so a lone
//! writer pays no extra latency. Each append keeps its own expected-version
//! check inside the batch and gets its own answer, only after the batch's
//! transaction committed.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::model::{AppendOutcome, AppendRequest};

/// How many times the writer steps aside for appends on their way before it
/// writes a batch, when the last batch had several writers. A lone writer
/// never waits.
const GATHER_YIELDS: usize = 4;

/// One answer per append of a batch, in the batch's order.
pub(crate) type BatchOutcome = Vec<Result<AppendOutcome, StoreError>>;

/// A back end's way of writing a batch of appends in one transaction.
pub(crate) trait BatchWriter: Send + 'static {
    /// Writes the batch. `Err` means the transaction failed as a whole and nothing was written.
    fn write_batch(&mut self, batch: &[AppendRequest])
    -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;
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
    pub(crate) fn spawn(writer: impl BatchWriter, max_batch_events: usize) -> Self {
        let (queue, pending) = mpsc::channel(4096);
        tokio::spawn(run_writer(writer, pending, max_batch_events.max(1)));
        Self { queue }
    }

    /// Appends and waits until the transaction holding the append has committed.
    pub(crate) async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(PendingAppend { request, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run_writer(mut writer: impl BatchWriter, mut pending: mpsc::Receiver<PendingAppend>, max_batch_events: usize) {
    let mut batch: Vec<PendingAppend> = Vec::new();
    let mut last_batch_appends = 0;
    while let Some(first) = pending.recv().await {
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
        write_and_reply(&mut writer, std::mem::take(&mut batch)).await;
    }
}

async fn write_and_reply(writer: &mut impl BatchWriter, batch: Vec<PendingAppend>) {
    let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.request, p.reply)).unzip();
    match writer.write_batch(&requests).await {
        Ok(outcomes) => {
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
                    Ok(mut outcomes) => outcomes.pop().unwrap_or(Err(StoreError::WriterStopped)),
                    Err(error) => Err(error),
                };
                let _ = reply.send(outcome);
            }
        }
    }
}
