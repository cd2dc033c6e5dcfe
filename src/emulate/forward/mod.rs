//! Add-on pages through the emulator. HipChat is gone, so an add-on page
//! that loads `//www.hipchat.com/atlassian-connect/all.js` would get no
//! JavaScript API in a browser. The page therefore shows every add-on page
//! through an origin of the emulator's own, one per add-on origin:
//! `http://<name>.localhost:<port>/...` forwards to the add-on's
//! `http://host:port/...` (browsers resolve `*.localhost` to loopback by
//! themselves), and in HTML answers the one script tag of HipChat's API
//! (and its stylesheet) is pointed at the emulator's copy. Root-relative
//! URLs keep working because the add-on's root is the origin's root;
//! absolute links to the add-on's own origin are pointed at the forwarding
//! origin so its pages stay same-origin. Every document load and request
//! the page makes is recorded as an exchange (static files only when they
//! fail).

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

mod origins;
mod rewrite;

pub use origins::{Origins, forwarded_url, forwarding_origin, frame_ancestors, slug_of_host};
use rewrite::rewrite_page;

use super::server::AppState;
use crate::hipchat::host::exchange::{redact_body, redact_header, redact_url};
use crate::hipchat::host::{Direction, Exchange, ExchangeKind, Installation};
use crate::hipchat::jwt;
use crate::hipchat::modules::Kind;

/// The biggest request body forwarded to an add-on.
pub const REQUEST_LIMIT: usize = 10 * 1024 * 1024;
/// The biggest answer read from an add-on.
const ANSWER_LIMIT: usize = 32 * 1024 * 1024;
/// How long an add-on may take to answer a page request.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Headers that belong to one connection, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Serves requests whose `Host` is a forwarding name; passes every other
/// request on.
pub async fn route_by_host(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match slug_of_host(&host) {
        None => next.run(request).await,
        Some(slug) => forward(&state, slug, &host, request).await,
    }
}

fn message_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title>\
         <body style=\"font-family:sans-serif;padding:1em;color:#333\"><h3 style=\"margin-top:0\">{title}</h3><p>{}</p></body>",
        html_escape::encode_text(detail)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The installation a page request speaks for: the issuer of its JWT
/// (`signed_request`, `Authorization: JWT`, `x-acpt`), else the only
/// installation served from this origin.
fn installation_of(
    state: &AppState,
    upstream: &str,
    token: Option<&str>,
) -> (Option<Installation>, Option<jwt::Claims>) {
    let claims = token.and_then(|t| jwt::unverified_claims(t).ok());
    let installs = state.host.installations();
    if let Some(c) = &claims
        && let Some(found) = installs.iter().find(|i| i.oauth_id == c.iss)
    {
        return (Some(found.clone()), claims);
    }
    let same_origin: Vec<&Installation> = installs
        .iter()
        .filter(|i| {
            i.modules.all.iter().any(|m| {
                m.url
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .is_some_and(|u| u.origin().ascii_serialization() == upstream)
            })
        })
        .collect();
    match same_origin.as_slice() {
        [only] => (Some((*only).clone()), claims),
        _ => (None, claims),
    }
}

async fn forward(state: &AppState, slug: &str, host: &str, request: Request) -> Response {
    let Some(upstream) = state.origins.upstream(slug) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "No add-on here",
            &format!(
                "{host} forwards to an add-on page the emulator does not know (it restarted, or the add-on was uninstalled). Open the add-on again from the emulator's page, {}",
                state.chat_url
            ),
        );
    };
    // HipChat's API, on the page's own origin: what its swapped script tag loads.
    if let Some(file) = request
        .uri()
        .path()
        .strip_prefix("/atlassian-connect/")
        .and_then(super::web::hipchat_api_file)
    {
        return super::web::hipchat_api_response(file);
    }
    let started = Instant::now();
    let at_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0);
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let target = format!("{upstream}{path_and_query}");
    let proxy_origin = forwarding_origin(slug, host);
    let Ok(body) = to_bytes(body, REQUEST_LIMIT).await else {
        return message_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "the emulator forwards request bodies of at most 10 MiB",
        );
    };
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(jwt::token_from_authorization)
        .map(str::to_owned)
        .or_else(|| parts.uri.query().and_then(jwt::token_from_query))
        .or_else(|| {
            parts
                .headers
                .get("x-acpt")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    let (installation, claims) = installation_of(state, &upstream, token.as_deref());
    let destination = parts
        .headers
        .get("sec-fetch-dest")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();

    let mut outgoing = state
        .page_client
        .request(parts.method.clone(), &target)
        .timeout(TIMEOUT);
    let mut sent_headers = Vec::new();
    for (name, value) in &parts.headers {
        if HOP_BY_HOP.contains(&name.as_str()) || name == header::ACCEPT_ENCODING {
            continue;
        }
        outgoing = outgoing.header(name, value);
        sent_headers.push((
            name.to_string(),
            redact_header(name.as_str(), &String::from_utf8_lossy(value.as_bytes())),
        ));
    }
    // Plain answers, so HTML can be read and its script tag swapped.
    outgoing = outgoing
        .header(header::ACCEPT_ENCODING, "identity")
        .header("x-forwarded-host", host)
        .header("x-forwarded-proto", "http");
    if !body.is_empty() {
        outgoing = outgoing.body(body.clone());
    }
    let kind = kind_of(installation.as_ref(), &target);
    let mut exchange = Exchange {
        id: 0,
        at_ms,
        direction: Direction::ToAddOn,
        kind,
        oauth_id: installation.as_ref().map(|i| i.oauth_id.clone()),
        method: parts.method.to_string(),
        url: redact_url(&target),
        request_headers: sent_headers,
        request_body: redact_body(&body),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        duration_ms: 0,
        error: None,
        jwt_claims: claims,
        note: Some(format!("through {proxy_origin}")),
    };
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(e) => {
            let reason = crate::hipchat::host::exchange::describe(&e);
            exchange.error = Some(reason.clone());
            exchange.duration_ms = elapsed_ms(started);
            state.host.record_exchange(exchange);
            state.health.failed(installation.as_ref(), &reason);
            return message_page(
                StatusCode::BAD_GATEWAY,
                "The add-on does not answer",
                &format!("{target}: {reason}. Is the add-on running?"),
            );
        }
    };
    let status = answer.status();
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    if let Some(location) = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.strip_prefix(&upstream))
        .map(|rest| format!("{proxy_origin}{rest}"))
        && let Ok(value) = HeaderValue::from_str(&location)
    {
        headers.insert(header::LOCATION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&frame_ancestors(state, host)) {
        // Beside any policy of the add-on's own: both apply.
        headers.append(header::CONTENT_SECURITY_POLICY, value);
    }
    let body = match read_limited(answer).await {
        Ok(body) => body,
        Err(reason) => {
            exchange.error = Some(reason.clone());
            exchange.status = Some(status.as_u16());
            exchange.duration_ms = elapsed_ms(started);
            state.host.record_exchange(exchange);
            return message_page(
                StatusCode::BAD_GATEWAY,
                "The add-on's answer broke off",
                &reason,
            );
        }
    };
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let encoded = headers.contains_key(header::CONTENT_ENCODING);
    let body = if is_html && !encoded {
        match rewrite_page(&body, &upstream, &proxy_origin) {
            Ok(rewritten) => rewritten,
            Err(reason) => {
                exchange.note = Some(format!(
                    "through {proxy_origin}; the page was passed on unchanged: {reason}"
                ));
                body
            }
        }
    } else {
        if is_html {
            exchange.note = Some(format!(
                "through {proxy_origin}; the page came compressed despite Accept-Encoding: identity, so its HipChat script tag was not swapped"
            ));
        }
        body
    };
    exchange.status = Some(status.as_u16());
    exchange.response_headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                redact_header(k.as_str(), &String::from_utf8_lossy(v.as_bytes())),
            )
        })
        .collect();
    exchange.response_body =
        if is_html || !matches!(destination.as_str(), "script" | "style" | "image" | "font") {
            redact_body(&body)
        } else {
            String::new()
        };
    exchange.duration_ms = elapsed_ms(started);
    let failed = status.is_client_error() || status.is_server_error();
    if failed {
        exchange.error = Some(format!("the add-on answered HTTP {}", status.as_u16()));
    }
    // Static files are recorded only when they fail: a page loads many.
    let static_file = matches!(
        destination.as_str(),
        "script" | "style" | "image" | "font" | "manifest"
    );
    if !static_file || failed {
        state.host.record_exchange(exchange);
    }
    if status.is_server_error() {
        state.health.failed(
            installation.as_ref(),
            &format!("answered HTTP {}", status.as_u16()),
        );
    } else {
        state.health.answered(installation.as_ref());
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn read_limited(mut answer: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > ANSWER_LIMIT {
                    return Err(format!(
                        "the answer is over {} MiB, the most the emulator forwards",
                        ANSWER_LIMIT / 1024 / 1024
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(crate::hipchat::host::exchange::describe(&e)),
        }
    }
}

/// A glance's `queryUrl` is a glance exchange; everything else a page one.
fn kind_of(installation: Option<&Installation>, target: &str) -> ExchangeKind {
    let path = |u: &str| url::Url::parse(u).ok().map(|u| u.path().to_owned());
    let target_path = path(target);
    let is_glance = installation.is_some_and(|i| {
        i.modules
            .of(Kind::Glance)
            .iter()
            .any(|g| g.url.as_deref().and_then(path) == target_path)
    });
    if is_glance {
        ExchangeKind::Glance
    } else {
        ExchangeKind::Page
    }
}
