//! `GET /v2/capabilities` and the OAuth2 client-credentials token endpoint.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::envelope;
use crate::hipchat::capabilities::CapabilitiesDoc;
use crate::hipchat::host::model::CapabilitiesFault;
use crate::hipchat::host::state::{Grant, Shared, random_alphanumeric};
use crate::hipchat::jwt::unix_now;
use crate::hipchat::token::{TokenRequest, TokenResponse, join_scopes, parse_basic_authorization};

/// The capabilities document; `links.self` is this very URL. Without a
/// configured base URL, the request's `Host` header gives it.
pub(crate) async fn capabilities(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let base = shared.base_url().or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
    });
    let fault = shared.lock().capabilities_fault;
    match (base, fault) {
        (_, Some(CapabilitiesFault::NotJson)) => {
            (StatusCode::OK, "<html>capabilities</html>").into_response()
        }
        (_, Some(CapabilitiesFault::Status(status))) => envelope(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "capabilities unavailable (a fault set on the host)",
        ),
        (Some(base), Some(CapabilitiesFault::WrongSelf)) => {
            let mut doc = CapabilitiesDoc::for_host(&base);
            doc.links.self_url = "https://elsewhere.invalid/v2/capabilities".into();
            Json(doc).into_response()
        }
        (Some(base), None) if shared.options.lean_documents => {
            let doc = CapabilitiesDoc::for_host(&base);
            Json(serde_json::json!({
                "links": {"self": doc.links.self_url, "api": doc.links.api},
                "capabilities": {"oauth2Provider": {"tokenUrl": doc.capabilities.oauth2_provider.token_url}},
            }))
            .into_response()
        }
        (Some(base), None) => Json(CapabilitiesDoc::for_host(&base)).into_response(),
        (None, _) => envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the host does not know its own URL; set its public base URL",
        ),
    }
}

/// `POST /v2/oauth/token`: Basic auth with oauthId:oauthSecret, a form or
/// JSON body, scopes limited to what the descriptor declared.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let invalid = || envelope(StatusCode::UNAUTHORIZED, "Invalid OAuth session");
    let Some((client_id, secret)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic_authorization)
    else {
        return invalid();
    };
    let credential = {
        let mut inner = shared.lock();
        *inner.token_requests.entry(client_id.clone()).or_default() += 1;
        inner.credentials.get(&client_id).cloned()
    };
    let Some(credential) = credential.filter(|c| !c.revoked && c.secret == secret) else {
        return invalid();
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let request = match TokenRequest::parse(&body, is_json) {
        Ok(r) => r,
        Err(e) => return envelope(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let requested = request.scopes();
    let scopes = if requested.is_empty() {
        credential.scopes.clone()
    } else {
        requested
    };
    let refused: Vec<&str> = scopes
        .iter()
        .filter(|s| !credential.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        return envelope(
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid scope(s): {}; the add-on's descriptor declares: {}",
                refused.join(" "),
                join_scopes(&credential.scopes)
            ),
        );
    }
    let lifetime = shared.token_lifetime().as_secs().max(1);
    let access_token = random_alphanumeric(40);
    {
        let mut inner = shared.lock();
        inner.grants.insert(
            access_token.clone(),
            Grant {
                oauth_id: client_id.clone(),
                scopes: scopes.clone(),
                expires_at: unix_now() + lifetime,
            },
        );
        *inner.tokens_granted.entry(client_id).or_default() += 1;
    }
    if shared.options.lean_documents {
        return Json(serde_json::json!({"access_token": access_token, "expires_in": lifetime}))
            .into_response();
    }
    Json(TokenResponse {
        access_token,
        expires_in: lifetime,
        group_id: shared.options.group_id,
        group_name: Some(shared.options.group_name.clone()),
        scope: join_scopes(&scopes),
        token_type: "bearer".into(),
    })
    .into_response()
}
