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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

/// Forwarding names and the add-on origins behind them.
#[derive(Debug, Default, Clone)]
pub struct Origins {
    inner: Arc<Mutex<HashMap<String, String>>>,
}

impl Origins {
    /// The name for `upstream`'s origin (given once, kept for the
    /// emulator's life): from the add-on key, made a DNS label.
    pub fn register(&self, key: &str, upstream: &url::Url) -> String {
        let origin = upstream.origin().ascii_serialization();
        let mut slugs = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((slug, _)) = slugs.iter().find(|(_, o)| **o == origin) {
            return slug.clone();
        }
        let base = label_of(key);
        let mut slug = base.clone();
        let mut n = 2;
        while slugs.contains_key(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        slugs.insert(slug.clone(), origin);
        slug
    }

    /// The add-on origin behind a name.
    pub fn upstream(&self, slug: &str) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .cloned()
    }
}

/// `com.example.Blog_Search` -> `com-example-blog-search` (at most 50
/// characters, never empty).
pub fn label_of(key: &str) -> String {
    let mut label = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') && !label.is_empty() {
            label.push('-');
        }
    }
    let label: String = label.trim_end_matches('-').chars().take(50).collect();
    let label = label.trim_end_matches('-').to_owned();
    if label.is_empty() {
        "addon".to_owned()
    } else {
        label
    }
}

/// The forwarding name in a `Host` header (`name.localhost:8080`).
pub fn slug_of_host(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let label = name.strip_suffix(".localhost")?;
    (!label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then_some(label)
}

/// The origin browsers use for a forwarding name, on the port the page
/// was reached at (`request_host` is the page request's `Host`).
pub fn forwarding_origin(slug: &str, request_host: &str) -> String {
    match request_host.rsplit_once(':') {
        Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
            format!("http://{slug}.localhost:{port}")
        }
        _ => format!("http://{slug}.localhost"),
    }
}

/// `url` of the add-on, as reached through the forwarding origin.
pub fn forwarded_url(url: &url::Url, origin: &str) -> String {
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    format!("{origin}{path}")
}

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

/// The policy that lets only the emulator's page (on the port the
/// forwarding origin was reached at) and the add-on's own pages frame an
/// add-on page.
pub fn frame_ancestors(state: &AppState, request_host: &str) -> String {
    let port = request_host
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(String::new(), |(_, p)| format!(":{p}"));
    // CSP has no way to write an IPv6 address: a page opened at [::1]
    // cannot frame add-on pages.
    let mut sources = vec!["'self'".to_owned()];
    for name in ["localhost", "127.0.0.1"] {
        sources.push(format!("http://{name}{port}"));
    }
    if let Ok(chat) = url::Url::parse(&state.chat_url)
        && !matches!(chat.host(), Some(url::Host::Ipv6(_)))
    {
        sources.push(chat.origin().ascii_serialization());
    }
    for name in state.hosts.names() {
        if name.parse::<std::net::IpAddr>().is_err() || name.parse::<std::net::Ipv4Addr>().is_ok() {
            sources.push(format!("http://{name}{port}"));
        }
    }
    sources.dedup();
    format!("frame-ancestors {}", sources.join(" "))
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

/// Whether `src` is HipChat's API script or stylesheet; gives the file name
/// (`all.js`, `all-debug.js`, `all.css`, `all-debug.css`).
pub fn hipchat_asset(src: &str) -> Option<&'static str> {
    let base = url::Url::parse("http://page.invalid/").ok()?;
    let url = base.join(src.trim()).ok()?;
    let host = url.host_str()?;
    if !(host == "hipchat.com" || host.ends_with(".hipchat.com")) {
        return None;
    }
    match url.path() {
        "/atlassian-connect/all.js" => Some("all.js"),
        "/atlassian-connect/all-debug.js" => Some("all-debug.js"),
        "/atlassian-connect/all.css" => Some("all.css"),
        "/atlassian-connect/all-debug.css" => Some("all-debug.css"),
        _ => None,
    }
}

/// Points HipChat's script and stylesheet at the emulator's copies (served
/// on the forwarding origin itself) and the add-on's absolute links at the
/// forwarding origin.
pub fn rewrite_page(html: &[u8], upstream: &str, proxy_origin: &str) -> Result<Vec<u8>, String> {
    let swap = |value: &str| -> Option<String> {
        if let Some(file) = hipchat_asset(value) {
            return Some(format!("{proxy_origin}/atlassian-connect/{file}"));
        }
        let rest = value.strip_prefix(upstream)?;
        (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            .then(|| format!("{proxy_origin}{rest}"))
    };
    let attribute = |name: &'static str| {
        move |el: &mut lol_html::html_content::Element<'_, '_, _>| {
            if let Some(value) = el.get_attribute(name)
                && let Some(new) = swap(&value)
            {
                el.set_attribute(name, &new)?;
            }
            Ok(())
        }
    };
    let mut settings = lol_html::Settings::new()
        .with_strict(false)
        .with_enable_esi_tags(false)
        .with_adjust_charset_on_meta_tag(true);
    for (selector, name) in [
        ("script[src]", "src"),
        ("link[href]", "href"),
        ("a[href]", "href"),
        ("img[src]", "src"),
        ("iframe[src]", "src"),
        ("form[action]", "action"),
    ] {
        settings =
            settings.append_element_content_handler(lol_html::element!(selector, attribute(name)));
    }
    let mut out = Vec::with_capacity(html.len() + 64);
    let mut rewriter =
        lol_html::HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
    rewriter.write(html).map_err(|e| e.to_string())?;
    rewriter.end().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_add_on_keys_and_stay_dns_labels() {
        assert_eq!(
            label_of("com.example.Blog_Search"),
            "com-example-blog-search"
        );
        assert_eq!(label_of("..."), "addon");
        assert_eq!(label_of(&"x".repeat(80)).len(), 50);
        let origins = Origins::default();
        let a = url::Url::parse("http://127.0.0.1:3000/sidebar").expect("a URL");
        let b = url::Url::parse("http://127.0.0.1:4000/sidebar").expect("a URL");
        assert_eq!(origins.register("com.example.a", &a), "com-example-a");
        assert_eq!(
            origins.register("com.example.a", &a),
            "com-example-a",
            "one name per origin"
        );
        assert_eq!(origins.register("com.example.a", &b), "com-example-a-2");
        assert_eq!(
            origins.upstream("com-example-a-2").as_deref(),
            Some("http://127.0.0.1:4000")
        );
    }

    #[test]
    fn forwarding_names_are_read_from_the_host_header() {
        assert_eq!(
            slug_of_host("com-example-a.localhost:8080"),
            Some("com-example-a")
        );
        assert_eq!(
            slug_of_host("com-example-a.localhost"),
            Some("com-example-a")
        );
        assert_eq!(slug_of_host("localhost:8080"), None);
        assert_eq!(slug_of_host("127.0.0.1:8080"), None);
        assert_eq!(slug_of_host("a.b.localhost:8080"), None);
        assert_eq!(
            forwarding_origin("x", "127.0.0.1:8080"),
            "http://x.localhost:8080"
        );
        let url =
            url::Url::parse("http://127.0.0.1:3000/sidebar?signed_request=t#top").expect("a URL");
        assert_eq!(
            forwarded_url(&url, "http://x.localhost:8080"),
            "http://x.localhost:8080/sidebar?signed_request=t#top"
        );
    }

    #[test]
    fn hipchats_script_is_recognised_however_it_is_written() {
        for src in [
            "//www.hipchat.com/atlassian-connect/all.js",
            "https://www.hipchat.com/atlassian-connect/all.js?v=2",
            "http://hipchat.com/atlassian-connect/all.js",
        ] {
            assert_eq!(hipchat_asset(src), Some("all.js"), "{src}");
        }
        assert_eq!(
            hipchat_asset("//www.hipchat.com/atlassian-connect/all-debug.js"),
            Some("all-debug.js")
        );
        assert_eq!(
            hipchat_asset("//www.hipchat.com/atlassian-connect/all.css"),
            Some("all.css")
        );
        assert_eq!(hipchat_asset("/atlassian-connect/all.js"), None);
        assert_eq!(
            hipchat_asset("//evil-hipchat.com.example/atlassian-connect/all.js"),
            None
        );
        assert_eq!(hipchat_asset("//www.hipchat.com/other.js"), None);
    }

    #[test]
    fn pages_get_the_emulators_script_and_stay_on_their_forwarding_origin() {
        let html = br#"<!doctype html><html><head>
<link rel="stylesheet" href="//www.hipchat.com/atlassian-connect/all.css">
<script src="//www.hipchat.com/atlassian-connect/all.js"></script>
<script src="http://127.0.0.1:3000/js/addon.js"></script>
<script src="/js/local.js"></script>
</head><body><a href="http://127.0.0.1:3000?x=1">home</a><a href="http://127.0.0.1:30001/">other</a>
<form action="http://127.0.0.1:3000/save"></form><p>//www.hipchat.com/atlassian-connect/all.js</p></body></html>"#;
        let out = rewrite_page(html, "http://127.0.0.1:3000", "http://a.localhost:8080")
            .expect("rewritten");
        let out = String::from_utf8(out).expect("UTF-8");
        assert!(
            out.contains(
                r#"<script src="http://a.localhost:8080/atlassian-connect/all.js"></script>"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"href="http://a.localhost:8080/atlassian-connect/all.css""#),
            "{out}"
        );
        assert!(
            out.contains(r#"src="http://a.localhost:8080/js/addon.js""#),
            "{out}"
        );
        assert!(out.contains(r#"src="/js/local.js""#), "{out}");
        assert!(
            out.contains(r#"href="http://a.localhost:8080?x=1""#),
            "{out}"
        );
        assert!(
            out.contains(r#"href="http://127.0.0.1:30001/""#),
            "another port is another origin: {out}"
        );
        assert!(
            out.contains(r#"action="http://a.localhost:8080/save""#),
            "{out}"
        );
        assert!(
            out.contains("<p>//www.hipchat.com/atlassian-connect/all.js</p>"),
            "text is left alone: {out}"
        );
    }
}
