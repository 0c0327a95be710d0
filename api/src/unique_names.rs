//! Usernames, account numbers and schedule names claimed in a table, so that two creations racing (on one node or two) cannot both take a name.
//!
//! The live model answers "is this name taken?" for everything already in the
//! log, but two creations that run at the same moment both find the name
//! free, and each appends to a stream of its own. So a creation also claims
//! its name here first; the table's primary key lets one claim win. A claim
//! whose creation was refused is released. One left by a server that stopped
//! midway (its owner never reached the log) may be taken over after
//! [`ORPHAN_AFTER`].

use chrono::Utc;
use uuid::Uuid;
use vigie_projections::on_db;

use vigie_domain::schedule::ScheduleInfo;
use vigie_domain::{AccountId, ScheduleId};

use crate::app::AppState;
use crate::error::ApiResult;

/// How long a claim whose owner is not in the log blocks its name.
const ORPHAN_AFTER: chrono::Duration = chrono::Duration::seconds(60);

/// What kind of name is claimed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Username,
    AccountNumber,
    /// A schedule's name within its account.
    ScheduleName,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Username => "username",
            Kind::AccountNumber => "account_number",
            Kind::ScheduleName => "schedule_name",
        }
    }
}

/// Claims `name` for `owner`; false if another owner holds it. `exists` says
/// whether an owner is in the live model, to tell a taken name from an orphaned claim.
pub async fn claim(
    app: &AppState,
    kind: Kind,
    name: &str,
    owner: Uuid,
    exists: impl Fn(Uuid) -> bool,
) -> ApiResult<bool> {
    let name = comparable(name);
    let now = Utc::now().timestamp_micros();
    let inserted = on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO unique_names (kind, name, owner_id, claimed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, name) DO NOTHING"
    )
    .bind(kind.as_str())
    .bind(&name)
    .bind(owner.to_string())
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    if inserted == 1 {
        return Ok(true);
    }
    let holder: Option<(String, i64)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT owner_id, claimed_at FROM unique_names WHERE kind = $1 AND name = $2"
    )
    .bind(kind.as_str())
    .bind(&name)
    .fetch_optional(pool)
    .await)?;
    let Some((holder, claimed_at)) = holder else { return Ok(false) };
    if holder == owner.to_string() {
        return Ok(true);
    }
    let holder_exists = holder.parse().is_ok_and(&exists);
    if holder_exists || now - claimed_at < ORPHAN_AFTER.num_microseconds().unwrap_or(i64::MAX) {
        return Ok(false);
    }
    // An orphan: take it over, unless another creation just did.
    let taken_over = on_db!(app.db(), |pool| sqlx::query(
        "UPDATE unique_names SET owner_id = $3, claimed_at = $4 WHERE kind = $1 AND name = $2 AND owner_id = $5"
    )
    .bind(kind.as_str())
    .bind(&name)
    .bind(owner.to_string())
    .bind(now)
    .bind(&holder)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(taken_over == 1)
}

/// Gives back a claim after its creation was refused.
pub async fn release(app: &AppState, kind: Kind, name: &str, owner: Uuid) {
    let name = comparable(name);
    let released = on_db!(app.db(), |pool| sqlx::query(
        "DELETE FROM unique_names WHERE kind = $1 AND name = $2 AND owner_id = $3"
    )
    .bind(kind.as_str())
    .bind(&name)
    .bind(owner.to_string())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()));
    if let Err(error) = released {
        // The claim becomes an orphan, which the next creation of the name takes over after a minute.
        tracing::warn!(%error, kind = kind.as_str(), "could not release a name claim");
    }
}

/// Claims `name` for `schedule_id` among the schedules of `account_id`; false
/// if another schedule of the account has it (compared without case or outer
/// spaces). A claim whose schedule was renamed or deleted is an orphan.
pub async fn claim_schedule_name(
    app: &AppState,
    account_id: AccountId,
    schedule_id: ScheduleId,
    name: &str,
) -> ApiResult<bool> {
    let wanted = comparable(name);
    let named =
        |info: &ScheduleInfo| !info.deleted && info.account_id == account_id && comparable(&info.name) == wanted;
    let in_log = app
        .live()
        .read()
        .schedules_of(account_id)
        .any(|(id, state)| id != schedule_id && state.info().is_some_and(named));
    if in_log {
        return Ok(false);
    }
    let exists =
        |owner| app.live().read().schedules.get(ScheduleId::from_uuid(owner)).and_then(|s| s.info()).is_some_and(named);
    claim(app, Kind::ScheduleName, &schedule_key(account_id, name), schedule_id.as_uuid(), exists).await
}

/// Gives back a schedule's claim on `name`: its change was refused.
pub async fn release_schedule_name(app: &AppState, account_id: AccountId, schedule_id: ScheduleId, name: &str) {
    release(app, Kind::ScheduleName, &schedule_key(account_id, name), schedule_id.as_uuid()).await;
}

/// After a rename or a deletion: the schedule holds a claim on its `name` now
/// (none once deleted) and on nothing else. Two renames of one schedule that
/// ran at once each claimed a name; whichever landed last settles both.
pub async fn settle_schedule_name(app: &AppState, account_id: AccountId, schedule_id: ScheduleId, name: Option<&str>) {
    let owner = schedule_id.as_uuid();
    if let Some(name) = name {
        // Ours already, or free again: a racing rename may have given it back.
        claim_schedule_name(app, account_id, schedule_id, name).await.ok();
    }
    let kept = name.map(|name| comparable(&schedule_key(account_id, name)));
    let released = on_db!(app.db(), |pool| sqlx::query(
        "DELETE FROM unique_names WHERE kind = $1 AND owner_id = $2 AND ($3 IS NULL OR name <> $3)"
    )
    .bind(Kind::ScheduleName.as_str())
    .bind(owner.to_string())
    .bind(kept.as_deref())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()));
    if let Err(error) = released {
        // What is left becomes an orphan, which the next claim of the name takes over after a minute.
        tracing::warn!(%error, "could not give back a schedule's old names");
    }
}

/// Whether two names are one, as claims compare them.
pub fn same_name(a: &str, b: &str) -> bool {
    comparable(a) == comparable(b)
}

/// A name as claims compare it: see [`vigie_domain::comparable`].
fn comparable(name: &str) -> String {
    vigie_domain::comparable(name)
}

fn schedule_key(account_id: AccountId, name: &str) -> String {
    format!("{account_id}/{}", name.trim())
}

#[cfg(test)]
mod tests {
    use super::same_name;

    #[test]
    fn names_that_look_alike_are_one_name() {
        assert!(same_name("01 Horaire", " 01  horaire "));
        assert!(same_name("01 Horaire", "01\u{00A0}Horaire"), "a no-break space");
        assert!(same_name("01 Horaire", "01 Hor\u{200B}aire"), "a zero-width space");
        assert!(same_name("operator", "\u{FF4F}perator"), "a fullwidth o");
        assert!(same_name("Équipe", "E\u{0301}quipe"), "an accent typed apart");
        assert!(!same_name("01 Horaire", "02 Horaire"));
        assert!(!same_name("Horaire", "Hora ire"));
    }
}
