//! What every local server checks before a handler runs: the `Host` (DNS
//! rebinding, see [`super::hosts`]) and, for requests that change state,
//! that no page of another origin sent them.
//!
//! A browser can send a cross-site POST without asking first when its body
//! is `text/plain`, a form or empty (a "simple request"): it cannot read
//! the answer, but the change is made. So a state-changing request (any
//! method but GET, HEAD and OPTIONS) is refused when
//!
//! - its `Origin` is not the server's own (`http(s)://<Host>`), or is
//!   `null`; or `Sec-Fetch-Site` says `cross-site`;
//! - it has a body that is not JSON (`application/json`, `*/*+json`),
//!   where the route takes JSON. Programs (HipChat, curl, CI) send JSON or
//!   nothing, and no `Origin`, so they are not affected.

use axum::http::{HeaderMap, Method, header};

use super::hosts::{AllowedHosts, host_name};

/// Why a request was refused; each is one sentence for the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` is not one this server answers (403).
    Host(String),
    /// A page of another origin sent a state-changing request (403).
    CrossSite(String),
    /// A state-changing request with a body that is not JSON (415).
    NotJson(String),
}

impl Refusal {
    /// The HTTP status for the answer.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Host(_) | Refusal::CrossSite(_) => 403,
            Refusal::NotJson(_) => 415,
        }
    }

    /// The sentence.
    pub fn message(&self) -> &str {
        match self {
            Refusal::Host(m) | Refusal::CrossSite(m) | Refusal::NotJson(m) => m,
        }
    }
}

/// What a server accepts.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The server's name in messages (`connect serve`, `connect emulate`).
    pub server: &'static str,
    /// The names besides IP addresses and `localhost`.
    pub hosts: AllowedHosts,
    /// How a user allows another name (`--allow-host NAME`), `NAME` being
    /// replaced by the refused one.
    pub how_to_allow: String,
}

/// Whether `method` can change state (everything but GET, HEAD, OPTIONS).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl Policy {
    /// Checks the `Host` header alone.
    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers.get(header::HOST).map(|v| v.to_str().unwrap_or(""));
        if self.hosts.allows(host) {
            Ok(())
        } else {
            Err(Refusal::Host(super::hosts::refusal(
                self.server,
                host,
                &self.how_to_allow,
            )))
        }
    }

    /// Checks that a state-changing request was not sent by a page of
    /// another origin. Safe methods always pass.
    pub fn check_origin(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        if !changes_state(method) {
            return Ok(());
        }
        let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
        if text("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
            return Err(Refusal::CrossSite(format!(
                "{} does not take changes from pages of other sites (Sec-Fetch-Site: cross-site)",
                self.server
            )));
        }
        let Some(origin) = text("origin") else {
            return Ok(());
        };
        let own = text("host").unwrap_or("");
        if same_origin(origin, own) {
            return Ok(());
        }
        Err(Refusal::CrossSite(format!(
            "{} does not take changes from pages of other origins (Origin: {origin}, this server: {own})",
            self.server
        )))
    }
}

/// Whether the `Origin` header names the server reached at `host` (the
/// `Host` header), on either scheme: behind a TLS proxy the browser says
/// https while we see plain HTTP.
pub fn same_origin(origin: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let (Some(origin_name), Some(host_name)) =
        (url.host_str().and_then(host_name), host_name(host))
    else {
        return false;
    };
    let origin_port = url.port_or_known_default();
    let host_port = host
        .trim()
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !host.trim().ends_with(']'))
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let ports_match = match host_port {
        Some(port) => origin_port == Some(port),
        // No port in Host: the scheme's default, whichever the browser used.
        None => matches!(origin_port, Some(80 | 443)),
    };
    origin_name == host_name && ports_match
}

/// Whether a request's body is JSON, or it has none: a `Content-Type` of
/// `application/json` or `*/*+json` (any parameters), or no body at all
/// (no `Content-Type`, and `Content-Length` absent or 0 without chunked
/// transfer).
pub fn json_or_empty(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        Some(value) => is_json_type(value.to_str().unwrap_or("")),
        None => {
            let chunked = headers.contains_key(header::TRANSFER_ENCODING);
            let length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            !chunked && length.unwrap_or(0) == 0
        }
    }
}

/// `application/json`, `application/json; charset=utf-8`,
/// `application/vnd.x+json`.
pub fn is_json_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The 415 refusal for a body that is not JSON.
pub fn not_json(server: &str, headers: &HeaderMap) -> Refusal {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map_or("none", |v| v.to_str().unwrap_or("?"));
    Refusal::NotJson(format!(
        "{server} takes JSON here: send the body with Content-Type: application/json (this request has {given})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn policy() -> Policy {
        Policy {
            server: "connect serve",
            hosts: AllowedHosts::new(&["addon.example.com"]).unwrap(),
            how_to_allow: "--allow-host NAME".into(),
        }
    }

    #[test]
    fn the_own_origin_matches_on_either_scheme_and_the_right_port() {
        assert!(same_origin("http://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(same_origin(
            "https://addon.example.com",
            "addon.example.com"
        ));
        assert!(same_origin("http://addon.example.com", "addon.example.com"));
        assert!(same_origin("http://[::1]:8080", "[::1]:8080"));
        assert!(same_origin("http://LOCALHOST:8080", "localhost:8080"));
        assert!(!same_origin("http://127.0.0.1:3001", "127.0.0.1:3000"));
        assert!(!same_origin("http://a.localhost:8080", "localhost:8080"));
        assert!(!same_origin("null", "localhost:8080"));
        assert!(!same_origin(
            "https://addon.example.com:8443",
            "addon.example.com"
        ));
        assert!(!same_origin("file://", "localhost"));
    }

    #[test]
    fn state_changes_from_other_origins_are_refused_and_programs_pass() {
        let p = policy();
        let post = Method::POST;
        assert!(
            p.check_origin(&post, &headers(&[("host", "localhost:3000")]))
                .is_ok()
        );
        assert!(
            p.check_origin(
                &post,
                &headers(&[
                    ("host", "localhost:3000"),
                    ("origin", "http://localhost:3000")
                ])
            )
            .is_ok()
        );
        let foreign = p
            .check_origin(
                &post,
                &headers(&[
                    ("host", "localhost:3000"),
                    ("origin", "https://evil.example"),
                ]),
            )
            .unwrap_err();
        assert_eq!(foreign.status(), 403);
        assert!(foreign.message().contains("evil.example"), "{foreign:?}");
        let fetch = headers(&[("host", "localhost:3000"), ("sec-fetch-site", "cross-site")]);
        assert!(p.check_origin(&post, &fetch).is_err());
        assert!(p.check_origin(&Method::DELETE, &fetch).is_err());
        assert!(
            p.check_origin(&Method::GET, &fetch).is_ok(),
            "reads are not changes"
        );
    }

    #[test]
    fn foreign_hosts_are_refused_with_the_way_to_allow_them() {
        let p = policy();
        assert!(
            p.check_host(&headers(&[("host", "addon.example.com")]))
                .is_ok()
        );
        let refused = p
            .check_host(&headers(&[("host", "rebind.evil.example:3000")]))
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(
            refused
                .message()
                .contains("--allow-host rebind.evil.example"),
            "{refused:?}"
        );
    }

    #[test]
    fn only_json_or_nothing_is_a_body_for_a_state_change() {
        assert!(json_or_empty(&headers(&[(
            "content-type",
            "application/json"
        )])));
        assert!(json_or_empty(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(json_or_empty(&headers(&[(
            "content-type",
            "application/merge-patch+json"
        )])));
        assert!(json_or_empty(&headers(&[])));
        assert!(json_or_empty(&headers(&[("content-length", "0")])));
        assert!(!json_or_empty(&headers(&[("content-type", "text/plain")])));
        assert!(!json_or_empty(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )])));
        assert!(!json_or_empty(&headers(&[(
            "content-type",
            "multipart/form-data; boundary=x"
        )])));
        assert!(!json_or_empty(&headers(&[("content-length", "12")])));
        assert!(!json_or_empty(&headers(&[(
            "transfer-encoding",
            "chunked"
        )])));
    }
}
