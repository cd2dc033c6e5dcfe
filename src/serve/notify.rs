//! Posting to a room over the REST API (the install notice; anything that
//! cannot be answered inline): cached token, one retry with a fresh token
//! if the host refuses the cached one. Failures are logged, never fatal.

use super::app::AppState;
use super::hipchat_client::HostError;
use super::store::Tenant;
use super::tokens::TokenError;
use crate::hipchat::capabilities::HostEndpoints;
use crate::hipchat::notification::{MessageFormat, Notification};

/// Posts plain `text` to `room_id` of `tenant`, logging the outcome.
pub async fn post_text(app: &AppState, tenant: &Tenant, room_id: u64, text: &str) {
    let notification = Notification {
        message_format: MessageFormat::Text,
        ..Notification::html(text)
    };
    match send(app, tenant, room_id, &notification).await {
        Ok(()) => {
            tracing::info!(tenant = %tenant.oauth_id, room = room_id, "posted a notification")
        }
        Err(err) => {
            tracing::warn!(tenant = %tenant.oauth_id, room = room_id, error = %err, "could not post a notification")
        }
    }
}

/// Posts `notification` to `room_id` of `tenant`.
pub async fn send(
    app: &AppState,
    tenant: &Tenant,
    room_id: u64,
    notification: &Notification,
) -> Result<(), TokenError> {
    let caps = HostEndpoints::from_value(&tenant.capabilities)
        .map_err(|_| TokenError::Capabilities(tenant.oauth_id.clone()))?;
    let url = caps.notification_url(room_id);
    let token = app.tokens.get(tenant, &app.scope).await?;
    match app
        .host
        .notify(&url, &token.access_token, notification)
        .await
    {
        Err(HostError::Status { status: 401, .. }) => {
            // Revoked or rotated on the host's side: drop it and try once more.
            app.tokens
                .forget(&tenant.oauth_id, &app.scope, &token)
                .await?;
            let token = app.tokens.get(tenant, &app.scope).await?;
            Ok(app
                .host
                .notify(&url, &token.access_token, notification)
                .await?)
        }
        other => Ok(other?),
    }
}
