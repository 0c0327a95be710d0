//! Password hashing with argon2id; hashing runs off the async threads because it is slow on purpose.
//!
//! Each hash holds argon2's 19 MiB for its duration, so they take turns
//! ([`Turn`]): a core each at most, a bounded queue behind, and 503 past it.
//! Unbounded, a burst of a few hundred bad logins took gigabytes and had a
//! node killed for lack of memory.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use axum::http::StatusCode;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// How many requests may wait for a turn; more are told to come back.
const MAX_WAITING: usize = 64;

/// The turns of this process: one per core.
static TURNS: LazyLock<Turns> =
    LazyLock::new(|| Turns::new(std::thread::available_parallelism().map_or(2, |cores| cores.get()), MAX_WAITING));

/// Waits for a turn to hash; 503 with `Retry-After` when too many already wait.
pub async fn take_turn() -> Result<Turn<'static>, ApiError> {
    TURNS.take().await
}

/// Turns to hash, and a bound on the requests waiting for one.
#[derive(Debug)]
struct Turns {
    semaphore: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// The right to hash or verify passwords until dropped. The login holds it from
/// its throttle check to recording the outcome, so that a burst of guesses at
/// one name is checked one after another, not all before the first failure counts.
#[derive(Debug)]
pub struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
}

impl Turns {
    fn new(at_once: usize, max_waiting: usize) -> Self {
        Self { semaphore: Semaphore::new(at_once), waiting: AtomicUsize::new(0), max_waiting }
    }

    async fn take(&self) -> Result<Turn<'_>, ApiError> {
        // Counted until it has its turn, or gave up waiting (its client went away).
        let waiter = Waiter(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too many logins and password changes at once; try again in a moment.",
            )
            .retry_after(1));
        }
        let permit = self.semaphore.acquire().await.map_err(ApiError::internal)?;
        drop(waiter);
        Ok(Turn { _permit: permit })
    }
}

/// One request counted among those waiting, until dropped.
struct Waiter<'a>(&'a AtomicUsize);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Refuses a password too short to be worth hashing.
pub fn check_strength(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
            format!("A password has at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    Ok(())
}

/// The PHC string of an argon2id hash of `password`, with a fresh salt.
pub async fn hash(_turn: &Turn<'_>, password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Whether `password` matches the stored hash.
pub async fn verify(_turn: &Turn<'_>, password: String, stored_hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Turns;

    #[tokio::test]
    async fn hashes_take_turns_and_past_the_queue_requests_are_told_to_come_back() {
        let turns = Turns::new(1, 2);
        let first = turns.take().await.expect("a free turn");
        // Two wait, while the turn is taken.
        let waiting = futures_util::future::join(turns.take(), turns.take());
        let waiting = tokio::time::timeout(Duration::from_millis(200), async {
            tokio::select! {
                _ = waiting => panic!("a waiter got a turn that was taken"),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        });
        let third = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            turns.take().await
        };
        let ((), third) = tokio::join!(async { waiting.await.expect("in time") }, third);
        let refused = third.expect_err("a third waiter");
        assert_eq!((refused.status.as_u16(), refused.code, refused.retry_after), (503, "busy", Some(1)));
        drop(first);
        assert!(turns.take().await.is_ok(), "the turn came back");
    }
}
