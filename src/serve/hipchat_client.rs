//! The add-on's calls to a HipChat host: the capabilities document, the
//! OAuth2 token endpoint, and room notifications (retried after a 429).
//!
//! Protocol types come from `crate::hipchat`; this file only does HTTP.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use crate::hipchat::notification::{ErrorEnvelope, Notification};
use crate::hipchat::token::{CLIENT_CREDENTIALS, TokenResponse, basic_authorization};

/// Each call to the host must finish within this.
pub const HOST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a rate-limited notification is tried in all.
pub const NOTIFY_ATTEMPTS: u32 = 4;
/// The longest wait honoured before retrying a 429; longer resets give up.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Larger answers from a host are refused.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A call to the host that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No answer (connection refused, timeout, ...).
    #[error("cannot reach {what}: {reason}")]
    Unreachable {
        /// What was called.
        what: &'static str,
        /// Why (never a URL with a token in it).
        reason: String,
    },
    /// A non-2xx status.
    #[error("{what} answered HTTP {status}{detail}")]
    Status {
        /// What was called.
        what: &'static str,
        /// The status.
        status: u16,
        /// `: <message>` from HipChat's error envelope, or empty.
        detail: String,
    },
    /// A 2xx answer that is not what the protocol says.
    #[error("{what} answered something unexpected: {reason}")]
    BadAnswer {
        /// What was called.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl HostError {
    /// The HTTP status the host answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HostError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// HTTP access to HipChat hosts (cheap to clone; one connection pool).
#[derive(Clone, Debug)]
pub struct HostClient {
    http: reqwest::Client,
}

impl HostClient {
    /// A client over the shared HTTP client.
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// Fetches the capabilities document at `url` as raw bytes.
    pub async fn capabilities(&self, url: &str) -> Result<Vec<u8>, HostError> {
        const WHAT: &str = "the capabilities URL";
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(HOST_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(WHAT, e))?;
        let status = response.status();
        let body = read_body(WHAT, response).await?;
        if !status.is_success() {
            return Err(status_error(WHAT, status, &body));
        }
        Ok(body)
    }

    /// Asks `token_url` for a client-credentials token for `scope`.
    pub async fn token(
        &self,
        token_url: &str,
        oauth_id: &str,
        oauth_secret: &str,
        scope: &str,
    ) -> Result<TokenResponse, HostError> {
        const WHAT: &str = "the token endpoint";
        let response = self
            .http
            .post(token_url)
            .header(AUTHORIZATION, basic_authorization(oauth_id, oauth_secret))
            .form(&[("grant_type", CLIENT_CREDENTIALS), ("scope", scope)])
            .timeout(HOST_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(WHAT, e))?;
        let status = response.status();
        let body = read_body(WHAT, response).await?;
        if status != StatusCode::OK {
            // An error body is never taken for a token.
            return Err(status_error(WHAT, status, &body));
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| HostError::BadAnswer {
                what: WHAT,
                reason: format!("not a token answer ({e})"),
            })?;
        if token.access_token.is_empty() {
            return Err(HostError::BadAnswer {
                what: WHAT,
                reason: "an empty access_token".into(),
            });
        }
        Ok(token)
    }

    /// Posts `notification` to `url` with `token`, waiting out a 429 as the
    /// host asks (`Retry-After`, else `X-Ratelimit-Reset`), at most
    /// [`NOTIFY_ATTEMPTS`] tries.
    pub async fn notify(
        &self,
        url: &str,
        token: &str,
        notification: &Notification,
    ) -> Result<(), HostError> {
        const WHAT: &str = "the room notification endpoint";
        let body = serde_json::to_vec(notification).map_err(|e| HostError::BadAnswer {
            what: WHAT,
            reason: format!("cannot encode the notification ({e})"),
        })?;
        let mut attempt = 1;
        loop {
            let response = self
                .http
                .post(url)
                .bearer_auth(token)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .timeout(HOST_TIMEOUT)
                .send()
                .await
                .map_err(|e| unreachable(WHAT, e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let wait = retry_wait(response.headers(), crate::hipchat::jwt::unix_now());
            let answer = read_body(WHAT, response).await.unwrap_or_default();
            let error = status_error(WHAT, status, &answer);
            match wait {
                Some(wait)
                    if status == StatusCode::TOO_MANY_REQUESTS && attempt < NOTIFY_ATTEMPTS =>
                {
                    tracing::info!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited by HipChat; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return Err(error),
            }
        }
    }
}

/// How long to wait before retrying a 429: `Retry-After` seconds, else
/// until `X-Ratelimit-Reset` (Unix seconds), else one second. `None` when
/// the host asks for longer than [`MAX_RETRY_WAIT`].
pub fn retry_wait(headers: &HeaderMap, now: u64) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let wait = if let Some(secs) = number(RETRY_AFTER.as_str()) {
        Duration::from_secs(secs)
    } else if let Some(reset) = number("x-ratelimit-reset") {
        Duration::from_secs(reset.saturating_sub(now))
    } else {
        Duration::from_secs(1)
    };
    (wait <= MAX_RETRY_WAIT).then_some(wait)
}

async fn read_body(what: &'static str, response: reqwest::Response) -> Result<Vec<u8>, HostError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(HostError::BadAnswer {
            what,
            reason: "an answer larger than 1 MiB".into(),
        });
    }
    let body = response.bytes().await.map_err(|e| unreachable(what, e))?;
    if body.len() > MAX_ANSWER_BYTES {
        return Err(HostError::BadAnswer {
            what,
            reason: "an answer larger than 1 MiB".into(),
        });
    }
    Ok(body.to_vec())
}

fn status_error(what: &'static str, status: StatusCode, body: &[u8]) -> HostError {
    let detail = ErrorEnvelope::parse(body)
        .map(|e| format!(": {}", one_line(&e.error.message)))
        .unwrap_or_default();
    HostError::Status {
        what,
        status: status.as_u16(),
        detail,
    }
}

fn unreachable(what: &'static str, err: reqwest::Error) -> HostError {
    let reason = if err.is_timeout() {
        format!("no answer within {}s", HOST_TIMEOUT.as_secs())
    } else {
        // Without the URL: a notification URL may carry a token.
        let err = err.without_url();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    };
    HostError::Unreachable { what, reason }
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn waits_as_long_as_retry_after_says() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(retry_wait(&h, 990), Some(Duration::from_secs(3)));
    }

    #[test]
    fn otherwise_waits_until_the_rate_limit_resets() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1005"));
        assert_eq!(retry_wait(&h, 1000), Some(Duration::from_secs(5)));
        assert_eq!(retry_wait(&h, 2000), Some(Duration::ZERO));
        assert_eq!(
            retry_wait(&HeaderMap::new(), 0),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn gives_up_when_asked_to_wait_too_long() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_wait(&h, 0), None);
    }
}
