//! Who is calling: sessions from a bearer token or cookie, and the checks of role and account.

pub mod address;
pub mod announce;
pub mod cache;
pub mod password;
pub mod store;
pub mod throttle;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use chrono::Utc;
use vigie_domain::{AccountId, Actor, Role, UserId};

use crate::app::AppState;
use crate::auth::cache::CheckedSession;
use crate::error::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigie_session";

/// The logged-in user making the request, as the live model knows them now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub account_ids: Vec<AccountId>,
    /// The hash of the token that authenticated this request (for logout).
    pub token_hash: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.user_id, username: self.username.clone(), role: self.role }
    }

    /// Operators, dispatch and auditors reach every account; clients only their own.
    pub fn reaches(&self, account_id: AccountId) -> bool {
        self.role != Role::Client || self.account_ids.contains(&account_id)
    }

    /// Refuses, as 404, an account the caller may not see: a client of one
    /// account learns nothing of another's, not even that it exists.
    pub fn require_account(&self, account_id: AccountId) -> Result<(), ApiError> {
        if self.reaches(account_id) { Ok(()) } else { Err(ApiError::not_found("account")) }
    }

    pub fn require_role(&self, roles: &[Role], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("Your role ({}) cannot {action}.", self.role.as_str())))
        }
    }

    /// The schedules' details (shifts, comments, coverage, history, the directory) are for
    /// clients, operators and auditors. Dispatch asks only who is on call now, with their
    /// numbers (DOMAIN.md's roles), and the on-call answer carries those.
    pub fn require_schedule_reader(&self, action: &str) -> Result<(), ApiError> {
        self.require_role(&[Role::Client, Role::Operator, Role::Auditor], action)
    }

    /// Only clients and operators change schedules; dispatch and auditors read.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        self.require_role(&[Role::Client, Role::Operator], "change anything")
    }

    /// Messages, calls and recordings hold callers' personal data: clients read
    /// their own accounts', operators every account's. Dispatch needs only who
    /// is on call, and auditors the shift history (DOMAIN.md, "Who uses Vigie").
    pub fn require_inbox_reader(&self) -> Result<(), ApiError> {
        self.require_role(&[Role::Client, Role::Operator], "read messages, calls or recordings")
    }

    pub fn require_operator(&self, action: &str) -> Result<(), ApiError> {
        self.require_role(&[Role::Operator], action)
    }
}

/// Where a request's session token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestToken {
    /// `Authorization: Bearer …`: only a program that holds the token can send it.
    Bearer(String),
    /// The session cookie, which a browser also sends with what other pages make it send.
    Cookie(String),
}

impl RequestToken {
    pub fn value(&self) -> &str {
        match self {
            RequestToken::Bearer(token) | RequestToken::Cookie(token) => token,
        }
    }
}

/// The session token of a request: `Authorization: Bearer …`, else the session cookie.
pub fn request_token(parts: &Parts) -> Option<RequestToken> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))
    {
        return Some(RequestToken::Bearer(token.trim().to_owned()));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| RequestToken::Cookie(value.to_owned()))
}

/// Whether a browser says the request comes from another page than the portal's own. Browsers
/// send a site's cookie with what other pages make them send it (`SameSite=Strict` stops other
/// sites, not other hosts of the same site), and a plain form posts without asking first. They
/// also say where a request comes from: `Sec-Fetch-Site`, or in older ones `Origin`. A program
/// that sends neither is no browser, and nobody else's page can make it send anything.
fn from_elsewhere(parts: &Parts) -> bool {
    if let Some(site) = parts.headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = parts.headers.get(header::ORIGIN) else { return false };
    let origin_host = origin.to_str().ok().and_then(|origin| origin.split_once("://")).map(|(_, host)| host);
    // Behind a proxy the portal's host may arrive as X-Forwarded-Host.
    let hosts = [header::HOST.as_str(), "x-forwarded-host"];
    !hosts.iter().filter_map(|name| parts.headers.get(*name)?.to_str().ok()).any(|host| Some(host) == origin_host)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or_else(ApiError::unauthorized)?;
        // Whatever else the headers hold: a browser adds a proxy's `Authorization: Basic` to
        // another page's form post as readily as the cookie.
        let by_cookie = matches!(token, RequestToken::Cookie(_));
        if !parts.method.is_safe() && by_cookie && from_elsewhere(parts) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "A change sent with the session cookie must come from the portal's own pages. \
                 Other programs send the token as Authorization: Bearer.",
            ));
        }
        let token_hash = store::token_hash(token.value());
        let user_version = |user_id| state.live().read().users.version(user_id);
        let cached = state.sessions().get(&token_hash).filter(|s| s.user_version == user_version(s.user_id));
        let CheckedSession { user_id, expires_at, .. } = match cached {
            Some(session) => session,
            None => {
                let (user_id, expires_at) =
                    store::find_session(state.db(), &token_hash).await?.ok_or_else(ApiError::unauthorized)?;
                let session = CheckedSession { user_id, expires_at, user_version: user_version(user_id) };
                state.sessions().put(&token_hash, session);
                session
            }
        };
        if expires_at <= Utc::now() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_expired",
                "Your session has expired; log in again.",
            ));
        }
        let live = state.live().read();
        let user = live.users.get(user_id).and_then(|u| u.user.as_ref()).filter(|u| u.active);
        let user = user.ok_or_else(ApiError::unauthorized)?;
        Ok(Caller {
            user_id,
            username: user.username.clone(),
            role: user.role,
            account_ids: user.account_ids.clone(),
            token_hash,
        })
    }
}
