//! A short-lived, in-process cache of tenants for the webhook path, so a
//! busy room does not cost a store round trip per message.
//!
//! Staleness is bounded and safe: entries live [`TENANT_TTL`]; this
//! process's installs and uninstalls update it at once; and a webhook whose
//! JWT fails against a cached secret is checked again against the store
//! (the tenant may have been re-installed through another server).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::store::Tenant;

/// How long a tenant read from the store is reused.
pub const TENANT_TTL: Duration = Duration::from_secs(5);
/// At most this many tenants are kept.
const MAX_TENANTS: usize = 10_000;

type Entries = HashMap<String, (Instant, Arc<Tenant>)>;

/// The cache (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct TenantCache {
    entries: Arc<Mutex<Entries>>,
}

impl TenantCache {
    /// The tenant, if read from the store less than [`TENANT_TTL`] ago.
    pub fn get(&self, oauth_id: &str) -> Option<Arc<Tenant>> {
        let entries = self.lock();
        entries
            .get(oauth_id)
            .filter(|(at, _)| at.elapsed() < TENANT_TTL)
            .map(|(_, tenant)| tenant.clone())
    }

    /// Remembers a tenant just read from the store.
    pub fn insert(&self, tenant: Arc<Tenant>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_TENANTS {
            entries.retain(|_, (at, _)| at.elapsed() < TENANT_TTL);
            if entries.len() >= MAX_TENANTS {
                entries.clear();
            }
        }
        entries.insert(tenant.oauth_id.clone(), (Instant::now(), tenant));
    }

    /// Forgets a tenant (installed again, or uninstalled).
    pub fn forget(&self, oauth_id: &str) {
        self.lock().remove(oauth_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Arc<Tenant> {
        Arc::new(Tenant {
            oauth_id: id.into(),
            oauth_secret: "s".into(),
            capabilities_url: "http://h/c".into(),
            capabilities: serde_json::Value::Null,
            room_id: None,
            group_id: 1,
            group_name: None,
            installed_at: 0,
            stale_since: None,
        })
    }

    #[test]
    fn remembers_and_forgets_tenants() {
        let cache = TenantCache::default();
        assert!(cache.get("a").is_none());
        cache.insert(tenant("a"));
        assert_eq!(cache.get("a").unwrap().oauth_id, "a");
        cache.forget("a");
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = TenantCache::default();
        for i in 0..MAX_TENANTS + 10 {
            cache.insert(tenant(&i.to_string()));
        }
        assert!(cache.lock().len() <= MAX_TENANTS);
    }
}
