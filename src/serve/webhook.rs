//! The room_message webhook: authenticate (JWT against the tenant's
//! secret), parse, search, and answer inline with the notification for the
//! room (HipChat posts a notification-shaped 2xx answer to the room).
//!
//! The checks are pure functions so they can be fuzzed: anything a client
//! sends yields either a verified event or a 4xx [`ServeError`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::app::{AppState, Shared, WebhookRoute};
use super::errors::ServeError;
use super::reply::ReplyKind;
use super::store::{Tenant, TenantStore};
use crate::hipchat::jwt::{self, VerifyOptions};
use crate::hipchat::notification::{Color, Notification};
use crate::hipchat::webhook::RoomMessageEvent;

/// A store that has not answered within this counts as down (503).
pub const STORE_DEADLINE: Duration = Duration::from_secs(2);

/// The body, or 413 when over the limit.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ServeError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServeError::BodyTooLarge
        } else {
            ServeError::MalformedBody(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// The JWT of a request: `Authorization: JWT`, `?signed_request=`, or `x-acpt`.
pub fn token(headers: &HeaderMap, query: Option<&str>) -> Result<String, ServeError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    Ok(jwt::extract_token(
        text(header::AUTHORIZATION.as_str()),
        query,
        text("x-acpt"),
    )?)
}

/// The claimed issuer, read without trust to find the tenant.
pub fn claimed_issuer(token: &str) -> Result<String, ServeError> {
    Ok(jwt::unverified_issuer(token)?)
}

/// Verifies `token` with the tenant's secret, then parses `body` and checks
/// it comes from the same tenant.
pub fn authenticate(
    token: &str,
    secret: &str,
    body: &[u8],
    options: &VerifyOptions,
) -> Result<RoomMessageEvent, ServeError> {
    let verified = jwt::verify(token, secret.as_bytes(), options)?;
    let event =
        RoomMessageEvent::parse(body).map_err(|e| ServeError::MalformedBody(e.to_string()))?;
    if event.oauth_client_id != verified.claims.iss {
        return Err(ServeError::IssuerMismatch);
    }
    Ok(event)
}

/// Splits a message into the command and the term after it: the pattern's
/// match at the start (e.g. `^/hascode`), else the first word.
pub fn command_and_term<'a>(text: &'a str, pattern: Option<&regex::Regex>) -> (&'a str, &'a str) {
    let text = text.trim();
    let end = pattern
        .and_then(|p| p.find(text))
        .filter(|m| m.start() == 0 && m.end() > 0)
        .map(|m| m.end())
        .unwrap_or_else(|| text.find(char::is_whitespace).unwrap_or(text.len()));
    (&text[..end], text[end..].trim())
}

/// Reads the tenant from the store (remembering it) and authenticates; an
/// installation only the 2015 stack's layout knows is taken over
/// (`takeover`), a stale one proven again when due.
async fn verify_with_store(
    app: &AppState,
    issuer: &str,
    token: &str,
    body: &[u8],
    options: &VerifyOptions,
) -> Result<(Arc<Tenant>, RoomMessageEvent), ServeError> {
    let stored = tokio::time::timeout(STORE_DEADLINE, app.store.get_tenant(issuer))
        .await
        .map_err(|_| {
            ServeError::StoreUnavailable(format!(
                "the store did not answer within {}s",
                STORE_DEADLINE.as_secs()
            ))
        })??;
    let verify = |secret: &str| authenticate(token, secret, body, options).map(drop);
    let tenant = match stored {
        Some(tenant) if tenant.stale_since.is_none() => {
            let tenant = Arc::new(tenant);
            app.tenants.insert(tenant.clone());
            tenant
        }
        Some(stale) => {
            verify(&stale.oauth_secret)?;
            super::takeover::recheck_stale(app, &stale).await?
        }
        None => {
            let deadline = STORE_DEADLINE + super::hipchat_client::HOST_TIMEOUT;
            tokio::time::timeout(deadline, super::takeover::from_legacy(app, issuer, verify))
                .await
                .map_err(|_| {
                    ServeError::StoreUnavailable(format!(
                        "looking for the installation in the 2015 add-on's store took over {} s",
                        deadline.as_secs()
                    ))
                })??
        }
    };
    let event = authenticate(token, &tenant.oauth_secret, body, options)?;
    Ok((tenant, event))
}

/// Handles a POST to a room_message webhook path.
pub async fn room_message(
    State(app): State<Shared>,
    route: Arc<WebhookRoute>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let body = body_bytes(body)?;
    let token = token(&headers, uri.query())?;
    let issuer = claimed_issuer(&token)?;
    let options = VerifyOptions::now(app.max_token_age);
    let (tenant, event) = match app.tenants.get(&issuer) {
        Some(cached) => match authenticate(&token, &cached.oauth_secret, &body, &options) {
            Ok(event) => (cached, event),
            // The secret may have changed (a re-install through another
            // server): the store has the last word.
            Err(ServeError::BadJwt(_)) => {
                verify_with_store(&app, &issuer, &token, &body, &options).await?
            }
            Err(other) => return Err(other),
        },
        None => verify_with_store(&app, &issuer, &token, &body, &options).await?,
    };
    if event.event != "room_message" {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (command, term) = command_and_term(event.text(), route.pattern.as_ref());
    let blog_url = app.search.blog_url();
    let (html, color) = if term.is_empty() {
        (
            app.replies.render(&blog_url, &ReplyKind::Usage { command }),
            Color::Gray,
        )
    } else {
        match app.search.search(term).await {
            Ok(found) => {
                let tag_url = found.tag_url.clone().unwrap_or_default();
                let kind = ReplyKind::Results {
                    term,
                    tag_url: &tag_url,
                    hits: &found.hits,
                    total: found.total,
                    max_displayed: app.max_results_displayed,
                };
                (app.replies.render(&blog_url, &kind), Color::Green)
            }
            Err(err) => {
                tracing::warn!(tenant = %tenant.oauth_id, %term, error = %err, "blog search failed");
                (
                    app.replies
                        .render(&blog_url, &ReplyKind::Unavailable { term }),
                    Color::Red,
                )
            }
        }
    };
    let html = html.map_err(|e| ServeError::Template(e.to_string()))?;
    let notification = Notification {
        color,
        ..Notification::html(html)
    };
    Ok(Json(notification).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn the_term_is_the_rest_of_the_message_trimmed() {
        let p = Regex::new("^/hascode").unwrap();
        assert_eq!(
            command_and_term("/hascode  rust lang ", Some(&p)),
            ("/hascode", "rust lang")
        );
        assert_eq!(command_and_term("/hascode", Some(&p)), ("/hascode", ""));
        assert_eq!(
            command_and_term("  /hascode   ", Some(&p)),
            ("/hascode", "")
        );
        assert_eq!(command_and_term("/hascode c++", None), ("/hascode", "c++"));
    }

    #[test]
    fn without_a_matching_pattern_the_command_is_the_first_word() {
        let p = Regex::new("hascode").unwrap();
        assert_eq!(
            command_and_term("say /hascode x", Some(&p)),
            ("say", "/hascode x")
        );
        assert_eq!(command_and_term("", Some(&p)), ("", ""));
    }
}
