//! The host's HTTP API (what add-ons call): capabilities, OAuth2 token, and
//! the REST v2 room calls, with HipChat's auth, limits and error envelope.

mod glances;
mod messages;
mod oauth;
mod people;
mod record;
mod rooms;
mod webhooks;

pub(crate) use rooms::room_details;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

use super::limits::Quota;
use super::state::Shared;
use crate::hipchat::jwt::unix_now;
use crate::hipchat::notification::ErrorEnvelope;

/// Every route under `/v2`, recorded as exchanges. No fallback is set, so
/// the router can be merged into a larger one.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/capabilities", get(oauth::capabilities))
        .route("/v2/oauth/token", post(oauth::token))
        .route("/v2/room/{room}", get(rooms::get_room))
        .route("/v2/room/{room}/notification", post(rooms::notify))
        .route(
            "/v2/room/{room}/webhook",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/v2/room/{room}/webhook/{id}", delete(webhooks::remove))
        .route("/v2/room/{room}/participant", get(people::participants))
        .route("/v2/room/{room}/member", get(people::members))
        .route("/v2/room/{room}/topic", put(people::topic))
        .route("/v2/room/{room}/message", post(messages::send))
        .route("/v2/room/{room}/reply", post(messages::reply))
        .route(
            "/v2/room/{room}/share/link",
            post(messages::share_link).put(messages::share_link),
        )
        .route("/v2/room/{room}/history", get(messages::history))
        .route("/v2/room/{room}/history/latest", get(messages::latest))
        .route("/v2/user", get(people::users))
        .route("/v2/user/{user}", get(people::user))
        .route("/v2/user/{user}/message", post(messages::private))
        .route("/v2/addon/ui", post(glances::group))
        .route("/v2/addon/ui/room/{room}", post(glances::room))
        .route("/v2/addon/ui/user/{user}", post(glances::user))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            record::record,
        ))
        .with_state(shared)
}

/// HipChat's error envelope with the given status.
pub(crate) fn envelope(status: StatusCode, message: impl Into<String>) -> Response {
    let body = ErrorEnvelope::new(status.as_u16(), message);
    (status, axum::Json(body)).into_response()
}

fn set(headers: &mut HeaderMap, name: &'static str, value: u64) {
    headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
}

/// Adds `X-Ratelimit-Limit/Remaining/Reset` for the token's quota.
pub(crate) fn with_rate_headers(mut response: Response, quota: &Quota) -> Response {
    let headers = response.headers_mut();
    set(headers, "x-ratelimit-limit", u64::from(quota.limit));
    set(headers, "x-ratelimit-remaining", u64::from(quota.remaining));
    set(headers, "x-ratelimit-reset", quota.reset);
    response
}

/// Adds `X-FloodControl-Limit/Remaining/Reset` for the room's quota.
pub(crate) fn with_flood_headers(mut response: Response, quota: &Quota) -> Response {
    let headers = response.headers_mut();
    set(headers, "x-floodcontrol-limit", u64::from(quota.limit));
    set(
        headers,
        "x-floodcontrol-remaining",
        u64::from(quota.remaining),
    );
    set(headers, "x-floodcontrol-reset", quota.reset);
    response
}

/// A 429 with `Retry-After`.
pub(crate) fn too_many(message: &str, retry_after: u64) -> Response {
    let mut response = envelope(StatusCode::TOO_MANY_REQUESTS, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// The access token of a REST call: `?auth_token=` or `Authorization: Bearer`.
pub(crate) fn access_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, v)| k == "auth_token" && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
    })
}

/// Why a REST call is refused; becomes HipChat's error envelope.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 400: the body is wrong.
    BadRequest(String),
    /// 401: no token, or a bad, expired or revoked one.
    Unauthorized(String),
    /// 403: missing scope, or a room the add-on is not installed in.
    Forbidden(String),
    /// 404: no such room or webhook.
    NotFound(String),
    /// 429: over a limit.
    TooMany {
        /// What limit.
        message: String,
        /// Seconds before a retry may succeed.
        retry_after: u64,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::BadRequest(m) => envelope(StatusCode::BAD_REQUEST, m),
            Refusal::Unauthorized(m) => envelope(StatusCode::UNAUTHORIZED, m),
            Refusal::Forbidden(m) => envelope(StatusCode::FORBIDDEN, m),
            Refusal::NotFound(m) => envelope(StatusCode::NOT_FOUND, m),
            Refusal::TooMany {
                message,
                retry_after,
            } => too_many(&message, retry_after),
        }
    }
}

/// A refusal that still carries the token's rate-limit headers.
pub(crate) struct Limited(pub(crate) Refusal, pub(crate) Option<Quota>);

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let response = self.0.into_response();
        match &self.1 {
            Some(quota) => with_rate_headers(response, quota),
            None => response,
        }
    }
}

impl From<Refusal> for Limited {
    fn from(refusal: Refusal) -> Self {
        Limited(refusal, None)
    }
}

/// A REST caller whose token checked out.
pub(crate) struct Caller {
    pub(crate) oauth_id: String,
    pub(crate) quota: Quota,
}

impl Caller {
    /// `204 No Content` with this caller's rate-limit headers.
    pub(crate) fn no_content(&self) -> Response {
        with_rate_headers(StatusCode::NO_CONTENT.into_response(), &self.quota)
    }

    /// Attaches this caller's rate-limit headers to a refusal.
    pub(crate) fn refuse(&self, refusal: Refusal) -> Limited {
        Limited(refusal, Some(self.quota))
    }
}

/// Authenticates a REST call on `room`, counts it against the token's
/// limit, and checks that the token has one of `scopes` and may act in the
/// room.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    query: Option<&str>,
    scopes: &[&str],
    room: u64,
) -> Result<Caller, Limited> {
    let (caller, home) = authorize_group(shared, headers, query, scopes)?;
    if !shared.lock().rooms.contains_key(&room) {
        return Err(caller.refuse(Refusal::NotFound(format!("Room {room} not found"))));
    }
    if let Some(home) = home.filter(|home| *home != room) {
        return Err(caller.refuse(Refusal::Forbidden(format!(
            "This add-on is installed in room {home} only and cannot act in room {room}"
        ))));
    }
    Ok(caller)
}

/// Authenticates a REST call that concerns no one room (users, the group),
/// counts it, and checks the scopes; also returns the room of a room
/// install.
pub(crate) fn authorize_group(
    shared: &Shared,
    headers: &HeaderMap,
    query: Option<&str>,
    scopes: &[&str],
) -> Result<(Caller, Option<u64>), Limited> {
    let Some(token) = access_token(headers, query) else {
        return Err(Refusal::Unauthorized(
            "Authentication required: send an access token as ?auth_token= or Authorization: Bearer"
                .into(),
        )
        .into());
    };
    let invalid = || Limited::from(Refusal::Unauthorized("Invalid OAuth session".into()));
    let now = unix_now();
    let mut inner = shared.lock();
    let grant = inner.grants.get(&token).cloned().ok_or_else(invalid)?;
    if grant.expires_at <= now {
        inner.grants.remove(&token);
        return Err(Refusal::Unauthorized("OAuth token expired".into()).into());
    }
    let credential = inner
        .credentials
        .get(&grant.oauth_id)
        .filter(|c| !c.revoked)
        .cloned()
        .ok_or_else(invalid)?;
    let limits = shared.options.limits;
    let too_many = |quota: Quota| {
        let retry_after = quota.retry_after(now);
        Limited(
            Refusal::TooMany {
                message: "Rate limit exceeded".into(),
                retry_after,
            },
            Some(quota),
        )
    };
    if inner.limiter.take_forced() {
        return Err(too_many(Quota {
            limit: limits.requests_per_token,
            remaining: 0,
            reset: now + limits.forced_retry_after.as_secs().max(1),
            exceeded: true,
        }));
    }
    let quota = inner.limiter.token_request(&limits, &token, now);
    if quota.exceeded {
        return Err(too_many(quota));
    }
    let caller = Caller {
        oauth_id: grant.oauth_id,
        quota,
    };
    if !scopes.iter().any(|s| grant.scopes.iter().any(|g| g == s)) {
        return Err(caller.refuse(Refusal::Forbidden(format!(
            "This endpoint requires one of the scopes: {}",
            scopes.join(", ")
        ))));
    }
    Ok((caller, credential.room_id))
}

/// A JSON body, or a 400 naming what is wrong with it.
pub(crate) fn json_body(caller: &Caller, body: &[u8]) -> Result<serde_json::Value, Limited> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(caller.refuse(Refusal::BadRequest(
            "The request body must be a JSON object".into(),
        ))),
        Err(e) => Err(caller.refuse(Refusal::BadRequest(format!(
            "The request body is not valid JSON: {e}"
        )))),
    }
}

/// The `start-index` and `max-results` of a paged call (HipChat's
/// defaults: 0 and `default_max`, at most 1000).
pub(crate) fn paging(
    caller: &Caller,
    query: Option<&str>,
    default_max: usize,
) -> Result<(usize, usize), Limited> {
    let mut start = 0;
    let mut max = default_max;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match key.as_ref() {
            "start-index" => &mut start,
            "max-results" => &mut max,
            _ => continue,
        };
        *slot = value.parse().map_err(|_| {
            caller.refuse(Refusal::BadRequest(format!(
                "{key} must be a whole number, not {value:?}"
            )))
        })?;
    }
    if max > 1000 {
        return Err(caller.refuse(Refusal::BadRequest(format!(
            "max-results is {max}; at most 1000"
        ))));
    }
    Ok((start, max))
}

/// One query parameter.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Parses a `{room}` path segment; HipChat answered 404 for unknown rooms.
pub(crate) fn room_id(raw: &str) -> Result<u64, Limited> {
    raw.parse()
        .map_err(|_| Refusal::NotFound(format!("Room {raw:?} not found")).into())
}
