//! `POST /installable`: HipChat installs the add-on in a room or group.
//!
//! Order matters (PROTOCOL.md, Install): whitelist before any fetch, then
//! the capabilities document (its `links.self` must be its URL), then a
//! token to prove the credentials, and only then the tenant is stored and
//! 204 answered. A re-install therefore replaces a tenant only with proven
//! credentials. The "installed" notice follows in the background.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::Value;
use url::Url;

use super::app::{AppState, Shared};
use super::errors::ServeError;
use super::hipchat_client::HostError;
use super::notify;
use super::store::{Tenant, TenantStore, now_unix};
use crate::hipchat::capabilities::{CapabilitiesError, HostEndpoints};
use crate::hipchat::fields::Obj;

/// The install body HipChat POSTs.
#[derive(Clone, PartialEq, Eq)]
pub struct InstallRequest {
    /// The installation's client id.
    pub oauth_id: String,
    /// Its secret (never logged).
    pub oauth_secret: String,
    /// Where the host's capabilities document lives.
    pub capabilities_url: String,
    /// The room, for a room install.
    pub room_id: Option<u64>,
    /// The group.
    pub group_id: u64,
}

impl std::fmt::Debug for InstallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallRequest")
            .field("oauth_id", &self.oauth_id)
            .field("capabilities_url", &self.capabilities_url)
            .field("room_id", &self.room_id)
            .field("group_id", &self.group_id)
            .finish_non_exhaustive()
    }
}

impl InstallRequest {
    /// Parses the body, naming the missing or mistyped field.
    pub fn parse(body: &[u8]) -> Result<Self, ServeError> {
        let malformed = |m: String| ServeError::MalformedBody(format!("the install body {m}"));
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("is not valid JSON ({e})")))?;
        let root = Obj::root(&value, "the install body").map_err(|e| malformed(e.to_string()))?;
        let field =
            |e: crate::hipchat::fields::FieldError| malformed(format!("is incomplete: {e}"));
        Ok(InstallRequest {
            oauth_id: root.req_str("oauthId").map_err(field)?.to_owned(),
            oauth_secret: root.req_str("oauthSecret").map_err(field)?.to_owned(),
            capabilities_url: root.req_str("capabilitiesUrl").map_err(field)?.to_owned(),
            room_id: root.opt_u64("roomId").map_err(field)?,
            group_id: root.req_u64("groupId").map_err(field)?,
        })
    }
}

/// The capabilities URL if it may be fetched: http(s), and in production
/// (or whenever a whitelist is set) its host on the whitelist.
pub fn allowed_capabilities_url(app: &AppState, url: &str) -> Result<Url, ServeError> {
    let parsed = Url::parse(url)
        .map_err(|e| ServeError::BadCapabilitiesUrl(format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ServeError::BadCapabilitiesUrl(
            "must be an http or https URL".into(),
        ));
    }
    let host = parsed.host_str().unwrap_or_default();
    if app.enforce_whitelist && !app.whitelist.allows(host) {
        return Err(ServeError::HostNotAllowed(host.to_owned()));
    }
    Ok(parsed)
}

/// Handles `POST /installable`.
pub async fn install(
    State(app): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ServeError> {
    let body = super::webhook::body_bytes(body)?;
    let request = InstallRequest::parse(&body)?;
    let tenant = prove(&app, &request).await?;
    let room_id = tenant.room_id;
    let room = room_id.map_or_else(|| "all (global install)".to_string(), |r| r.to_string());
    tracing::info!(tenant = %tenant.oauth_id, group = tenant.group_id, %room, "installed");
    if let Some(room_id) = room_id {
        let app = app.clone();
        tokio::spawn(async move {
            let text = format!(
                "The {} add-on has been installed in this room",
                app.descriptor.name
            );
            notify::post_text(&app, &tenant, room_id, &text).await;
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Checks an install end to end and stores the tenant.
async fn prove(app: &AppState, request: &InstallRequest) -> Result<Tenant, ServeError> {
    let url = allowed_capabilities_url(app, &request.capabilities_url)?;
    let raw = app
        .host
        .capabilities(url.as_str())
        .await
        .map_err(|e| ServeError::Upstream(e.to_string()))?;
    let (endpoints, capabilities) = HostEndpoints::parse_from(&raw, &request.capabilities_url)
        .map_err(|e| match e {
            CapabilitiesError::SelfMismatch { .. } => {
                ServeError::CapabilitiesMismatch(e.to_string())
            }
            CapabilitiesError::Malformed(_) => ServeError::Upstream(e.to_string()),
        })?;
    let token = app
        .host
        .token(
            &endpoints.token_url,
            &request.oauth_id,
            &request.oauth_secret,
            &app.scope,
        )
        .await
        .map_err(|e| match e {
            HostError::Status {
                status: status @ (400 | 401 | 403),
                ..
            } => ServeError::CredentialsRefused(status),
            other => ServeError::Upstream(other.to_string()),
        })?;
    let tenant = Tenant {
        oauth_id: request.oauth_id.clone(),
        oauth_secret: request.oauth_secret.clone(),
        capabilities_url: request.capabilities_url.clone(),
        capabilities,
        room_id: request.room_id,
        group_id: request.group_id,
        group_name: token.group_name.clone(),
        installed_at: now_unix(),
        stale_since: None,
    };
    app.store.put_tenant(&tenant).await?;
    app.tenants.forget(&tenant.oauth_id);
    // While the 2015 add-on's layout is in use, it gets the install too, so
    // that starting the Node add-on again serves this room (a rollback).
    match app.store.legacy_write(&tenant).await {
        Ok(true) => {
            tracing::debug!(tenant = %tenant.oauth_id, "wrote the install in the 2015 add-on's layout too")
        }
        Ok(false) => {}
        Err(e) => tracing::error!(
            tenant = %tenant.oauth_id,
            "the install is stored, but not in the 2015 add-on's layout ({e}): a rollback to the Node add-on would not serve this room until it is written (`connect store list` shows it)"
        ),
    }
    // The proving token replaces any cached one from older credentials.
    app.tokens
        .remember(&tenant.oauth_id, &token, &app.scope)
        .await?;
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hipchats_install_body() {
        let body = br#"{"oauthId": "f3100c47", "capabilitiesUrl": "https://api.hipchat.com/v2/capabilities", "roomId": 2589171, "groupId": 46617, "oauthSecret": "Jgtf1Baj"}"#;
        let r = InstallRequest::parse(body).unwrap();
        assert_eq!(r.oauth_id, "f3100c47");
        assert_eq!(r.room_id, Some(2_589_171));
        assert_eq!(r.group_id, 46_617);
        assert!(!format!("{r:?}").contains("Jgtf1Baj"));
    }

    #[test]
    fn a_global_install_has_no_room() {
        let body = br#"{"oauthId": "a", "capabilitiesUrl": "http://h/c", "groupId": "7", "oauthSecret": "s"}"#;
        let r = InstallRequest::parse(body).unwrap();
        assert_eq!((r.room_id, r.group_id), (None, 7));
    }

    #[test]
    fn names_what_is_missing_or_wrong() {
        let err = InstallRequest::parse(br#"{"oauthId": "a", "groupId": 1, "oauthSecret": "s"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("capabilitiesUrl"), "{err}");
        let err = InstallRequest::parse(b"not json").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        let err = InstallRequest::parse(
            br#"{"oauthId": "a", "capabilitiesUrl": "x", "groupId": -1, "oauthSecret": "s"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("groupId"), "{err}");
    }
}
