//! Login throttling: too many failures for one user name or one address in a window earn a 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name, and per address, within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Recent login failures per key (`user:NAME` or `ip:ADDRESS`), on this node.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    /// Seconds to wait before trying again, if any of the keys is blocked.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
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

    pub fn record_failure(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.entry(key.clone()).or_default().push(Instant::now());
        }
    }

    /// A success forgets the user name's failures (not the address's).
    pub fn record_success(&self, user_key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(user_key);
    }
}
