//! Taking over a running 2015 deployment without a room reinstalling: a
//! webhook from an installation connect has no record of is looked up in
//! the old stack's layout of the same store. A record found there is
//! trusted only as far as the evidence goes:
//!
//! 1. the webhook's JWT must verify with the record's secret;
//! 2. the credentials are proven with HipChat as an install proves them
//!    (its token endpoint, the host checked against the whitelist): the
//!    old library deleted nothing on uninstall, so a record can outlive
//!    its installation;
//! 3. accepted, the record becomes connect's own (inserted only if absent,
//!    so instances converting it at once end with one record, and only the
//!    one that stored it says so in the log); refused, it is kept as a
//!    stale tenant, not served, and shown as such by `connect store list`;
//!    HipChat not answering proves nothing either way: the webhook, whose
//!    JWT verified, is served and the conversion tried again later.
//!
//! A stale tenant whose webhook verifies again is proven again (at most
//! every ten minutes): a refusal is evidence, not a verdict for ever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::app::AppState;
use super::errors::ServeError;
use super::hipchat_client::HostError;
use super::store::legacy::ClientInfo;
use super::store::{Tenant, TenantStore, now_unix};
use crate::hipchat::capabilities::HostEndpoints;
use crate::hipchat::token::TokenResponse;

/// How often a stale tenant, or one HipChat did not answer for, is proven
/// again.
const RETRY_AFTER: Duration = Duration::from_secs(600);
/// How often "HipChat did not answer" is logged for one installation.
const NOTE_EVERY: Duration = Duration::from_secs(60);

/// What HipChat said of an installation's credentials.
#[derive(Debug)]
pub enum Proof {
    /// They work: a token.
    Valid(TokenResponse),
    /// They were refused (HTTP status): it was uninstalled.
    Refused(u16),
    /// No answer to act on (unreachable, a 5xx, a host not whitelisted).
    Unknown(String),
}

/// Proves `tenant`'s credentials with its host's token endpoint.
pub async fn prove(app: &AppState, tenant: &Tenant) -> Proof {
    if let Err(e) = super::install::allowed_capabilities_url(app, &tenant.capabilities_url) {
        return Proof::Unknown(e.to_string());
    }
    let endpoints = match HostEndpoints::from_value(&tenant.capabilities) {
        Ok(endpoints) => endpoints,
        Err(e) => return Proof::Unknown(format!("its capabilities document is unusable: {e}")),
    };
    match app
        .host
        .token(
            &endpoints.token_url,
            &tenant.oauth_id,
            &tenant.oauth_secret,
            &app.scope,
        )
        .await
    {
        Ok(token) => Proof::Valid(token),
        Err(HostError::Status {
            status: status @ (400 | 401 | 403),
            ..
        }) => Proof::Refused(status),
        Err(other) => Proof::Unknown(other.to_string()),
    }
}

/// When each installation was last noted or retried, bounded.
#[derive(Debug, Default)]
pub struct Attempts {
    last: Mutex<HashMap<String, Instant>>,
}

impl Attempts {
    /// Whether `key` was not seen within `every` (and marks it seen).
    fn due(&self, key: &str, every: Duration) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() > 10_000 {
            last.retain(|_, at| at.elapsed() < every);
        }
        match last.get(key) {
            Some(at) if at.elapsed() < every => false,
            _ => {
                last.insert(key.to_owned(), Instant::now());
                true
            }
        }
    }
}

/// Takes over `issuer`'s record of the old layout, if there is one: the
/// tenant to serve the webhook with (`verify` checks the JWT with a
/// secret), or why not.
pub async fn from_legacy(
    app: &AppState,
    issuer: &str,
    verify: impl Fn(&str) -> Result<(), ServeError>,
) -> Result<Arc<Tenant>, ServeError> {
    let Some(record) = app.store.legacy_find(issuer, &app.legacy_token_key).await? else {
        return Err(ServeError::UnknownIssuer);
    };
    let info = match record.info {
        Ok(info) => info,
        Err(why) => {
            if app
                .takeover_notes
                .due(&format!("unreadable:{issuer}"), NOTE_EVERY)
            {
                tracing::error!(tenant = %issuer, place = %record.place, "the 2015 add-on's record of this installation cannot be read: {why}");
            }
            return Err(ServeError::UnknownIssuer);
        }
    };
    // 1. The webhook proves the sender knows the record's secret.
    verify(&info.oauth_secret)?;
    let tenant = info.to_tenant(record.created_at.unwrap_or_else(now_unix));
    convert(app, tenant, &info, &record.place).await
}

// 2. and 3.
async fn convert(
    app: &AppState,
    mut tenant: Tenant,
    info: &ClientInfo,
    place: &str,
) -> Result<Arc<Tenant>, ServeError> {
    match prove(app, &tenant).await {
        Proof::Valid(token) => {
            if info.group_id.is_none() {
                tenant.group_id = token.group_id;
            }
            if tenant.group_name.is_none() {
                tenant.group_name = token.group_name.clone();
            }
            let stored = app.store.insert_tenant_if_absent(&tenant).await?;
            let tenant = if stored {
                tracing::info!(
                    tenant = %tenant.oauth_id,
                    group = tenant.group_id,
                    room = %tenant.room_id.map_or_else(|| "all".to_owned(), |r| r.to_string()),
                    from = %place,
                    "took over the installation from the 2015 add-on's store (HipChat accepts its credentials); it is served as connect's own from now on"
                );
                tenant
            } else {
                // Another instance converted it first: theirs it is.
                app.store
                    .get_tenant(&tenant.oauth_id)
                    .await?
                    .unwrap_or(tenant)
            };
            app.tokens
                .remember(&tenant.oauth_id, &token, &app.scope)
                .await?;
            let tenant = Arc::new(tenant);
            app.tenants.insert(tenant.clone());
            Ok(tenant)
        }
        Proof::Refused(status) => {
            tenant.stale_since = Some(now_unix());
            if app.store.insert_tenant_if_absent(&tenant).await? {
                tracing::warn!(
                    tenant = %tenant.oauth_id,
                    status,
                    from = %place,
                    "HipChat refused the credentials of the 2015 add-on's record of this installation (it was uninstalled): not served, kept as stale (see `connect store list`)"
                );
            }
            Err(ServeError::StaleInstallation(tenant.oauth_id))
        }
        Proof::Unknown(why) => {
            if app.takeover_notes.due(&tenant.oauth_id, NOTE_EVERY) {
                tracing::warn!(
                    tenant = %tenant.oauth_id,
                    from = %place,
                    "serving the 2015 add-on's record of this installation (its webhook's JWT verifies), but its credentials could not be proven with HipChat ({why}); it is taken over once they are"
                );
            }
            Ok(Arc::new(tenant))
        }
    }
}

/// A stale tenant whose webhook verified: proven again at most every ten
/// minutes; served again if HipChat now accepts its credentials.
pub async fn recheck_stale(app: &AppState, tenant: &Tenant) -> Result<Arc<Tenant>, ServeError> {
    let stale_for = now_unix().saturating_sub(tenant.stale_since.unwrap_or(0));
    let due = stale_for >= RETRY_AFTER.as_secs()
        && app
            .takeover_notes
            .due(&format!("stale:{}", tenant.oauth_id), RETRY_AFTER);
    if !due {
        return Err(ServeError::StaleInstallation(tenant.oauth_id.clone()));
    }
    match prove(app, tenant).await {
        Proof::Valid(token) => {
            let mut fresh = tenant.clone();
            fresh.stale_since = None;
            app.store.put_tenant(&fresh).await?;
            app.tokens
                .remember(&fresh.oauth_id, &token, &app.scope)
                .await?;
            tracing::info!(tenant = %fresh.oauth_id, "HipChat accepts the credentials of this stale installation again: served again");
            let fresh = Arc::new(fresh);
            app.tenants.insert(fresh.clone());
            Ok(fresh)
        }
        _ => Err(ServeError::StaleInstallation(tenant.oauth_id.clone())),
    }
}
