//! Credentials and sessions, kept in tables beside the log and never in events.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use vigie_domain::UserId;
use vigie_projections::db::{Db, from_micros, to_micros};
use vigie_projections::on_db;

use crate::error::ApiError;

/// A new random session token (shown once) and the hash that is stored.
pub fn new_token() -> (String, String) {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// Tokens are stored only as this hash, so a leaked table opens no session.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn password_hash(db: &Db, user_id: UserId) -> Result<Option<String>, ApiError> {
    let row: Option<(String,)> =
        on_db!(db, |pool| sqlx::query_as("SELECT password_hash FROM credentials WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_optional(pool)
            .await)?;
    Ok(row.map(|(hash,)| hash))
}

pub async fn set_password_hash(db: &Db, user_id: UserId, hash: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO credentials (user_id, password_hash, changed_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, changed_at = excluded.changed_at"
    )
    .bind(user_id.to_string())
    .bind(hash)
    .bind(to_micros(now))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Opens a session for a user whose password was checked against `verified_hash`, unless the
/// password has changed since: a login that read the old hash just before a reset must not leave
/// a session behind it, since the reset ends the sessions it finds. Answers whether it opened.
pub async fn create_session(
    db: &Db,
    token_hash: &str,
    user_id: UserId,
    verified_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool, ApiError> {
    // On PostgreSQL the credential is locked until the session is in: a reset's update waits,
    // and its deletion of sessions comes after and finds this one; a reset already updating
    // makes this statement read the new hash and open nothing. SQLite writes one at a time.
    let sql = match db {
        Db::Sqlite(_) => {
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS
                 (SELECT 1 FROM credentials WHERE user_id = $2 AND password_hash = $5)"
        }
        Db::Postgres(_) => {
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
             SELECT $1, $2, $3, $4 FROM credentials WHERE user_id = $2 AND password_hash = $5 FOR SHARE"
        }
    };
    let opened = on_db!(db, |pool| sqlx::query(sql)
        .bind(token_hash)
        .bind(user_id.to_string())
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .bind(verified_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(opened == 1)
}

/// The user and expiry of a session, if the token hash names one.
pub async fn find_session(db: &Db, token_hash: &str) -> Result<Option<(UserId, DateTime<Utc>)>, ApiError> {
    let row: Option<(String, i64)> =
        on_db!(db, |pool| sqlx::query_as("SELECT user_id, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
    Ok(row.and_then(|(user, expires)| Some((user.parse().ok()?, from_micros(expires)))))
}

/// Ends one session (a logout); on PostgreSQL, tells every node to forget it at once.
pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), ApiError> {
    match db {
        Db::Sqlite(pool) => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
        }
        Db::Postgres(pool) => {
            sqlx::query(
                "WITH ended AS (DELETE FROM sessions WHERE token_hash = $1 RETURNING token_hash)
                 SELECT pg_notify($2, token_hash) FROM ended",
            )
            .bind(token_hash)
            .bind(super::announce::CHANNEL)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// Ends every session of a user (after a password change or reset).
pub async fn delete_sessions_of(db: &Db, user_id: UserId) -> Result<(), ApiError> {
    on_db!(db, |pool| sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}
