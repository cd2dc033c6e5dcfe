//! Where `connect serve` keeps its tenants (installations) and cached access
//! tokens: one [`TenantStore`] trait, four backends, and the [`Store`]
//! handle that dispatches to the configured one.
//!
//! - [`MemoryStore`]: in the process only; installs die with it (explicit opt-in).
//! - [`EmbeddedStore`]: an SQLite file in the project (the development default);
//!   survives restarts and `kill -9`, and can be shared by two processes.
//! - [`RedisStore`]: Redis for production (plain or TLS); several servers
//!   share tenants and tokens, and service resumes by itself after an outage.
//! - [`PostgresStore`]: PostgreSQL for production, the same guarantees.

pub mod embedded;

pub mod legacy;
pub mod memory;
pub mod postgres;
pub mod redis;

mod types;

use std::future::Future;

pub use self::redis::RedisStore;
/// Which backend to open; resolved from `config.json` by [`crate::config`].
pub use crate::config::{LegacyMode, StoreConfig};
pub use embedded::EmbeddedStore;
pub use memory::MemoryStore;
pub use postgres::PostgresStore;

pub(crate) use types::describe_json_error;
pub use types::{CachedToken, StoredTenant, Tenant, now_unix};

/// Why a store operation failed. Messages never contain secrets or tokens.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached right now (Redis down, SQLite file
    /// locked too long); worth retrying later. HTTP: 503.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with data this version cannot read. HTTP: 500.
    #[error("the store holds unreadable data: {0}")]
    Corrupt(String),
    /// The store could not be opened as configured (bad URL, a directory
    /// instead of a file, a file that is not a database...). Fatal at startup.
    #[error("cannot open the store: {0}")]
    Open(String),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Tenants and their cached access tokens, whatever keeps them.
///
/// Every method is safe to call concurrently from many tasks.
pub trait TenantStore {
    /// The tenant installed under `oauth_id`, if any.
    fn get_tenant(
        &self,
        oauth_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;

    /// Stores `tenant` under its `oauth_id`, replacing any previous one.
    fn put_tenant(&self, tenant: &Tenant) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes the tenant and everything it owns (its cached tokens included).
    /// Deleting an unknown tenant is not an error.
    fn delete_tenant(&self, oauth_id: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// The cached token of `oauth_id` for `scope`, unless it has expired.
    fn get_token(
        &self,
        oauth_id: &str,
        scope: &str,
    ) -> impl Future<Output = StoreResult<Option<CachedToken>>> + Send;

    /// Caches `token` for `oauth_id` under `token.scope` until `token.expires_at`,
    /// replacing any previous token of that scope. An already expired token
    /// is not stored (and removes the previous one).
    fn put_token(
        &self,
        oauth_id: &str,
        token: &CachedToken,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Checks that the backend answers (for `/healthz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// How many tenants the store holds.
    fn count_tenants(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Every tenant, each with where it is kept; a record that cannot be
    /// read is listed with why, not skipped.
    fn list_tenants(&self) -> impl Future<Output = StoreResult<Vec<StoredTenant>>> + Send;

    /// Stores `tenant` unless one with its oauthId exists; whether it was
    /// stored. Several instances racing: exactly one stores it.
    fn insert_tenant_if_absent(
        &self,
        tenant: &Tenant,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Stores every tenant of `tenants`, replacing ones with the same
    /// oauthId, all or none.
    fn put_tenants(&self, tenants: &[Tenant]) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A handle on the configured store; cheap to clone (all clones share one
/// backend).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    metrics: crate::serve::metrics::Metrics,
    legacy: legacy::LegacySettings,
    presence: std::sync::Arc<legacy::Presence>,
}

#[derive(Clone, Debug)]
enum Backend {
    Memory(MemoryStore),
    Embedded(EmbeddedStore),
    Redis(RedisStore),
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the store `config` describes. `key_prefix` namespaces shared
    /// backends (Redis keys start with `<key_prefix>:`), e.g.
    /// `connect:<addon key>`; the others ignore it.
    ///
    /// Redis and PostgreSQL are connected lazily, so a server that is down at startup does
    /// not prevent opening; call [`TenantStore::ping`] to check it.
    pub async fn open(config: &StoreConfig, key_prefix: &str) -> StoreResult<Store> {
        let backend = match config {
            StoreConfig::Memory => Backend::Memory(MemoryStore::new()),
            StoreConfig::Embedded { path } => Backend::Embedded(EmbeddedStore::open(path).await?),
            StoreConfig::Redis { url, tls } => {
                Backend::Redis(RedisStore::open(url, tls, key_prefix)?)
            }
            StoreConfig::Postgres { url, tls, pool } => {
                Backend::Postgres(PostgresStore::open(url, tls, key_prefix, *pool)?)
            }
        };
        Ok(Store {
            backend,
            metrics: crate::serve::metrics::Metrics::disabled(),
            legacy: legacy::LegacySettings::default(),
            presence: std::sync::Arc::default(),
        })
    }

    /// Records every call's outcome and time in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::serve::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Short name of the backend: `memory`, `embedded`, `redis` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Memory(_) => "memory",
            Backend::Embedded(_) => "embedded",
            Backend::Redis(_) => "redis",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where the data lives, safe to log: the SQLite path, or the Redis
    /// address without its password.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Memory(_) => "memory (installs are lost when the process exits)".to_owned(),
            Backend::Embedded(s) => format!("SQLite file {}", s.path().display()),
            Backend::Redis(s) => format!("Redis at {}", s.address()),
            Backend::Postgres(s) => {
                format!("PostgreSQL at {} ({})", s.address(), s.tls_summary())
            }
        }
    }
}

// One match per method keeps the dispatch static (no boxed futures); each
// call is timed and counted when metrics are on.
macro_rules! dispatch {
    ($self:ident, $op:literal, $store:ident => $call:expr) => {{
        let started = $self.metrics.is_enabled().then(std::time::Instant::now);
        let outcome = match &$self.backend {
            Backend::Memory($store) => $call.await,
            Backend::Embedded($store) => $call.await,
            Backend::Redis($store) => $call.await,
            Backend::Postgres($store) => $call.await,
        };
        if let Some(started) = started {
            let label = match &outcome {
                Ok(_) => "ok",
                Err(StoreError::Unavailable(_)) => "unavailable",
                Err(StoreError::Corrupt(_)) => "corrupt",
                Err(StoreError::Open(_)) => "error",
            };
            $self.metrics.store_call($op, label, started.elapsed());
        }
        outcome
    }};
}

impl TenantStore for Store {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        dispatch!(self, "get_tenant", s => s.get_tenant(oauth_id))
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        dispatch!(self, "put_tenant", s => s.put_tenant(tenant))
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        dispatch!(self, "delete_tenant", s => s.delete_tenant(oauth_id))
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        dispatch!(self, "get_token", s => s.get_token(oauth_id, scope))
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        dispatch!(self, "put_token", s => s.put_token(oauth_id, token))
    }

    async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, "ping", s => s.ping())
    }

    async fn count_tenants(&self) -> StoreResult<u64> {
        dispatch!(self, "count_tenants", s => s.count_tenants())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<StoredTenant>> {
        dispatch!(self, "list_tenants", s => s.list_tenants())
    }

    async fn insert_tenant_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        dispatch!(self, "insert_tenant", s => s.insert_tenant_if_absent(tenant))
    }

    async fn put_tenants(&self, tenants: &[Tenant]) -> StoreResult<()> {
        dispatch!(self, "put_tenants", s => s.put_tenants(tenants))
    }
}
