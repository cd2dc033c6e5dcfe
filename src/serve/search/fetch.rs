//! One GET to a blog, bounded in size, and every way it can fail named by
//! its cause: DNS, refused, TLS, timeout, HTTP status (the room only ever
//! gets the friendly reply; the log gets this).

use std::error::Error as _;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use super::SearchError;
use crate::tls::Configured;

/// Larger answers are refused rather than buffered.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A blog's answer.
#[derive(Debug)]
pub struct Answer {
    /// Its status (always 2xx or 404: other statuses are errors).
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body (at most [`MAX_ANSWER_BYTES`]).
    pub body: Vec<u8>,
}

impl Answer {
    /// The `Content-Type`, lower case, without parameters.
    pub fn content_type(&self) -> String {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// GETs `url`, accepting `accept`. A 404 is an answer (an unknown tag on
/// most blogs), every other non-2xx status an error.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    configured: &Configured,
) -> Result<Answer, SearchError> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .map_err(|e| transport(url, &e, configured))?;
    let status = response.status();
    if !(status.is_success() || status == StatusCode::NOT_FOUND) {
        return Err(SearchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(SearchError::TooLarge {
            url: url.to_string(),
        });
    }
    let headers = response.headers().clone();
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(url, &e, configured))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SearchError::TooLarge {
                url: url.to_string(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Names why a request got no answer (`configured`: how certificates
/// were to be checked, for the advice on a refused one).
pub fn transport(url: &str, err: &reqwest::Error, configured: &Configured) -> SearchError {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let url = url.to_string();
    if err.is_timeout() {
        return SearchError::Timeout { url };
    }
    let chain = chain(err);
    let lower = chain.to_ascii_lowercase();
    let cause = if let Some(sentence) = crate::tls::explain_certificate_problem(
        err,
        &host,
        configured,
        crate::tls::Advice {
            settings: "the search's ",
            unverified: "set \"tls\": {\"rejectUnauthorized\": false} in the search",
        },
    ) {
        format!("TLS: {sentence}")
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        format!("the host name {host} does not resolve (DNS)")
    } else if lower.contains("connection refused") {
        format!("{host} refused the connection (nothing listens on that port?)")
    } else if lower.contains("corrupt message")
        || lower.contains("invalidcontenttype")
        || lower.contains("wrong version number")
    {
        format!(
            "TLS with {host} failed: it does not speak TLS on that port (an http:// URL given as https://?)"
        )
    } else if lower.contains("tls") || lower.contains("handshake") || lower.contains("certificate")
    {
        format!("TLS with {host} failed: {}", innermost(err))
    } else if lower.contains("connection reset") || lower.contains("connection closed") {
        format!("{host} closed the connection: {}", innermost(err))
    } else {
        innermost(err)
    };
    SearchError::Unreachable { url, cause }
}

// The deepest cause, which says what happened ("Connection refused"),
// where the outer layers only say where ("error sending request").
fn innermost(err: &reqwest::Error) -> String {
    let mut deepest: &dyn std::error::Error = err;
    while let Some(cause) = deepest.source() {
        deepest = cause;
    }
    let text = deepest.to_string();
    if text.is_empty() { chain(err) } else { text }
}

// reqwest's error with its causes, without the URL (already named).
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "");
    }
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
