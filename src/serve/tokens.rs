//! Access tokens for the REST path: one cached token per tenant and scope
//! (kept in the store, so several servers share it), refreshed a margin
//! before it expires, with one refresh serving every concurrent caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::hipchat_client::{HostClient, HostError};
use super::store::{CachedToken, Store, StoreError, Tenant, TenantStore, now_unix};
use crate::hipchat::capabilities::HostEndpoints;
use crate::hipchat::token::TokenResponse;

/// A token is refreshed once it has less than this many seconds left.
pub const REFRESH_MARGIN_SECS: u64 = 60;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host refused or failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The tenant's stored capabilities document is unreadable.
    #[error("the stored capabilities document of tenant {0} is unreadable; reinstall the add-on")]
    Capabilities(String),
}

type Key = (String, String);

/// The token cache (cheap to clone).
#[derive(Clone, Debug)]
pub struct Tokens {
    store: Store,
    host: HostClient,
    // One lock per tenant+scope, so concurrent callers wait for a single
    // refresh instead of each asking the host.
    refreshing: Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Tokens {
    /// A cache over `store`, fetching from hosts with `host`.
    pub fn new(store: Store, host: HostClient) -> Self {
        Self {
            store,
            host,
            refreshing: Arc::default(),
        }
    }

    /// A token of `tenant` for `scope` with at least the margin left.
    pub async fn get(&self, tenant: &Tenant, scope: &str) -> Result<CachedToken, TokenError> {
        if let Some(token) = self.fresh(&tenant.oauth_id, scope).await? {
            return Ok(token);
        }
        let lock = self.lock_for(&tenant.oauth_id, scope);
        let _guard = lock.lock().await;
        // Someone else may have refreshed while we waited.
        if let Some(token) = self.fresh(&tenant.oauth_id, scope).await? {
            return Ok(token);
        }
        let caps = HostEndpoints::from_value(&tenant.capabilities)
            .map_err(|_| TokenError::Capabilities(tenant.oauth_id.clone()))?;
        let answer = self
            .host
            .token(
                &caps.token_url,
                &tenant.oauth_id,
                &tenant.oauth_secret,
                scope,
            )
            .await?;
        let token = cached(&answer, scope, now_unix());
        self.store.put_token(&tenant.oauth_id, &token).await?;
        tracing::debug!(tenant = %tenant.oauth_id, scope, expires_at = token.expires_at, "fetched an access token");
        Ok(token)
    }

    /// Caches a token obtained elsewhere (the one that proved an install).
    pub async fn remember(
        &self,
        oauth_id: &str,
        answer: &TokenResponse,
        scope: &str,
    ) -> Result<(), StoreError> {
        self.store
            .put_token(oauth_id, &cached(answer, scope, now_unix()))
            .await
    }

    /// Drops the cached token (after the host refused it).
    pub async fn forget(
        &self,
        oauth_id: &str,
        scope: &str,
        old: &CachedToken,
    ) -> Result<(), StoreError> {
        let expired = CachedToken {
            expires_at: 0,
            scope: scope.to_string(),
            ..old.clone()
        };
        self.store.put_token(oauth_id, &expired).await
    }

    async fn fresh(&self, oauth_id: &str, scope: &str) -> Result<Option<CachedToken>, StoreError> {
        let token = self.store.get_token(oauth_id, scope).await?;
        Ok(token.filter(|t| is_fresh(t, now_unix())))
    }

    fn lock_for(&self, oauth_id: &str, scope: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .refreshing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry((oauth_id.to_string(), scope.to_string()))
            .or_default()
            .clone()
    }
}

/// Whether `token` has more than the refresh margin left at `now`.
pub fn is_fresh(token: &CachedToken, now: u64) -> bool {
    token.expires_at > now.saturating_add(REFRESH_MARGIN_SECS)
}

/// The cache entry for a token answer received at `now`, keyed by the
/// scope that was asked for.
pub fn cached(answer: &TokenResponse, scope: &str, now: u64) -> CachedToken {
    CachedToken {
        access_token: answer.access_token.clone(),
        expires_at: now.saturating_add(answer.expires_in),
        scope: scope.to_string(),
        group_id: answer.group_id,
        group_name: answer.group_name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(expires_in: u64) -> TokenResponse {
        serde_json::from_value(serde_json::json!({
            "access_token": "t", "expires_in": expires_in, "group_id": 1,
            "scope": "send_notification", "token_type": "bearer"
        }))
        .unwrap()
    }

    #[test]
    fn a_token_is_stale_a_margin_before_it_expires() {
        let token = cached(&answer(3599), "send_notification", 1000);
        assert_eq!(token.expires_at, 4599);
        assert!(is_fresh(&token, 1000));
        assert!(is_fresh(&token, 4599 - REFRESH_MARGIN_SECS - 1));
        assert!(!is_fresh(&token, 4599 - REFRESH_MARGIN_SECS));
        assert!(!is_fresh(&token, 5000));
    }
}
