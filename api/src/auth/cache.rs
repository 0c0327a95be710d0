//! A short-lived memory of sessions already checked, so busy readers (dispatch) skip a database query per request.
//!
//! A session ended on this node (logout, password change) is forgotten at
//! once; one ended through another node stays usable here for at most
//! [`TTL`]. That window is the price of not asking the database on every
//! request, and it is kept short.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie_domain::UserId;

/// How long a checked session is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);

/// Past this many entries the cache is cleared rather than grown.
const CAPACITY: usize = 100_000;

/// A session's user and expiry, and when it was last checked in the database.
type Checked = (UserId, DateTime<Utc>, Instant);

#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, Checked>>,
}

impl SessionCache {
    /// The user and expiry of a session checked less than [`TTL`] ago.
    pub fn get(&self, token_hash: &str) -> Option<(UserId, DateTime<Utc>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (user, expires_at, checked) = entries.get(token_hash)?;
        (checked.elapsed() < TTL).then_some((*user, *expires_at))
    }

    pub fn put(&self, token_hash: &str, user: UserId, expires_at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), (user, expires_at, Instant::now()));
    }

    pub fn forget(&self, token_hash: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(token_hash);
    }

    /// Forgets every session of a user (password change or reset, deactivation).
    pub fn forget_user(&self, user: UserId) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (u, _, _)| *u != user);
    }
}
