//! Control API errors: HipChat's own envelope,
//! `{"error": {"code", "message", "type"}}`, with a message that names the
//! problem and the fix.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::hipchat::notification::ErrorEnvelope;

/// An error answered by the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such room, install or exchange.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope::new(self.status.as_u16(), self.message);
        (self.status, Json(envelope)).into_response()
    }
}

/// Turns axum's JSON body rejections (wrong content type, bad JSON, missing
/// field) into the control API's envelope instead of a plain-text answer.
pub fn json_rejection(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError::bad_request(format!(
        "{}; send a JSON body with Content-Type: application/json",
        rejection.body_text()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answers_with_hipchats_envelope() {
        let err = ApiError::not_found("no room 7; list rooms with GET /_emulator/rooms");
        let envelope = ErrorEnvelope::new(err.status.as_u16(), err.message.clone());
        let json = serde_json::to_value(&envelope).expect("serialisable");
        assert_eq!(json["error"]["code"], 404);
        assert_eq!(json["error"]["type"], "Not Found");
        assert_eq!(
            json["error"]["message"],
            "no room 7; list rooms with GET /_emulator/rooms"
        );
    }
}
