//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers themselves.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::SESSION_COOKIE;

/// The document's fixed parts; `routes::api_router` adds every path to it.
#[derive(OpenApi)]
#[openapi(
    info(title = "Vigie", description = "On-call schedules, dispatch and the message inbox of an answering service."),
    components(schemas(ProblemDetails), responses(Problem)),
    modifiers(&Security),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "session", description = "Logging in and out, and one's own account."),
        (name = "schedules", description = "Reading schedules, their shifts, coverage and history."),
        (name = "changes", description = "Changing who is on call."),
        (name = "dispatch", description = "Who to call now."),
        (name = "administration", description = "Operators' management of accounts, users, contacts and schedules."),
        (name = "export", description = "PDF exports and calendar feeds."),
        (name = "inbox", description = "Messages taken for clients, and the call log with its recordings."),
        (name = "events", description = "The event feed and live changes."),
        (name = "operations", description = "Health, metrics and this document."),
    )
)]
pub struct ApiDoc;

/// Every error is answered this way, as `application/problem+json` (RFC 9457).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only describes the JSON that `ApiError` writes.
pub struct ProblemDetails {
    /// `/problems/<code>`, a stable machine-readable code.
    r#type: String,
    /// The HTTP status's reason phrase.
    title: String,
    /// The HTTP status code.
    status: u16,
    /// What went wrong, for a person.
    detail: String,
}

// `vigie_domain::contact::ContactDetails` as requests send it: the domain crate stays free of
// OpenAPI and of the API's strictness about unknown fields (its type is also stored in events),
// so requests are read into this mirror, and the schema keeps the domain's name.
/// A contact's details, in full.
#[derive(Debug, ToSchema, serde::Deserialize)]
#[schema(as = ContactDetails)]
#[serde(deny_unknown_fields)]
pub struct ContactDetailsSchema {
    name: String,
    /// At most three.
    #[serde(default)]
    phones: Vec<String>,
    sms: Option<String>,
    email: Option<String>,
    notes: Option<String>,
}

impl From<ContactDetailsSchema> for vigie_domain::contact::ContactDetails {
    fn from(body: ContactDetailsSchema) -> Self {
        let ContactDetailsSchema { name, phones, sms, email, notes } = body;
        Self { name, phones, sms, email, notes }
    }
}

// The domain's closed sets of words as the document names them, so that clients (and fuzzers)
// know every value the API takes. Each mirrors its domain type, as its `From` proves: a variant
// added there stops the build until it is added here.

/// What a user may do: `client` (a client company's user), `operator` (the answering service's
/// team), `dispatcher` (reads who is on call) or `auditor` (replays history).
#[derive(Debug, ToSchema, serde::Serialize)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
pub enum RoleSchema {
    Client,
    Operator,
    Dispatcher,
    Auditor,
}

impl From<vigie_domain::Role> for RoleSchema {
    fn from(role: vigie_domain::Role) -> Self {
        use vigie_domain::Role;
        match role {
            Role::Client => Self::Client,
            Role::Operator => Self::Operator,
            Role::Dispatcher => Self::Dispatcher,
            Role::Auditor => Self::Auditor,
        }
    }
}

/// `voice`: a recorded conversation; `details`: a transaction without one (an e-mail handled…).
#[derive(Debug, ToSchema, serde::Serialize)]
#[schema(as = CallKind)]
#[serde(rename_all = "snake_case")]
pub enum CallKindSchema {
    Details,
    Voice,
}

impl From<vigie_domain::calls::CallKind> for CallKindSchema {
    fn from(kind: vigie_domain::calls::CallKind) -> Self {
        use vigie_domain::calls::CallKind;
        match kind {
            CallKind::Details => Self::Details,
            CallKind::Voice => Self::Voice,
        }
    }
}

/// A day's colour in the coverage calendar.
#[derive(Debug, ToSchema, serde::Serialize)]
#[schema(as = Coverage)]
#[serde(rename_all = "snake_case")]
pub enum CoverageSchema {
    Full,
    Partial,
    None,
}

impl From<vigie_domain::schedule::Coverage> for CoverageSchema {
    fn from(coverage: vigie_domain::schedule::Coverage) -> Self {
        use vigie_domain::schedule::Coverage;
        match coverage {
            Coverage::Full => Self::Full,
            Coverage::Partial => Self::Partial,
            Coverage::None => Self::None,
        }
    }
}

/// The shared response of every error status, so each route lists its statuses in one line each.
#[derive(Debug)]
pub struct Problem;

impl<'s> utoipa::ToResponse<'s> for Problem {
    fn response() -> (&'s str, RefOr<Response>) {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails"))).build();
        let response = ResponseBuilder::new()
            .description("The request was refused; the problem says why.")
            .content("application/problem+json", content)
            .build();
        ("Problem", response.into())
    }
}

/// The headers every change accepts, for a route's `params(...)`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only describes the headers that `ChangeHeaders` reads.
pub struct ChangeHeaderParams {
    /// A repeat with the same key does nothing new and gets the first answer.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200)]
    idempotency_key: Option<String>,
    /// `"<version>"`: refuse with 412 if the aggregate moved on.
    #[param(rename = "If-Match")]
    if_match: Option<String>,
}

/// The query parameter of every read of the views, for a route's `params(...)`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only describes the parameter that the views' reads take.
pub struct MinPositionParam {
    /// Answer only once this node has applied this log position (503 otherwise).
    min_position: Option<u64>,
}

/// The refusals every change may answer with, for a route's `responses(...)`.
#[derive(Debug)]
pub struct ChangeProblems;

impl IntoResponses for ChangeProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        // 408, 413 and 415 for the body, 503 when the database is out of reach.
        problems(&[400, 401, 403, 404, 408, 409, 412, 413, 415, 422, 503])
    }
}

/// The refusals of a read of the views, which answer 503 while they catch up.
#[derive(Debug)]
pub struct ViewProblems;

impl IntoResponses for ViewProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problems(&[400, 401, 403, 404, 503])
    }
}

/// Each status answered with the shared `Problem` response.
fn problems(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses.iter().map(|status| (status.to_string(), RefOr::Ref(Ref::from_response_name("Problem")))).collect()
}

/// A session token as a bearer token, or the browser's session cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

/// The document is built once: it depends only on the code.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut openapi = super::api_router().split_for_parts().1;
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    openapi.to_json().expect("the OpenAPI document serializes")
});

/// Each (method, path template) the router serves: the document's operations,
/// since `routes!` registers a handler and its description from one attribute.
static OPERATIONS: LazyLock<std::collections::HashSet<(String, String)>> = LazyLock::new(|| {
    let document: serde_json::Value = serde_json::from_str(&DOCUMENT).expect("the document is JSON");
    let paths = document["paths"].as_object().into_iter().flatten();
    paths
        .flat_map(|(path, item)| {
            let methods = item.as_object().into_iter().flat_map(|item| item.keys());
            methods.map(move |method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect()
});

/// Whether the route at `path` (a template, as `MatchedPath` gives it) takes `method`.
pub fn serves(method: &axum::http::Method, path: &str) -> bool {
    OPERATIONS.contains(&(method.as_str().to_owned(), path.to_owned()))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = serde_json::Value)))]
async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

#[cfg(test)]
mod tests {
    use vigie_domain::Role;
    use vigie_domain::calls::CallKind;
    use vigie_domain::schedule::Coverage;

    use super::{CallKindSchema, CoverageSchema, RoleSchema};

    /// The document's words are the ones the API reads and writes.
    #[test]
    fn each_closed_set_is_written_as_the_domain_writes_it() {
        fn same<D: serde::Serialize + Copy, S: serde::Serialize + From<D>>(values: &[D]) {
            for &value in values {
                assert_eq!(serde_json::to_value(value).unwrap(), serde_json::to_value(S::from(value)).unwrap());
            }
        }
        same::<_, RoleSchema>(&[Role::Client, Role::Operator, Role::Dispatcher, Role::Auditor]);
        same::<_, CallKindSchema>(&[CallKind::Details, CallKind::Voice]);
        same::<_, CoverageSchema>(&[Coverage::Full, Coverage::Partial, Coverage::None]);
    }
}
