//! Calendar feeds: which feeds work comes from the log (`CalendarFeedCreated`, `CalendarFeedRevoked`
//! in the owner's user stream), and their tokens from a table beside it (a secret must never become
//! an immutable event).
//!
//! The table's `revoked_at` was written by versions from before the log recorded feeds; nothing
//! reads it now. A row whose feed the log does not show working opens nothing.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vigie_domain::user::{CalendarFeedCreated, UserEvent};
use vigie_domain::{DomainEvent, Role, ScheduleId, UserId};
use vigie_eventstore::{AppendRequest, EventLog, ExpectedVersion, Metadata, NewEvent};
use vigie_projections::db::{Db, from_micros, to_micros};
use vigie_projections::live::LiveModel;
use vigie_projections::on_db;

use crate::app::AppState;
use crate::error::ApiError;

/// A feed: what it shows, and whose rights it carries.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    pub id: Uuid,
    pub schedule_id: ScheduleId,
    pub user_id: UserId,
}

impl Feed {
    /// Whether the feed opens its schedule now: the log shows it working, and its creator
    /// is active and, as a client, still reaches the schedule's account.
    pub fn works(&self, live: &LiveModel) -> bool {
        let Some(owner) = live.users.get(self.user_id) else { return false };
        let Some(creator) = owner.user.as_ref().filter(|u| u.active) else { return false };
        let Some(state) = live.schedules.get(self.schedule_id).filter(|s| s.exists()) else { return false };
        let reaches = creator.role != Role::Client
            || state.info().is_some_and(|info| creator.account_ids.contains(&info.account_id));
        owner.feeds.contains_key(&self.id) && reaches
    }
}

/// Stores a feed's token: a new feed's, or a new one for a feed stored under `feed.id` by an
/// earlier attempt of the same keyed request, whose answer (and token) was lost.
pub async fn store_token(db: &Db, feed: Feed, token_hash: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO calendar_feeds (id, token_hash, schedule_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash"
    )
    .bind(feed.id.to_string())
    .bind(token_hash)
    .bind(feed.schedule_id.to_string())
    .bind(feed.user_id.to_string())
    .bind(to_micros(now))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The feed a token names, working or not.
pub async fn find(db: &Db, token_hash: &str) -> Result<Option<Feed>, ApiError> {
    let row: Option<(String, String, String)> =
        on_db!(db, |pool| sqlx::query_as("SELECT id, schedule_id, user_id FROM calendar_feeds WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
    Ok(row.and_then(feed_of))
}

/// The feed `id` of a schedule, working or not.
pub async fn get(db: &Db, schedule_id: ScheduleId, id: Uuid) -> Result<Option<Feed>, ApiError> {
    let row: Option<(String, String, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, schedule_id, user_id FROM calendar_feeds WHERE id = $1 AND schedule_id = $2"
    )
    .bind(id.to_string())
    .bind(schedule_id.to_string())
    .fetch_optional(pool)
    .await)?;
    Ok(row.and_then(feed_of))
}

/// The feeds of a schedule with a token, oldest first, working or not: all of them, or only those
/// `user_id` created.
pub async fn list(
    db: &Db,
    schedule_id: ScheduleId,
    user_id: Option<UserId>,
) -> Result<Vec<(Feed, DateTime<Utc>)>, ApiError> {
    let rows: Vec<(String, String, String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, schedule_id, user_id, created_at FROM calendar_feeds
         WHERE schedule_id = $1 AND ($2 IS NULL OR user_id = $2) ORDER BY created_at, id"
    )
    .bind(schedule_id.to_string())
    .bind(user_id.map(|u| u.to_string()))
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, schedule, user, created)| Some((feed_of((id, schedule, user))?, from_micros(created))))
        .collect())
}

fn feed_of((id, schedule, user): (String, String, String)) -> Option<Feed> {
    Some(Feed { id: id.parse().ok()?, schedule_id: schedule.parse().ok()?, user_id: user.parse().ok()? })
}

/// Records in the log the feeds made before it recorded feeds, once: without a
/// `CalendarFeedCreated` a feed does not work, and its revocation would go unrecorded.
/// Each gets an event id of its own feed's, so nodes starting together record it once.
pub async fn record_feeds_made_before_the_log(app: &AppState) -> anyhow::Result<()> {
    let rows: Vec<(String, String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT id, schedule_id, user_id FROM calendar_feeds WHERE revoked_at IS NULL"
    )
    .fetch_all(pool)
    .await)?;
    let unrecorded: Vec<Feed> = {
        let live = app.live().read();
        rows.into_iter()
            .filter_map(feed_of)
            .filter(|feed| {
                live.users.get(feed.user_id).is_some_and(|owner| {
                    owner.user.as_ref().is_some_and(|u| u.active)
                        && !owner.feeds.contains_key(&feed.id)
                        && !owner.revoked_feeds.contains(&feed.id)
                })
            })
            .collect()
    };
    let mut last = None;
    for feed in &unrecorded {
        let event = UserEvent::from(CalendarFeedCreated { feed_id: feed.id, schedule_id: feed.schedule_id });
        let metadata = Metadata { actor_name: Some("system".into()), ..Metadata::default() };
        let new = NewEvent::new(event.event_type(), event.schema_version(), &event.to_data())?
            .with_id(event_id_for(feed.id))
            .with_metadata(metadata);
        let stream = vigie_domain::user::stream_id(feed.user_id);
        last =
            Some(app.store().append(AppendRequest::new(stream, ExpectedVersion::Any, vec![new])).await?.last_position);
    }
    if let Some(position) = last {
        app.live().wait_for(position, std::time::Duration::from_secs(5)).await;
        tracing::info!(feeds = unrecorded.len(), "recorded in the log the calendar feeds made before it recorded them");
    }
    Ok(())
}

/// The id of the event that records a feed made before the log recorded feeds.
fn event_id_for(feed_id: Uuid) -> Uuid {
    let digest = Sha256::new().chain_update("calendar feed made before the log").chain_update(feed_id).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}
