//! A short-lived memory of sessions already checked, so busy readers (dispatch) skip a database query per request.
//!
//! A session is trusted from memory for at most [`TTL`], and only while its
//! user's stream stays at the version it had when the session was checked.
//! A password change or reset, or a deactivation, is an event of that stream,
//! and every node's live model learns of it within moments (pushed on
//! PostgreSQL, polled on SQLite): then the next request checks the database
//! again, where those sessions are gone. So that takes moments on every
//! node, not [`TTL`]. A logout ends one session, with no event: on
//! PostgreSQL it is announced to every node, which forgets it at once (see
//! [`announce`](super::announce)). Two windows remain:
//! - a node that checks the database in the moment between the event's commit
//!   and the deletion of the sessions (one round trip), or between a logout's
//!   deletion and its announcement, trusts what it read for up to [`TTL`];
//! - several processes sharing one SQLite file hear of no logout but their
//!   own: each trusts a session it checked for up to [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie_domain::UserId;

/// How long a checked session is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);

/// Past this many entries the cache is cleared rather than grown.
const CAPACITY: usize = 100_000;

/// A session found in the database, and the version of its user's stream then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedSession {
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub user_version: u64,
}

#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (CheckedSession, Instant)>>,
}

impl SessionCache {
    /// The session checked less than [`TTL`] ago, whatever its user has done since:
    /// the caller compares `user_version` with the live model's.
    pub fn get(&self, token_hash: &str) -> Option<CheckedSession> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (session, checked) = entries.get(token_hash)?;
        (checked.elapsed() < TTL).then_some(*session)
    }

    pub fn put(&self, token_hash: &str, session: CheckedSession) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), (session, Instant::now()));
    }

    pub fn forget(&self, token_hash: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(token_hash);
    }

    /// Forgets every session, when sessions may have ended unannounced.
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Forgets every session of a user (password change or reset, deactivation).
    pub fn forget_user(&self, user: UserId) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (session, _)| session.user_id != user);
    }
}
