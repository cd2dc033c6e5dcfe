//! `DELETE /installable/{oauthId}`: HipChat uninstalls the add-on.
//!
//! The request carries no proof of origin, so the tenant is deleted only
//! once its own token endpoint confirms its credentials no longer work
//! (HipChat revokes them before calling). Unknown tenants: 204 (idempotent).
//! An installation the 2015 stack's layout also (or only) records is
//! removed from it too: a record left there would come back if the Node
//! add-on were started again.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::app::Shared;
use super::errors::ServeError;
use super::hipchat_client::HostError;
use super::store::TenantStore;
use crate::hipchat::capabilities::HostEndpoints;

/// Handles `DELETE /installable/{oauthId}`.
pub async fn uninstall(
    State(app): State<Shared>,
    Path(oauth_id): Path<String>,
) -> Result<StatusCode, ServeError> {
    let tenant = match app.store.get_tenant(&oauth_id).await? {
        Some(tenant) => tenant,
        None => match app
            .store
            .legacy_find(&oauth_id, &app.legacy_token_key)
            .await?
        {
            Some(record) => match record.info {
                Ok(info) => info.to_tenant(0),
                Err(why) => {
                    return Err(ServeError::StoreCorrupt(format!(
                        "the 2015 add-on's record of {oauth_id} ({}) cannot be read: {why}; remove it with `connect store remove {oauth_id}`",
                        record.place
                    )));
                }
            },
            None => return Ok(StatusCode::NO_CONTENT),
        },
    };
    let caps = HostEndpoints::from_value(&tenant.capabilities).map_err(|_| {
        ServeError::StoreCorrupt(format!(
            "the stored capabilities document of tenant {oauth_id} is unreadable"
        ))
    })?;
    let answer = app
        .host
        .token(
            &caps.token_url,
            &tenant.oauth_id,
            &tenant.oauth_secret,
            &app.scope,
        )
        .await;
    match answer {
        Ok(_) => Err(ServeError::StillInstalled),
        Err(HostError::Status {
            status: 400 | 401 | 403,
            ..
        }) => {
            app.store.delete_tenant(&oauth_id).await?;
            app.store.legacy_delete(&oauth_id).await?;
            app.tenants.forget(&oauth_id);
            tracing::info!(tenant = %oauth_id, "uninstalled; tenant and tokens deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(other) => Err(ServeError::Upstream(format!(
            "cannot confirm the uninstall: {other}"
        ))),
    }
}
