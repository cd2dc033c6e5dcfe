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
    /// The figures `/metrics` serves.
    pub metrics: crate::serve::metrics::Metrics,
    /// Who may read `/metrics` on this port.
    pub metrics_access: MetricsAccess,
    /// The key of the 2015 stack's cached tokens: the scopes joined by `|`.
    pub legacy_token_key: String,
    /// When takeover notes were last logged, per installation.
    pub takeover_notes: super::takeover::Attempts,
}

/// Who may read `/metrics` on the add-on's own port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone who reaches the port (development, on loopback).
    Open,
    /// Requests with `Authorization: Bearer <token>` (`CONNECT_METRICS_TOKEN`).
    Token(String),
    /// Nobody (production without a token; `--metrics-listen` or `--no-metrics`).
    Closed,
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

    /// The metrics' path.
    pub fn metrics(&self) -> String {
        format!("{}/metrics", self.base_path)
    }
}

/// Which figure a request counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counted {
    Webhook,
    Install,
    Uninstall,
}

/// The paths whose answers are counted.
#[derive(Clone, Debug)]
struct CountedPaths {
    callback: String,
    webhooks: Vec<String>,
}

impl CountedPaths {
    fn of(&self, method: &axum::http::Method, path: &str) -> Option<Counted> {
        use axum::http::Method;
        if *method == Method::POST && self.webhooks.iter().any(|w| w == path) {
            Some(Counted::Webhook)
        } else if *method == Method::POST && path == self.callback {
            Some(Counted::Install)
        } else if *method == Method::DELETE
            && path
                .strip_prefix(self.callback.as_str())
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
        {
            Some(Counted::Uninstall)
        } else {
            None
        }
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
    router = router.route(&routes.metrics(), get(metrics));
    for hook in &routes.webhooks {
        let hook = Arc::new(hook.clone());
        router = router.route(
            &hook.path.clone(),
            post(move |state, headers, uri, body| {
                webhook::room_message(state, hook.clone(), headers, uri, body)
            }),
        );
    }
    let counted = Arc::new(CountedPaths {
        callback: routes.callback.clone(),
        webhooks: routes.webhooks.iter().map(|w| w.path.clone()).collect(),
    });
    let counting = state.clone();
    router
        .fallback(not_found)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let (state, counted) = (counting.clone(), counted.clone());
            async move { count(&state, &counted, request, next).await }
        }))
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

/// Counts webhooks, installs and uninstalls by the status they got, and a
/// webhook's time from head to answer.
async fn count(app: &AppState, counted: &CountedPaths, request: Request, next: Next) -> Response {
    if !app.metrics.is_enabled() {
        return next.run(request).await;
    }
    let kind = counted.of(request.method(), request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    match kind {
        Some(Counted::Webhook) => app.metrics.webhook(status, started.elapsed()),
        Some(Counted::Install) => app.metrics.install(status),
        Some(Counted::Uninstall) => app.metrics.uninstall(status),
        None => {}
    }
    response
}

/// `GET /metrics`: the figures, to whoever may read them here.
async fn metrics(State(app): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let allowed = match &app.metrics_access {
        MetricsAccess::Open => true,
        MetricsAccess::Token(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes())),
        MetricsAccess::Closed => false,
    };
    if let MetricsAccess::Token(_) = &app.metrics_access
        && !allowed
    {
        let body = crate::hipchat::notification::ErrorEnvelope::new(
            401,
            "metrics need Authorization: Bearer <the CONNECT_METRICS_TOKEN value>",
        );
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if !allowed {
        return not_found().await;
    }
    render_metrics(&app).await
}

/// The router of `--metrics-listen`: `/metrics` only, to anyone who reaches
/// that address, behind the same `Host` check.
pub fn metrics_router(state: Shared, guard: Guard) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(app): State<Shared>| async move { render_metrics(&app).await }),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(guard, crate::net::guarded))
        .with_state(state)
}

async fn render_metrics(app: &AppState) -> Response {
    if !app.metrics.is_enabled() {
        return not_found().await;
    }
    if app.metrics.tenants_due()
        && let Ok(Ok(n)) = tokio::time::timeout(
            Duration::from_millis(500),
            super::store::TenantStore::count_tenants(&app.store),
        )
        .await
    {
        app.metrics.set_tenants(n);
    }
    match app.metrics.render() {
        Some(text) => (
            [(header::CONTENT_TYPE, crate::serve::metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        None => not_found().await,
    }
}

/// Compares two secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
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
