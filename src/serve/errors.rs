//! Every way a request can fail, and the one place that maps each to an
//! HTTP status. Messages are one line and never contain a secret, a token
//! or a JWT.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::store::StoreError;
use crate::hipchat::jwt::JwtError;
use crate::hipchat::notification::ErrorEnvelope;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The body is not the JSON the route expects (or lacks a field).
    #[error("{0}")]
    MalformedBody(String),
    /// The body is over the 1 MiB limit.
    #[error("the request body is larger than {} KiB", super::app::BODY_LIMIT / 1024)]
    BodyTooLarge,
    /// No JWT, or one that fails a check.
    #[error("{0}")]
    BadJwt(#[from] JwtError),
    /// A JWT whose `iss` names no installed tenant.
    #[error("the JWT's issuer is not an installed tenant; reinstall the add-on")]
    UnknownIssuer,
    /// An installation known from the 2015 stack's store whose credentials
    /// HipChat refused (it was uninstalled there).
    #[error(
        "installation {0} is known only from the 2015 add-on's store, and HipChat refused its credentials: it was uninstalled; `connect store list` shows it as stale"
    )]
    StaleInstallation(String),
    /// A verified JWT whose `iss` differs from the body's `oauth_client_id`.
    #[error("the JWT's issuer does not match the body's oauth_client_id")]
    IssuerMismatch,
    /// The capabilities URL's host is not on the whitelist.
    #[error(
        "the capabilities URL's host `{0}` is not on the host whitelist; add it to `whitelist` in config.json or AC_HOST_WHITELIST"
    )]
    HostNotAllowed(String),
    /// The capabilities URL is not an http(s) URL.
    #[error("capabilitiesUrl {0}")]
    BadCapabilitiesUrl(String),
    /// The capabilities document's `links.self` is not its URL.
    #[error("{0}")]
    CapabilitiesMismatch(String),
    /// The host's token endpoint refused the credentials.
    #[error("the host's token endpoint refused the credentials (HTTP {0})")]
    CredentialsRefused(u16),
    /// Uninstall of a tenant whose credentials still work.
    #[error(
        "the tenant's credentials are still valid, so HipChat has not uninstalled it; refusing to delete it"
    )]
    StillInstalled,
    /// A HipChat host answered badly or not at all.
    #[error("{0}")]
    Upstream(String),
    /// The store cannot be reached.
    #[error("{0}")]
    StoreUnavailable(String),
    /// The store holds unreadable data.
    #[error("{0}")]
    StoreCorrupt(String),
    /// A reply template failed to render.
    #[error("{0}")]
    Template(String),
}

impl ServeError {
    /// The HTTP status for this error: the one exhaustive mapping.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::MalformedBody(_) | ServeError::BadCapabilitiesUrl(_) => {
                StatusCode::BAD_REQUEST
            }
            ServeError::BadJwt(_)
            | ServeError::UnknownIssuer
            | ServeError::IssuerMismatch
            | ServeError::StaleInstallation(_) => StatusCode::UNAUTHORIZED,
            ServeError::HostNotAllowed(_)
            | ServeError::CapabilitiesMismatch(_)
            | ServeError::CredentialsRefused(_)
            | ServeError::StillInstalled => StatusCode::FORBIDDEN,
            ServeError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ServeError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::StoreCorrupt(_) | ServeError::Template(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<StoreError> for ServeError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ServeError::StoreUnavailable(err.to_string()),
            StoreError::Corrupt(_) | StoreError::Open(_) => {
                ServeError::StoreCorrupt(err.to_string())
            }
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), reason = %self, "request refused");
        }
        (
            status,
            Json(ErrorEnvelope::new(status.as_u16(), self.to_string())),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jwt_failure_is_unauthorized() {
        for err in [
            JwtError::Missing,
            JwtError::BadSignature,
            JwtError::MissingClaim("iss"),
        ] {
            assert_eq!(ServeError::from(err).status(), StatusCode::UNAUTHORIZED);
        }
    }

    #[test]
    fn a_store_outage_is_service_unavailable_and_bad_data_is_internal() {
        let down = ServeError::from(StoreError::Unavailable("connection refused".into()));
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bad = ServeError::from(StoreError::Corrupt("not JSON".into()));
        assert_eq!(bad.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
