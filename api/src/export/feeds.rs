//! Calendar feed tokens, kept in a table beside the log (a secret must never become an immutable
//! event); the log records that a feed was created or revoked (`CalendarFeedCreated`, `CalendarFeedRevoked`).

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vigie_domain::{ScheduleId, UserId};
use vigie_projections::db::{Db, from_micros, to_micros};
use vigie_projections::on_db;

use crate::error::ApiError;

/// A feed that still works: what it shows, and whose rights it carries.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    pub id: Uuid,
    pub schedule_id: ScheduleId,
    pub user_id: UserId,
}

/// Stores a new feed's token, or gives a feed already stored under `feed.id` (by an earlier attempt
/// of the same keyed request) this new token, since the first one's answer was lost. Answers false
/// if that feed has been revoked since.
pub async fn create(db: &Db, feed: Feed, token_hash: &str, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let stored = on_db!(db, |pool| sqlx::query(
        "INSERT INTO calendar_feeds (id, token_hash, schedule_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash WHERE calendar_feeds.revoked_at IS NULL"
    )
    .bind(feed.id.to_string())
    .bind(token_hash)
    .bind(feed.schedule_id.to_string())
    .bind(feed.user_id.to_string())
    .bind(to_micros(now))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(stored == 1)
}

/// The feed a token opens, unless it is unknown or revoked.
pub async fn find(db: &Db, token_hash: &str) -> Result<Option<Feed>, ApiError> {
    let row: Option<(String, String, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, schedule_id, user_id FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL"
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await)?;
    Ok(row.and_then(|(id, schedule, user)| {
        Some(Feed { id: id.parse().ok()?, schedule_id: schedule.parse().ok()?, user_id: user.parse().ok()? })
    }))
}

/// The live feed `id` of a schedule, if there is one.
pub async fn get(db: &Db, schedule_id: ScheduleId, id: Uuid) -> Result<Option<Feed>, ApiError> {
    let row: Option<(String,)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT user_id FROM calendar_feeds WHERE id = $1 AND schedule_id = $2 AND revoked_at IS NULL"
    )
    .bind(id.to_string())
    .bind(schedule_id.to_string())
    .fetch_optional(pool)
    .await)?;
    Ok(row.and_then(|(user,)| Some(Feed { id, schedule_id, user_id: user.parse().ok()? })))
}

/// The live feeds of a schedule, oldest first: all of them, or only those `user_id` created.
pub async fn list(
    db: &Db,
    schedule_id: ScheduleId,
    user_id: Option<UserId>,
) -> Result<Vec<(Feed, DateTime<Utc>)>, ApiError> {
    let rows: Vec<(String, String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, user_id, created_at FROM calendar_feeds
         WHERE schedule_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR user_id = $2) ORDER BY created_at, id"
    )
    .bind(schedule_id.to_string())
    .bind(user_id.map(|u| u.to_string()))
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, user, created)| {
            Some((Feed { id: id.parse().ok()?, schedule_id, user_id: user.parse().ok()? }, from_micros(created)))
        })
        .collect())
}

pub async fn revoke(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
    on_db!(db, |pool| sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(to_micros(now))
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Revokes every feed a user made: an operator's password reset is how a
/// compromised account is taken back, and a feed URL is a credential too.
pub async fn revoke_all_of(db: &Db, user_id: UserId, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let revoked = on_db!(db, |pool| sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    )
    .bind(to_micros(now))
    .bind(user_id.to_string())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(revoked)
}
