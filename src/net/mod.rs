//! What every local server of every verb shares: the accept loop with its
//! time limits and clean shutdown ([`server`]), bounded request bodies
//! ([`body`]), and the checks that keep web pages from driving our ports
//! ([`hosts`], [`guard`]).

pub mod body;
pub mod guard;
pub mod hosts;
pub mod server;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use guard::{Policy, Refusal};
pub use hosts::AllowedHosts;

use crate::hipchat::notification::ErrorEnvelope;

/// Time limits on clients (see [`server`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A request head must be complete this long after its first byte
    /// (and the first request's head this long after the connection opened).
    pub header: Duration,
    /// A request body must be complete this long after its head.
    pub body: Duration,
    /// A kept-alive connection with nothing to do is closed after this.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(DEFAULT_HEADER_SECS),
            body: Duration::from_secs(DEFAULT_BODY_SECS),
            idle: Duration::from_secs(DEFAULT_IDLE_SECS),
        }
    }
}

const DEFAULT_HEADER_SECS: u64 = 30;
const DEFAULT_BODY_SECS: u64 = 60;
const DEFAULT_IDLE_SECS: u64 = 75;

/// The time limits on the command line, shared by `serve`, `dev` and
/// `emulate`.
#[derive(Clone, Copy, Debug, clap::Args)]
#[command(next_help_heading = "Slow clients")]
pub struct TimeoutArgs {
    /// Seconds a client may take to send a request's head (headers).
    #[arg(long, value_name = "SECS", env = "CONNECT_HEADER_TIMEOUT", default_value_t = DEFAULT_HEADER_SECS as f64, value_parser = seconds)]
    pub header_timeout: f64,
    /// Seconds a client may take to send a request's whole body; a slower one gets 408.
    #[arg(long, value_name = "SECS", env = "CONNECT_BODY_TIMEOUT", default_value_t = DEFAULT_BODY_SECS as f64, value_parser = seconds)]
    pub body_timeout: f64,
    /// Seconds a kept-alive connection may stay idle between requests.
    #[arg(long, value_name = "SECS", env = "CONNECT_IDLE_TIMEOUT", default_value_t = DEFAULT_IDLE_SECS as f64, value_parser = seconds)]
    pub idle_timeout: f64,
}

fn seconds(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("{secs} is out of range: give 0.1 to 86400 seconds"));
    }
    Ok(secs)
}

impl TimeoutArgs {
    /// The limits as durations.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            header: Duration::from_secs_f64(self.header_timeout),
            body: Duration::from_secs_f64(self.body_timeout),
            idle: Duration::from_secs_f64(self.idle_timeout),
        }
    }
}

/// Which checks a request gets, decided from its method, path and `Host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// The `Origin` / `Sec-Fetch-Site` check for state changes.
    pub origin: bool,
    /// The JSON-or-nothing body check for state changes.
    pub json: bool,
}

/// Decides a request's [`Checks`] from its method, path and `Host`.
pub type ChecksFor = dyn Fn(&Method, &str, Option<&str>) -> Checks + Send + Sync;

/// A server's guard: its [`Policy`] and which checks each request gets.
#[derive(Clone)]
pub struct Guard {
    /// What the server accepts.
    pub policy: Policy,
    /// Which checks a request gets beyond its `Host`.
    pub checks: Arc<ChecksFor>,
    refused: Arc<Mutex<HashSet<String>>>,
}

impl Guard {
    /// A guard applying every check to every state change.
    pub fn strict(policy: Policy) -> Self {
        Guard::with_checks(policy, |_, _, _| Checks {
            origin: true,
            json: true,
        })
    }

    /// A guard deciding the checks with `checks(method, path, host)`.
    pub fn with_checks(
        policy: Policy,
        checks: impl Fn(&Method, &str, Option<&str>) -> Checks + Send + Sync + 'static,
    ) -> Self {
        Guard {
            policy,
            checks: Arc::new(checks),
            refused: Arc::default(),
        }
    }

    /// Checks a request's head; the refusal is logged (once per reason).
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &header::HeaderMap,
    ) -> Result<(), Refusal> {
        let outcome = self.decide(method, path, headers);
        if let Err(refusal) = &outcome {
            self.log_once(refusal);
        }
        outcome
    }

    fn decide(
        &self,
        method: &Method,
        path: &str,
        headers: &header::HeaderMap,
    ) -> Result<(), Refusal> {
        self.policy.check_host(headers)?;
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let checks = (self.checks)(method, path, host);
        if checks.origin {
            self.policy.check_origin(method, headers)?;
        }
        if checks.json && guard::changes_state(method) && !guard::json_or_empty(headers) {
            return Err(guard::not_json(self.policy.server, headers));
        }
        Ok(())
    }

    // The first refusal of each kind and name is a warning; repeats are
    // debug lines, so a page retrying in a loop does not flood the log.
    fn log_once(&self, refusal: &Refusal) {
        const REMEMBERED: usize = 256;
        let mut seen = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let first = seen.len() < REMEMBERED && seen.insert(refusal.message().to_owned());
        if first {
            tracing::warn!("refused a request: {}", refusal.message());
        } else {
            tracing::debug!("refused a request: {}", refusal.message());
        }
    }
}

/// The answer to a refused request: HipChat's error envelope.
pub fn refused(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = (
        status,
        axum::Json(ErrorEnvelope::new(status.as_u16(), refusal.message())),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// axum middleware applying a [`Guard`].
pub async fn guarded(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.check(request.method(), request.uri().path(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refused(&refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn guard() -> Guard {
        Guard::with_checks(
            Policy {
                server: "connect emulate",
                hosts: AllowedHosts::local_only(),
                how_to_allow: "--allow-host NAME".into(),
            },
            |_, path, _| Checks {
                origin: true,
                json: path != "/v2/oauth/token",
            },
        )
    }

    #[test]
    fn a_text_post_is_refused_where_json_is_taken_and_allowed_where_forms_are() {
        let g = guard();
        let text = headers(&[("host", "127.0.0.1:8080"), ("content-type", "text/plain")]);
        let refused = g
            .check(&Method::POST, "/_emulator/install", &text)
            .unwrap_err();
        assert_eq!(refused.status(), 415);
        let form = headers(&[
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        assert!(g.check(&Method::POST, "/v2/oauth/token", &form).is_ok());
        assert!(g.check(&Method::GET, "/_emulator/installs", &text).is_ok());
    }

    #[test]
    fn the_host_is_checked_before_anything_else() {
        let g = guard();
        let rebound = headers(&[("host", "evil.example:8080")]);
        assert_eq!(
            g.check(&Method::GET, "/", &rebound).unwrap_err().status(),
            403
        );
    }

    #[test]
    fn timeouts_are_seconds_in_a_sane_range() {
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert!(seconds("0").is_err());
        assert!(seconds("soon").is_err());
    }
}
