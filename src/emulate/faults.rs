//! What the control API breaks on purpose, so add-ons can be tested
//! against a misbehaving HipChat: revoked credentials, forced 429s, a
//! broken capabilities document.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::control::{ApiResult, not_installed};
use super::error::{ApiError, json_rejection};
use super::server::AppState;
use crate::hipchat::host::CapabilitiesFault;

pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(oauth_id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.host.revoke(&oauth_id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_installed(&oauth_id))
    }
}

/// Body of `POST /_emulator/rate-limit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ForcedLimit {
    /// How many of the next REST API calls answer 429 (0 cancels).
    next: u32,
}

pub(super) async fn force_rate_limit(
    State(state): State<AppState>,
    body: Result<Json<ForcedLimit>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(body) = body.map_err(json_rejection)?;
    state.host.force_rate_limit(body.next);
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /_emulator/faults/capabilities`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultRequest {
    /// `wrongSelf`, `notJson`, `status` (with `status`), or null to repair.
    fault: Option<String>,
    /// The status to answer with, for `status`.
    status: Option<u16>,
}

/// The fault a request asks for; `Ok(None)` repairs the document.
fn parse_fault(request: &FaultRequest) -> ApiResult<Option<CapabilitiesFault>> {
    let fault = match (request.fault.as_deref(), request.status) {
        (None, None) => None,
        (Some("wrongSelf"), None) => Some(CapabilitiesFault::WrongSelf),
        (Some("notJson"), None) => Some(CapabilitiesFault::NotJson),
        (Some("status"), Some(code)) if (400..=599).contains(&code) => {
            Some(CapabilitiesFault::Status(code))
        }
        _ => {
            return Err(ApiError::bad_request(
                "send {\"fault\": \"wrongSelf\"}, {\"fault\": \"notJson\"}, \
                 {\"fault\": \"status\", \"status\": 400..599} or {\"fault\": null} to repair",
            ));
        }
    };
    Ok(fault)
}

pub(super) async fn capabilities_fault(
    State(state): State<AppState>,
    body: Result<Json<FaultRequest>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(body) = body.map_err(json_rejection)?;
    state.host.set_capabilities_fault(parse_fault(&body)?);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_faults_are_named_and_checked() {
        let ask = |fault: Option<&str>, status: Option<u16>| {
            parse_fault(&FaultRequest {
                fault: fault.map(str::to_owned),
                status,
            })
        };
        assert_eq!(ask(None, None), Ok(None));
        assert_eq!(
            ask(Some("wrongSelf"), None),
            Ok(Some(CapabilitiesFault::WrongSelf))
        );
        assert_eq!(
            ask(Some("status"), Some(503)),
            Ok(Some(CapabilitiesFault::Status(503)))
        );
        assert!(ask(Some("status"), Some(200)).is_err());
        assert!(ask(Some("status"), None).is_err());
        assert!(ask(Some("broken"), None).is_err());
    }
}
