//! Login throttling: too many failures for one user name or one address in a window earn a 429.
//!
//! Counting failures per user name stops a guesser who spreads over many
//! addresses, and per address one who tries many names; but both let anyone
//! lock a user out by failing on purpose: the dispatch system's own login,
//! say, or everyone behind one proxy. So a user who has logged in from an
//! address is, from there, limited only by the failures for that user from
//! that address: strangers' failures, elsewhere or at the same address, do
//! not count against it.
//!
//! The counts live in the database (migration `login_throttle`), so every
//! node of a deployment sees the same ones and a restart forgets none.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, OwnedMutexGuard};
use vigie_projections::db::{Db, to_micros};
use vigie_projections::on_db;

use crate::error::ApiError;

/// Failures allowed per user name, and per address, within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long a successful login keeps its address open to its user.
pub const TRUSTED_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The failures of two keys still in the window, newest first.
const RECENT_FAILURES: &str =
    "SELECT key, failed_at FROM login_failures WHERE key IN ($1, $2) AND failed_at > $3 ORDER BY failed_at DESC";

/// How many locks share out the user names and addresses being checked: two guesses at once for
/// one name or one address queue on the same lock; unrelated ones rarely do.
const CHECK_LOCKS: usize = 256;

/// Recent failures per user name and per address, and the addresses each user
/// logged in from, as the database holds them for every node.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    db: Db,
    checks: Arc<Vec<Arc<Mutex<()>>>>,
}

/// Held from a guess's check to recording its outcome: no other guess for its user name or
/// address is checked on this node meanwhile.
#[derive(Debug)]
pub struct CheckTurn {
    _locks: Vec<OwnedMutexGuard<()>>,
}

impl LoginThrottle {
    pub fn new(db: Db) -> Self {
        Self { db, checks: Arc::new((0..CHECK_LOCKS).map(|_| Arc::new(Mutex::new(()))).collect()) }
    }

    /// Waits until no other guess for `user` or from `address` is being checked on this node.
    /// Guesses checked side by side all saw the same failures, so a burst got one guess past the
    /// limit per core hashing at once.
    pub async fn check_turn(&self, user: &str, address: IpAddr) -> CheckTurn {
        let lock_of = |key: &str| {
            let mut hasher = std::hash::DefaultHasher::new();
            key.hash(&mut hasher);
            (hasher.finish() % CHECK_LOCKS as u64) as usize
        };
        let mut locks = vec![lock_of(&user_key(user)), lock_of(&address_key(address))];
        // Always in the same order, so two guesses never wait for each other's second lock.
        locks.sort_unstable();
        locks.dedup();
        let mut held = Vec::with_capacity(locks.len());
        for lock in locks {
            held.push(self.checks[lock].clone().lock_owned().await);
        }
        CheckTurn { _locks: held }
    }

    /// Seconds to wait before `user` may try again from `address`, if either is blocked.
    pub async fn blocked(&self, user: &str, address: IpAddr) -> Result<Option<u64>, ApiError> {
        // The query takes two keys; a trusted user's one key is given twice.
        let keys = if self.trusts(user, address, Utc::now()).await? {
            [pair_key(user, address), pair_key(user, address)]
        } else {
            [user_key(user), address_key(address)]
        };
        let since = to_micros(Utc::now()) - micros(WINDOW);
        let rows: Vec<(String, i64)> = on_db!(&self.db, |pool| sqlx::query_as(RECENT_FAILURES)
            .bind(&keys[0])
            .bind(&keys[1])
            .bind(since)
            .fetch_all(pool)
            .await)?;
        let now = to_micros(Utc::now());
        // A key is blocked until fewer than MAX_FAILURES of its failures are
        // in the window: until its MAX_FAILURES-th newest one leaves it.
        let until_free = keys.iter().filter_map(|key| {
            let mut newest_first = rows.iter().filter(|(k, _)| k == key).map(|&(_, at)| at);
            let failed_at = newest_first.nth(MAX_FAILURES - 1)?;
            Some((failed_at + micros(WINDOW) - now).clamp(1, micros(WINDOW)))
        });
        Ok(until_free.max().map(|micros| (micros as u64).div_ceil(1_000_000)))
    }

    /// A wrong password for `user` from `address`; also prunes failures that no longer count.
    pub async fn record_failure(&self, user: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = to_micros(Utc::now());
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO login_failures (key, failed_at) VALUES ($1, $4), ($2, $4), ($3, $4)"
        )
        .bind(user_key(user))
        .bind(address_key(address))
        .bind(pair_key(user, address))
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM login_failures WHERE failed_at <= $1")
            .bind(now - micros(WINDOW))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// A success forgets the user's own failures from this address and opens the address to them.
    ///
    /// Failures at the name from elsewhere still count: were they forgotten too,
    /// a guesser spread over many addresses would get five more tries each time
    /// the real user (the dispatch system, say) logged in. The user is not locked
    /// out by them from an address they logged in from.
    pub async fn record_success(&self, user: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = to_micros(Utc::now());
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(pair_key(user, address))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO login_trust (user_name, address, since) VALUES ($1, $2, $3)
             ON CONFLICT (user_name, address) DO UPDATE SET since = excluded.since"
        )
        .bind(name_of(user))
        .bind(address.to_string())
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        on_db!(&self.db, |pool| sqlx::query("DELETE FROM login_trust WHERE since <= $1")
            .bind(now - micros(TRUSTED_FOR))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    async fn trusts(&self, user: &str, address: IpAddr, now: DateTime<Utc>) -> Result<bool, ApiError> {
        let found: Option<(i64,)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT since FROM login_trust WHERE user_name = $1 AND address = $2 AND since > $3"
        )
        .bind(name_of(user))
        .bind(address.to_string())
        .bind(to_micros(now) - micros(TRUSTED_FOR))
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }
}

fn micros(duration: Duration) -> i64 {
    duration.as_micros() as i64
}

/// The user name as keys hold it: in lower case, and no longer than any user
/// name can be (a longer one, unknown for certain, must not overflow an index).
fn name_of(user: &str) -> String {
    user.chars().take(100).collect::<String>().to_lowercase()
}

fn user_key(user: &str) -> String {
    format!("user:{}", name_of(user))
}

fn address_key(address: IpAddr) -> String {
    format!("ip:{address}")
}

fn pair_key(user: &str, address: IpAddr) -> String {
    format!("user:{}@{address}", name_of(user))
}
