//! The HTTP layer: shared state, the router (every path under the base
//! path of localBaseUrl), the 1 MiB body limit and the request log.
//! Handlers are thin; the work happens in install/uninstall/webhook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use regex::Regex;

use super::health;
use super::hipchat_client::HostClient;
use super::reply::Replies;
use super::search::Search;
use super::store::Store;
use super::tenants::TenantCache;
use super::tokens::Tokens;
use super::{install, uninstall, webhook};
use crate::config::HostWhitelist;
use crate::hipchat::descriptor::Descriptor;
use crate::net::Guard;
use crate::net::body::BodyLimits;

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT: usize = 1 << 20;

/// Everything a request may need, built once at startup.
#[derive(Debug)]
pub struct AppState {
    /// The descriptor with the base URL substituted, as served.
    pub descriptor_json: String,
    /// The same, parsed.
    pub descriptor: Descriptor,
    /// The scopes the add-on asks tokens for, space-separated.
    pub scope: String,
    /// Tenants and tokens.
    pub store: Store,
    /// Calls to HipChat hosts.
    pub host: HostClient,
    /// The access-token cache.
    pub tokens: Tokens,
    /// Recently read tenants, for the webhook path.
    pub tenants: TenantCache,
    /// The blog search.
    pub search: Search,
    /// The room reply templates.
    pub replies: Replies,
    /// Hosts allowed to serve capabilities documents.
    pub whitelist: HostWhitelist,
    /// Whether the whitelist is checked before any fetch.
    pub enforce_whitelist: bool,
    /// Oldest accepted JWT `iat`.
    pub max_token_age: Duration,
    /// How many hits a reply lists.
    pub max_results_displayed: usize,
}

/// The state handlers share.
pub type Shared = Arc<AppState>;

/// A room_message webhook route: where it is served and what it answers to.
#[derive(Clone, Debug)]
pub struct WebhookRoute {
    /// The path it is served at.
    pub path: String,
    /// The descriptor's `pattern`, if any.
    pub pattern: Option<Regex>,
}

/// The paths served, derived from the base path and the descriptor.
#[derive(Clone, Debug)]
pub struct Routes {
    /// The path prefix (`""` or `/prefix`).
    pub base_path: String,
    /// Where installs are POSTed (uninstalls DELETE `{callback}/{oauthId}`).
    pub callback: String,
    /// The webhooks.
    pub webhooks: Vec<WebhookRoute>,
}

impl Routes {
    /// The descriptor's path.
    pub fn descriptor(&self) -> String {
        format!("{}/atlassian-connect.json", self.base_path)
    }

    /// The health check's path.
    pub fn health(&self) -> String {
        format!("{}/healthz", self.base_path)
    }
}

/// Builds the router. Every request passes `guard` (its `Host`, and for
/// installs, uninstalls and webhooks no other origin and a JSON body)
/// before its body is read within `limits`.
pub fn router(state: Shared, routes: &Routes, guard: Guard, limits: BodyLimits) -> Router {
    let descriptor_path = routes.descriptor();
    let mut router = Router::new()
        .route(&descriptor_path, get(descriptor))
        .route(&routes.health(), get(health::healthz))
        .route(&routes.callback, post(install::install))
        .route(
            &format!("{}/{{oauth_id}}", routes.callback),
            delete(uninstall::uninstall),
        );
    let home = if routes.base_path.is_empty() {
        "/".to_string()
    } else {
        routes.base_path.clone()
    };
    let to_descriptor = move || {
        let target = descriptor_path.clone();
        async move { Redirect::to(&target) }
    };
    router = router.route(&home, get(to_descriptor.clone()));
    if !routes.base_path.is_empty() {
        router = router.route(&format!("{}/", routes.base_path), get(to_descriptor));
    }
    for hook in &routes.webhooks {
        let hook = Arc::new(hook.clone());
        router = router.route(
            &hook.path.clone(),
            post(move |state, headers, uri, body| {
                webhook::room_message(state, hook.clone(), headers, uri, body)
            }),
        );
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            limits,
            crate::net::body::bounded,
        ))
        .layer(middleware::from_fn_with_state(guard, crate::net::guarded))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn descriptor(State(app): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.descriptor_json.clone(),
    )
        .into_response()
}

async fn not_found() -> Response {
    let body = crate::hipchat::notification::ErrorEnvelope::new(404, "no such route");
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// The `User-Agent` of `connect dev`'s readiness probe, whose requests are
/// logged at debug level only (one at every restart would be noise).
pub const PROBE_AGENT: &str = "connect-dev-probe";

/// One line per request: method, path (never the query string: it may hold
/// a JWT), status and latency.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let probe = request
        .headers()
        .get(header::USER_AGENT)
        .is_some_and(|v| v.as_bytes() == PROBE_AGENT.as_bytes());
    let response = next.run(request).await;
    let (status, latency_us) = (
        response.status().as_u16(),
        started.elapsed().as_micros() as u64,
    );
    if probe {
        tracing::debug!(method = %method, path = %path, status, latency_us, "request");
    } else {
        tracing::info!(method = %method, path = %path, status, latency_us, "request");
    }
    response
}
