//! Calls from the host to add-ons, recorded as [`Exchange`]s with secrets
//! redacted, and the redaction rules shared with the inbound recorder.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::model::{Direction, Exchange, ExchangeKind};
use super::state::Shared;
use crate::hipchat::jwt::Claims;

/// The most of a body kept in an exchange record.
pub(crate) const RECORDED_BODY_LIMIT: usize = 64 * 1024;
/// The most of an add-on's answer the host reads.
pub(crate) const ANSWER_LIMIT: usize = 1024 * 1024;

const REDACTED: &str = "<redacted>";
const SECRET_KEYS: &[&str] = &["oauthSecret", "access_token", "oauth_secret"];
const SECRET_QUERY_KEYS: &[&str] = &["auth_token", "signed_request", "access_token"];

/// A request the host is about to make to an add-on.
pub(crate) struct Outgoing {
    pub(crate) kind: ExchangeKind,
    pub(crate) oauth_id: Option<String>,
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) jwt_claims: Option<Claims>,
    pub(crate) timeout: Duration,
}

/// An add-on's answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// Where a redirect not followed points.
    pub(crate) location: Option<String>,
}

/// Sends `out` and returns the (not yet recorded) exchange and the answer;
/// the caller adds its verdict to `exchange.error` and calls
/// [`Shared::record`].
pub(crate) async fn send(shared: &Shared, out: Outgoing) -> (Exchange, Result<Answer, String>) {
    let started = Instant::now();
    let mut exchange = Exchange {
        // Given when recorded.
        id: 0,
        at_ms: super::clock::unix_micros() / 1000,
        direction: Direction::ToAddOn,
        kind: out.kind,
        oauth_id: out.oauth_id,
        method: out.method.to_string(),
        url: redact_url(&out.url),
        request_headers: out
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), redact_header(k, v)))
            .collect(),
        request_body: out.body.as_deref().map(redact_body).unwrap_or_default(),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        duration_ms: 0,
        error: None,
        jwt_claims: out.jwt_claims,
        note: None,
    };
    let mut request = shared
        .http
        .request(out.method, &out.url)
        .timeout(out.timeout);
    for (name, value) in &out.headers {
        request = request.header(name, value);
    }
    if let Some(body) = out.body {
        request = request.body(body);
    }
    let result = match request.send().await {
        Err(e) => Err(describe(&e)),
        Ok(mut response) => {
            exchange.status = Some(response.status().as_u16());
            exchange.response_headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    let v = String::from_utf8_lossy(v.as_bytes());
                    (k.to_string(), redact_header(k.as_str(), &v))
                })
                .collect();
            let mut body = Vec::new();
            let mut failure = None;
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if body.len() + chunk.len() > ANSWER_LIMIT {
                            failure = Some(format!(
                                "the answer is larger than {ANSWER_LIMIT} bytes; the host stopped reading"
                            ));
                            break;
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(describe(&e));
                        break;
                    }
                }
            }
            exchange.response_body = redact_body(&body);
            match failure {
                Some(reason) => Err(reason),
                None => Ok(Answer {
                    status: response.status().as_u16(),
                    location: response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body,
                }),
            }
        }
    };
    exchange.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Err(reason) = &result {
        exchange.error = Some(reason.clone());
    }
    (exchange, result)
}

/// A one-line reason for a transport failure.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer before the timeout".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// Hides credentials in a header value, keeping the scheme for the reader.
pub(crate) fn redact_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("x-acpt") {
        match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {REDACTED}"),
            None => REDACTED.into(),
        }
    } else {
        value.to_owned()
    }
}

/// Hides token-carrying query parameters.
pub(crate) fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if parsed.query().is_none() {
        return url.to_owned();
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if SECRET_QUERY_KEYS.contains(&k.as_ref()) {
                REDACTED.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// A body as text for the inspector: as sent, unless secret JSON fields
/// had to be hidden; truncated.
pub(crate) fn redact_body(body: &[u8]) -> String {
    let redacted = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|mut value| {
            redact_value(&mut value).then(|| serde_json::to_string(&value).unwrap_or_default())
        });
    let text = redacted.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    // A page may carry its signed_request (ACE renders it into templates).
    let text = match jwt_pattern().replace_all(&text, REDACTED) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(hidden) => hidden,
    };
    truncate(text, RECORDED_BODY_LIMIT)
}

/// Anything shaped like a JWT (`eyJ...` header, payload, signature).
fn jwt_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
            .unwrap_or_else(|_| unreachable!("a valid pattern"))
    })
}

/// Hides secret fields; returns whether there were any.
fn redact_value(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            let mut found = false;
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) {
                    *v = serde_json::Value::String(REDACTED.into());
                    found = true;
                } else {
                    found |= redact_value(v);
                }
            }
            found
        }
        serde_json::Value::Array(items) => {
            // Every item must be visited: no short-circuit.
            let mut found = false;
            for item in items {
                found |= redact_value(item);
            }
            found
        }
        _ => false,
    }
}

fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("… (truncated)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_oauth_secret_and_access_tokens_in_bodies() {
        let body = br#"{"oauthId":"a","oauthSecret":"s3cret","list":[{"access_token":"t0k"},{"access_token":"t1k"}]}"#;
        let text = redact_body(body);
        assert!(
            !text.contains("s3cret") && !text.contains("t0k") && !text.contains("t1k"),
            "{text}"
        );
        assert!(text.contains(r#""oauthId":"a""#), "{text}");
    }

    #[test]
    fn hides_jwts_a_page_carries_in_its_html() {
        let page = br#"<meta name="token" content="eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJvIn0.c2lnbmF0dXJl"><p>eyJ is not a token</p>"#;
        let text = redact_body(page);
        assert!(!text.contains("eyJhbGci"), "{text}");
        assert!(text.contains(r#"content="<redacted>""#), "{text}");
        assert!(text.contains("eyJ is not a token"), "{text}");
    }

    #[test]
    fn keeps_bodies_without_secrets_as_they_were_sent() {
        let body = br#"{"b": 1, "a": [2, 3]}"#;
        assert_eq!(redact_body(body), r#"{"b": 1, "a": [2, 3]}"#);
    }

    #[test]
    fn hides_credentials_in_headers_and_query_strings() {
        assert_eq!(
            redact_header("Authorization", "JWT abc.def.ghi"),
            "JWT <redacted>"
        );
        assert_eq!(redact_header("authorization", "abc"), "<redacted>");
        assert_eq!(redact_header("content-type", "text/plain"), "text/plain");
        let url = redact_url("http://h/v2/room/1/notification?auth_token=secret&x=1");
        assert!(!url.contains("secret") && url.contains("x=1"), "{url}");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn truncates_long_bodies_on_a_character_boundary() {
        let text = redact_body("é".repeat(RECORDED_BODY_LIMIT).as_bytes());
        assert!(text.ends_with("(truncated)"));
        assert!(text.len() < RECORDED_BODY_LIMIT + 20);
    }
}
