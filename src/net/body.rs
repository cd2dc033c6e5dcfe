//! Request bodies under two bounds: a size, refused before anything is read
//! when `Content-Length` already says too much, and a time, counted from the
//! end of the head, so a body trickled a byte at a time cannot hold a
//! connection. Either answer closes the connection (the rest of the body
//! is never read).

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::hipchat::notification::ErrorEnvelope;

/// The bounds on one request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// The most bytes accepted.
    pub max_bytes: usize,
    /// The longest the whole body may take to arrive.
    pub timeout: Duration,
}

/// axum middleware: reads the body within `limits` and hands it on whole,
/// or answers 413 (too big) / 408 (too slow) and closes the connection.
pub async fn bounded(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return too_large(limits.max_bytes);
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limits.timeout, to_bytes(body, limits.max_bytes)).await {
        Err(_) => closing(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body did not arrive within {} s",
                limits.timeout.as_secs_f64()
            ),
        ),
        Ok(Err(err)) if is_length_limit(&err) => too_large(limits.max_bytes),
        Ok(Err(_)) => closing(StatusCode::BAD_REQUEST, "the request body broke off"),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn too_large(max: usize) -> Response {
    closing(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is over {}", shown_size(max)),
    )
}

/// `1 MiB`, `10 MiB`, `512 KiB`, `100 bytes`.
pub fn shown_size(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    const KIB: usize = 1 << 10;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// HipChat's error envelope with `Connection: close`.
pub fn closing(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(ErrorEnvelope::new(status.as_u16(), message)),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_the_largest_whole_unit() {
        assert_eq!(shown_size(1 << 20), "1 MiB");
        assert_eq!(shown_size(10 << 20), "10 MiB");
        assert_eq!(shown_size(512 << 10), "512 KiB");
        assert_eq!(shown_size(1000), "1000 bytes");
    }
}
