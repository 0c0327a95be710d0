//! Logging in and out, who am I, and changing one's own password.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use vigie_domain::{User, UserCommand, UserId, user};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::address::ClientAddress;
use crate::auth::{Caller, SESSION_COOKIE, password, store};
use crate::commands::{self, ChangeHeaders};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Rerun;
use crate::routes::openapi::{MinPositionParam, Problem};
use crate::routes::schedules::{Freshness, ensure_fresh};
use crate::routes::views::{self, JsonBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

/// One message for an unknown user and a wrong password: no hint which it was.
fn bad_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "The username or password is incorrect.")
}

fn too_many_attempts(seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many failed attempts; wait a few minutes before trying again.",
    )
    .retry_after(seconds)
}

/// Opens a session: its token for an `Authorization: Bearer` header, and the same as a cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", security(()), request_body = LoginRequest,
    responses(
        (status = 200, description = "The session's token, its expiry and the user.", body = LoginAnswer),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 422, response = Problem),
        (status = 429, response = Problem),
    ))]
async fn login(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    // From the throttle's check to recording the outcome, a turn to hash and the user's and the
    // address's check turn: guesses sent all at once are then checked one after another on this
    // node, each seeing the failures before it.
    let turn = password::take_turn().await?;
    let checking = app.throttle().check_turn(&request.username, address).await;
    if let Some(seconds) = app.throttle().blocked(&request.username, address).await? {
        return Err(too_many_attempts(seconds));
    }
    let user = {
        let live = app.live().read();
        live.user_by_name(&request.username).and_then(|id| live.users.get(id)).and_then(|u| u.user.clone())
    };
    let stored = match &user {
        Some(user) if user.active => store::password_hash(app.db(), user.id).await?,
        _ => None,
    };
    let verified =
        password::verify(&turn, request.password, stored.clone().unwrap_or_else(|| app.decoy_hash().to_owned())).await;
    let (Some(user), Some(verified_hash), true) = (user, stored, verified) else {
        app.throttle().record_failure(&request.username, address).await?;
        crate::metrics::login_failed();
        return Err(bad_credentials());
    };
    app.throttle().record_success(&request.username, address).await?;
    drop((checking, turn));

    let now = Utc::now();
    let expires_at = now + app.settings().session_lifetime;
    let (token, token_hash) = store::new_token();
    if !store::create_session(app.db(), &token_hash, user.id, &verified_hash, now, expires_at).await? {
        // The password changed while this one was being checked: it is no longer the password.
        return Err(bad_credentials());
    }
    let body = LoginAnswer {
        token: token.clone(),
        expires_at: expires_at.to_rfc3339(),
        user: SessionUser { id: user.id, username: user.username, role: user.role.as_str() },
    };
    let cookie = session_cookie(&token, app.settings().session_lifetime.num_seconds(), app.settings().secure_cookies);
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    response.extensions_mut().insert(crate::idempotency::Secret);
    Ok(response)
}

/// The `Set-Cookie` value for a session token (an empty one with no age ends it).
/// `Secure` keeps it off plain HTTP; `HttpOnly` out of scripts; `SameSite=Strict` out of other sites' requests.
fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_seconds}{secure}")
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LoginAnswer {
    /// For an `Authorization: Bearer` header; also set as an HttpOnly cookie.
    token: String,
    /// When the session ends unless renewed by logging in again (RFC 3339).
    expires_at: String,
    user: SessionUser,
}

/// The user a session belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SessionUser {
    #[schema(value_type = uuid::Uuid)]
    id: UserId,
    username: String,
    /// `client`, `operator`, `dispatcher` or `auditor`.
    role: &'static str,
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "session",
    responses((status = 204, description = "The session is over."), (status = 401, response = Problem)))]
async fn logout(State(app): State<AppState>, caller: Caller) -> ApiResult<Response> {
    store::delete_session(app.db(), &caller.token_hash).await?;
    app.sessions().forget(&caller.token_hash);
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = session_cookie("", 0, app.settings().secure_cookies);
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&expired).map_err(ApiError::internal)?);
    Ok(response)
}

/// Who the caller is, and the accounts they reach.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    params(MinPositionParam),
    responses(
        (status = 200, description = "The caller's id, username, role and accounts.", body = MeAnswer),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    ))]
async fn me(State(app): State<AppState>, caller: Caller, Query(fresh): Query<Freshness>) -> ApiResult<Json<MeAnswer>> {
    ensure_fresh(&app, fresh.min_position).await?;
    let live = app.live().read();
    let mut accounts: Vec<_> = if caller.role == vigie_domain::Role::Client {
        caller.account_ids.iter().filter_map(|id| live.account(*id).map(views::account)).collect()
    } else {
        live.accounts.iter().filter_map(|(_, state)| state.account.as_ref().map(views::account)).collect()
    };
    accounts.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(Json(MeAnswer { id: caller.user_id, username: caller.username, role: caller.role.as_str(), accounts }))
}

/// The caller, and the accounts they reach.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MeAnswer {
    #[schema(value_type = uuid::Uuid)]
    id: UserId,
    username: String,
    /// `client`, `operator`, `dispatcher` or `auditor`.
    role: &'static str,
    /// A client's own accounts; every account for the answering service's roles. By number.
    accounts: Vec<views::AccountView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the caller's own password, which ends every one of their sessions.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "session", request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; log in again."),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 422, response = Problem),
        (status = 429, response = Problem),
    ))]
async fn change_password(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    caller: Caller,
    rerun: Option<Extension<Rerun>>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    password::check_strength(&request.new_password)?;
    // Guesses at the current password count as failed logins: a stolen session
    // must not become a way around the login's throttle.
    let turn = password::take_turn().await?;
    let checking = app.throttle().check_turn(&caller.username, address).await;
    if let Some(seconds) = app.throttle().blocked(&caller.username, address).await? {
        return Err(too_many_attempts(seconds));
    }
    let stored = store::password_hash(app.db(), caller.user_id).await?.ok_or_else(bad_credentials)?;
    if !password::verify(&turn, request.current_password, stored.clone()).await {
        // A server that stopped after storing the new hash left only the sessions to end: this
        // same request, run again, finds its own new password there (`Rerun` comes only for the
        // request whose change is in the log and is still its user's newest).
        if rerun.is_some() && password::verify(&turn, request.new_password, stored).await {
            drop((checking, turn));
            store::delete_sessions_of(app.db(), caller.user_id).await?;
            app.sessions().forget_user(caller.user_id);
            return Ok(StatusCode::NO_CONTENT);
        }
        app.throttle().record_failure(&caller.username, address).await?;
        return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_password", "The current password is incorrect."));
    }
    let hash = password::hash(&turn, request.new_password).await?;
    drop((checking, turn));
    // The fact goes in the log (never the hash); then the credential and every session change.
    let headers = ChangeHeaders::from_headers(&headers)?;
    commands::execute::<User>(&app, &caller, caller.user_id, &headers, None, |state, ctx| {
        user::decide(state, UserCommand::ChangePassword, ctx)
    })
    .await?;
    store::set_password_hash(app.db(), caller.user_id, &hash, Utc::now()).await?;
    store::delete_sessions_of(app.db(), caller.user_id).await?;
    app.sessions().forget_user(caller.user_id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::session_cookie;

    #[test]
    fn the_session_cookie_is_http_only_same_site_strict_and_secure_when_asked() {
        assert_eq!(
            session_cookie("abc", 60, true),
            "vigie_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure"
        );
        assert_eq!(session_cookie("", 0, false), "vigie_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    }
}
