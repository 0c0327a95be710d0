//! The task that keeps a SQL projection current: it reads the log from the checkpoint and applies it in batches.
//!
//! On PostgreSQL several nodes may run the same projection's runner; only the
//! one holding its lock applies events ("leads"), the others watch the
//! checkpoint the leader writes and try to take the lock every few seconds.
//! Either way each runner publishes the position its projection has applied,
//! so a request can wait until the read model reflects a change it knows of
//! (`min_position`).

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigie_eventstore::{EventLog, Page};

use super::checkpoint::{self, LiveState};
use super::error::ProjectionError;
use super::leadership::Leadership;
use super::projection::SqlProjection;
use crate::db::Db;

/// How a runner paces itself.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Events read from the log, and applied in one transaction, at a time.
    pub batch_size: usize,
    /// How often a caught-up leader looks at the log when no notification
    /// came, and a follower at the leader's checkpoint.
    pub poll_interval: Duration,
    /// How often a follower tries to take the lock, and a leader checks it still holds it.
    pub leader_retry: Duration,
    /// How long to wait before trying again after an error.
    pub error_backoff: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            poll_interval: Duration::from_millis(250),
            leader_retry: Duration::from_secs(3),
            error_backoff: Duration::from_secs(3),
        }
    }
}

/// A running projection: its applied position, and the handle to stop it.
#[derive(Debug)]
pub struct ProjectionRunner {
    name: &'static str,
    applied: watch::Receiver<u64>,
    leading: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ProjectionRunner {
    /// Starts keeping `projection` current from `store` into `db`, until stopped.
    pub fn spawn<L: EventLog, P: SqlProjection>(store: L, db: Db, projection: P, options: RunnerOptions) -> Self {
        let (applied_tx, applied) = watch::channel(0);
        let (leading_tx, leading) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let worker = Worker { store, db, projection, options, applied: applied_tx, leading: leading_tx, stop: stop_rx };
        let task = tokio::spawn(worker.run());
        Self { name: P::NAME, applied, leading, stop, task }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The position of the log the read model reflects (all of it, up to there).
    pub fn position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Follows [`position`](Self::position) as it moves.
    pub fn positions(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Whether this runner is the one applying events (always, on SQLite, once started).
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until the read model reflects `position`; false if `timeout` passes first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut applied = self.applied.clone();
        tokio::time::timeout(timeout, applied.wait_for(|&p| p >= position)).await.is_ok_and(|r| r.is_ok())
    }

    /// Stops after the batch in hand (never in the middle of one), and gives up the lock.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Err(error) = (&mut self.task).await {
            tracing::error!(%error, projection = self.name, "projection runner panicked");
        }
    }
}

impl Drop for ProjectionRunner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The lock that elects a projection's runner.
pub(crate) fn lock_name(projection: &str) -> String {
    format!("projection:{projection}")
}

struct Worker<L, P> {
    store: L,
    db: Db,
    projection: P,
    options: RunnerOptions,
    applied: watch::Sender<u64>,
    leading: watch::Sender<bool>,
    stop: watch::Receiver<bool>,
}

impl<L: EventLog, P: SqlProjection> Worker<L, P> {
    async fn run(mut self) {
        let mut told_newer = false;
        while !self.stopped() {
            match Leadership::try_acquire(&self.db, &lock_name(P::NAME)).await {
                Ok(Some(mut leadership)) => {
                    tracing::info!(projection = P::NAME, "running the projection on this node");
                    self.leading.send_replace(true);
                    let led = self.lead(&mut leadership).await;
                    self.leading.send_replace(false);
                    leadership.release().await;
                    match led {
                        Ok(()) => {}
                        Err(error @ ProjectionError::NewerRevision { .. }) => {
                            if !std::mem::replace(&mut told_newer, true) {
                                tracing::info!(%error, "leaving the projection to the nodes running newer code");
                            }
                            self.follow(self.options.leader_retry).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, projection = P::NAME, "projection stopped; retrying");
                            self.pause(self.options.error_backoff).await;
                        }
                    }
                }
                Ok(None) => self.follow(self.options.leader_retry).await,
                Err(error) => {
                    tracing::warn!(%error, projection = P::NAME, "cannot take the projection's lock; retrying");
                    self.pause(self.options.error_backoff).await;
                }
            }
        }
    }

    /// Applies the log while this node holds the lock; returns when stopped or the lock is lost.
    ///
    /// A page holding none of the projection's events changes none of its
    /// rows, so the runner only publishes that it has read past it, and saves
    /// the checkpoint when its next page holds something to apply, or a poll
    /// interval later. Saving every page made each change anywhere in the log
    /// cost every projection a write transaction of its own: on PostgreSQL, 2
    /// checkpoint updates per schedule change, now 0.12 (200 comments over
    /// HTTP). A follower reads the saved checkpoint every poll interval, so
    /// it lags by two at most; a restart reads the unsaved pages again and
    /// finds nothing to apply.
    async fn lead(&mut self, leadership: &mut Leadership) -> Result<(), ProjectionError> {
        let mut head = self.store.watch_head();
        let mut state = newer_revision_refused::<P>(checkpoint::live_state_of::<P>(&self.db).await?)?;
        let mut saved = Saved::at(state.position);
        self.publish(state);
        let mut lock_checked = Instant::now();
        while !self.stopped() {
            // Note the head before reading, so a commit during the read still
            // ends the wait below at once.
            let known_head = *head.borrow_and_update();
            let events = self.store.read_new(state.position, self.options.batch_size).await?;
            // Read past positions that hold no event (purged ones) only once caught up with
            // the head: a short page from this process's memory may stop before events
            // another node committed, and those must be read, not skipped.
            let (Page { events: page, through: read_to }, caught_up) =
                Page::read(state.position, events, self.options.batch_size, known_head);
            let worth_a_write = page.iter().any(checkpoint::is_read_by::<P>)
                || (read_to > saved.position && saved.waited(self.options.poll_interval));
            if worth_a_write {
                // From the saved checkpoint: the events skipped since hold nothing to apply.
                let applied = checkpoint::apply_batch(
                    &self.db,
                    &self.projection,
                    state.generation,
                    saved.position,
                    read_to,
                    &page,
                )
                .await;
                match applied {
                    Ok(()) => saved = Saved::at(read_to),
                    Err(ProjectionError::Superseded(_)) => {
                        // A rebuild switched generations, or another node ran
                        // this projection while our lock was in doubt.
                        if !leadership.is_held().await {
                            return Ok(());
                        }
                        state = newer_revision_refused::<P>(checkpoint::live_state_of::<P>(&self.db).await?)?;
                        saved = Saved::at(state.position);
                        self.publish(state);
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            } else if read_to > saved.position {
                saved.skipped();
            }
            state.position = read_to;
            self.publish(state);
            if caught_up {
                if lock_checked.elapsed() >= self.options.leader_retry {
                    if !leadership.is_held().await {
                        tracing::warn!(projection = P::NAME, "lost the projection's lock");
                        return Ok(());
                    }
                    lock_checked = Instant::now();
                }
                self.wait_for_news(&mut head).await;
            }
        }
        if state.position > saved.position {
            // Spares the next start a re-read; losing it costs no more than that.
            let skipped = checkpoint::apply_batch(
                &self.db,
                &self.projection,
                state.generation,
                saved.position,
                state.position,
                &[],
            );
            if let Err(error) = skipped.await {
                tracing::debug!(%error, projection = P::NAME, "could not save the checkpoint on the way out");
            }
        }
        Ok(())
    }

    /// While another node leads: publishes the checkpoint it writes, for `duration`.
    async fn follow(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while !self.stopped() && Instant::now() < until {
            match checkpoint::live_state_of::<P>(&self.db).await {
                Ok(state) => self.publish(state),
                Err(error) => tracing::debug!(%error, projection = P::NAME, "cannot read the leader's checkpoint"),
            }
            self.pause(self.options.poll_interval).await;
        }
    }

    /// Publishes an applied position; it never goes back, even across a rebuild's switch.
    fn publish(&self, state: LiveState) {
        self.applied.send_if_modified(|current| {
            let moved = state.position > *current;
            if moved {
                *current = state.position;
            }
            moved
        });
    }

    /// Waits until the log's head moves, the poll interval passes, or the runner is stopped.
    async fn wait_for_news(&mut self, head: &mut watch::Receiver<u64>) {
        tokio::select! {
            changed = head.changed() => {
                if changed.is_err() {
                    // The store is gone from this process; polling still finds what others write.
                    self.pause(self.options.poll_interval).await;
                }
            }
            () = tokio::time::sleep(self.options.poll_interval) => {}
            _ = self.stop.changed() => {}
        }
    }

    /// Sleeps for `duration`, or less if the runner is stopped.
    async fn pause(&mut self, duration: Duration) {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            _ = self.stop.changed() => {}
        }
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

/// The live generation, unless newer code than this built it: a rebuild at a
/// new revision switches generations under a running older node during a
/// rolling upgrade, and that node must not go on writing its rows there.
fn newer_revision_refused<P: SqlProjection>(state: LiveState) -> Result<LiveState, ProjectionError> {
    if state.revision > P::REVISION {
        return Err(ProjectionError::NewerRevision { name: P::NAME, live: state.revision, ours: P::REVISION });
    }
    Ok(state)
}

/// The checkpoint as saved, and since when the runner has read past it
/// without saving (pages that held nothing to apply).
struct Saved {
    position: u64,
    behind_since: Option<Instant>,
}

impl Saved {
    fn at(position: u64) -> Self {
        Self { position, behind_since: None }
    }

    fn skipped(&mut self) {
        self.behind_since.get_or_insert_with(Instant::now);
    }

    /// Whether the unsaved pages have waited `delay` for a write.
    fn waited(&self, delay: Duration) -> bool {
        self.behind_since.is_some_and(|since| since.elapsed() >= delay)
    }
}
