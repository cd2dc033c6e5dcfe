//! Records every call an add-on makes to the host as an [`Exchange`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{access_token, envelope};
use crate::hipchat::host::clock;
use crate::hipchat::host::exchange::{ANSWER_LIMIT, redact_body, redact_header, redact_url};
use crate::hipchat::host::model::{Direction, Exchange, ExchangeKind};
use crate::hipchat::host::state::Shared;
use crate::hipchat::token::parse_basic_authorization;

fn kind_of(path: &str) -> ExchangeKind {
    if path.ends_with("/capabilities") {
        ExchangeKind::Capabilities
    } else if path.ends_with("/oauth/token") {
        ExchangeKind::Token
    } else if path.ends_with("/notification") {
        ExchangeKind::Notification
    } else {
        ExchangeKind::Api
    }
}

/// The installation a request speaks for: the Basic client id, or the
/// owner of its access token.
fn caller(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic_authorization)
        .map(|(id, _)| id);
    basic.or_else(|| {
        let token = access_token(headers, query)?;
        shared.lock().grants.get(&token).map(|g| g.oauth_id.clone())
    })
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes());
            (k.to_string(), redact_header(k.as_str(), &v))
        })
        .collect()
}

pub(crate) async fn record(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let at_ms = clock::unix_micros() / 1000;
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, ANSWER_LIMIT).await else {
        return envelope(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {ANSWER_LIMIT} bytes"),
        );
    };
    let query = parts.uri.query().map(str::to_owned);
    let oauth_id = caller(&shared, &parts.headers, query.as_deref());
    let base = shared.base_url().unwrap_or_default();
    let mut exchange = Exchange {
        // Given when recorded.
        id: 0,
        at_ms,
        direction: Direction::FromAddOn,
        kind: kind_of(parts.uri.path()),
        oauth_id,
        method: parts.method.to_string(),
        url: redact_url(&format!("{base}{}", parts.uri)),
        request_headers: header_list(&parts.headers),
        request_body: redact_body(&body),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        duration_ms: 0,
        error: None,
        jwt_claims: None,
        note: None,
    };
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    // Our own answers are small; the limit only guards against surprises.
    let body = to_bytes(body, ANSWER_LIMIT).await.unwrap_or_default();
    exchange.status = Some(parts.status.as_u16());
    exchange.response_headers = header_list(&parts.headers);
    exchange.response_body = redact_body(&body);
    exchange.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let uninstalling = exchange
        .oauth_id
        .as_ref()
        .is_some_and(|id| shared.lock().uninstalling.contains(id));
    if parts.status == StatusCode::UNAUTHORIZED && uninstalling {
        // What a careful add-on does on uninstall: check that its
        // credentials no longer work. Not a failure.
        exchange.note = Some(
            "expected: the add-on checked that its credentials were revoked by the uninstall"
                .into(),
        );
    } else if !parts.status.is_success() {
        exchange.error =
            serde_json::from_slice::<crate::hipchat::notification::ErrorEnvelope>(&body)
                .ok()
                .map(|e| e.error.message);
    }
    shared.record(exchange);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_calls_by_path() {
        assert_eq!(kind_of("/v2/capabilities"), ExchangeKind::Capabilities);
        assert_eq!(kind_of("/v2/oauth/token"), ExchangeKind::Token);
        assert_eq!(
            kind_of("/v2/room/1/notification"),
            ExchangeKind::Notification
        );
        assert_eq!(kind_of("/v2/room/1"), ExchangeKind::Api);
    }
}
