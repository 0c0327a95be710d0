//! Login throttling: too many failures for one user name or one address in a window earn a 429.
//!
//! Counting failures per user name stops a guesser who spreads over many
//! addresses, and per address one who tries many names; but both let anyone
//! lock a user out by failing on purpose: the dispatch system's own login,
//! say, or everyone behind one proxy. So a user who has logged in from an
//! address is, from there, limited only by the failures for that user from
//! that address: strangers' failures, elsewhere or at the same address, do
//! not count against it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name, and per address, within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long a successful login keeps its address open to its user.
pub const TRUSTED_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Past this many entries a map is cleared rather than grown.
const CAPACITY: usize = 100_000;

/// Recent failures per user name and per address, and the addresses each user
/// logged in from, on this node.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    trusted: Mutex<HashMap<(String, IpAddr), Instant>>,
}

impl LoginThrottle {
    /// Seconds to wait before `user` may try again from `address`, if either is blocked.
    pub fn blocked(&self, user: &str, address: IpAddr) -> Option<u64> {
        let keys = if self.trusts(user, address) {
            vec![pair_key(user, address)]
        } else {
            vec![user_key(user), address_key(address)]
        };
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        keys.iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                times.retain(|t| now.duration_since(*t) < WINDOW);
                (times.len() >= MAX_FAILURES).then(|| {
                    let oldest = times.iter().min().copied().unwrap_or(now);
                    WINDOW.saturating_sub(now.duration_since(oldest)).as_secs().max(1)
                })
            })
            .max()
    }

    /// A wrong password for `user` from `address`.
    pub fn record_failure(&self, user: &str, address: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= CAPACITY {
            failures.clear();
        }
        for key in [user_key(user), address_key(address), pair_key(user, address)] {
            failures.entry(key).or_default().push(Instant::now());
        }
    }

    /// A success forgets the user name's failures (not the address's) and opens the address to the user.
    pub fn record_success(&self, user: &str, address: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&user_key(user));
        failures.remove(&pair_key(user, address));
        drop(failures);
        let mut trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        if trusted.len() >= CAPACITY {
            trusted.clear();
        }
        trusted.insert((user.to_lowercase(), address), Instant::now());
    }

    fn trusts(&self, user: &str, address: IpAddr) -> bool {
        let trusted = self.trusted.lock().unwrap_or_else(|e| e.into_inner());
        trusted.get(&(user.to_lowercase(), address)).is_some_and(|since| since.elapsed() < TRUSTED_FOR)
    }
}

fn user_key(user: &str) -> String {
    format!("user:{}", user.to_lowercase())
}

fn address_key(address: IpAddr) -> String {
    format!("ip:{address}")
}

fn pair_key(user: &str, address: IpAddr) -> String {
    format!("user:{}@{address}", user.to_lowercase())
}
