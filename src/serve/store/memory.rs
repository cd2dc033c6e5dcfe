//! The in-process store: fast, and lost when the process exits. Only used
//! when a project asks for it explicitly.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::RwLock;

use super::{CachedToken, StoreResult, StoredTenant, Tenant, TenantStore, now_unix};

/// Tenants and tokens in a map shared by every clone.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    tenants: HashMap<String, Tenant>,
    // oauth_id -> scope -> token: deleting a tenant drops all its tokens at once.
    tokens: HashMap<String, HashMap<String, CachedToken>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl TenantStore for MemoryStore {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        Ok(self.inner.read().await.tenants.get(oauth_id).cloned())
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let mut inner = self.inner.write().await;
        inner
            .tenants
            .insert(tenant.oauth_id.clone(), tenant.clone());
        Ok(())
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        let mut inner = self.inner.write().await;
        inner.tenants.remove(oauth_id);
        inner.tokens.remove(oauth_id);
        Ok(())
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        let inner = self.inner.read().await;
        let token = inner
            .tokens
            .get(oauth_id)
            .and_then(|by_scope| by_scope.get(scope));
        Ok(token.filter(|t| !t.is_expired_at(now_unix())).cloned())
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        let now = now_unix();
        let mut inner = self.inner.write().await;
        let by_scope = inner.tokens.entry(oauth_id.to_owned()).or_default();
        // Expired tokens are dropped here so the map cannot grow without bound.
        by_scope.retain(|_, t| !t.is_expired_at(now));
        if token.is_expired_at(now) {
            by_scope.remove(&token.scope);
        } else {
            by_scope.insert(token.scope.clone(), token.clone());
        }
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn count_tenants(&self) -> StoreResult<u64> {
        Ok(self.inner.read().await.tenants.len() as u64)
    }

    async fn list_tenants(&self) -> StoreResult<Vec<StoredTenant>> {
        let inner = self.inner.read().await;
        let mut tenants: Vec<StoredTenant> = inner
            .tenants
            .values()
            .map(|t| StoredTenant {
                oauth_id: t.oauth_id.clone(),
                place: "memory".into(),
                tenant: Ok(t.clone()),
            })
            .collect();
        tenants.sort_by_key(place_order);
        Ok(tenants)
    }

    async fn insert_tenant_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        let mut inner = self.inner.write().await;
        if inner.tenants.contains_key(&tenant.oauth_id) {
            return Ok(false);
        }
        inner
            .tenants
            .insert(tenant.oauth_id.clone(), tenant.clone());
        Ok(true)
    }

    async fn put_tenants(&self, tenants: &[Tenant]) -> StoreResult<()> {
        let mut inner = self.inner.write().await;
        for tenant in tenants {
            inner
                .tenants
                .insert(tenant.oauth_id.clone(), tenant.clone());
        }
        Ok(())
    }
}

fn place_order(t: &StoredTenant) -> String {
    t.tenant
        .as_ref()
        .map(|t| t.oauth_id.clone())
        .unwrap_or_default()
}
