//! `GET /healthz`: for load balancers; 200 when the store answers, 503
//! with the reason when it does not.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::app::Shared;
use super::store::TenantStore;

/// A store that has not answered within this is reported down.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Handles `GET /healthz`.
pub async fn healthz(State(app): State<Shared>) -> (StatusCode, Json<Value>) {
    let outcome = tokio::time::timeout(PING_TIMEOUT, app.store.ping()).await;
    let problem = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(_) => Some(format!(
            "the store did not answer within {}s",
            PING_TIMEOUT.as_secs()
        )),
    };
    match problem {
        None => (
            StatusCode::OK,
            Json(json!({"status": "ok", "store": app.store.kind()})),
        ),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "store": app.store.kind(), "reason": reason})),
        ),
    }
}
