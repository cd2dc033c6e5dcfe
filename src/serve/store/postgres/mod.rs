//! The PostgreSQL store, for production: several `connect serve` processes
//! share tenants and tokens (atlassian-connect-express's production store
//! since 3.0; `DATABASE_URL` on Heroku), directly or through a pooler in
//! transaction mode (see `connect`).
//!
//! Tables (created on first contact, idempotently, under a
//! transaction-scoped advisory lock so instances starting together do not
//! race; `connect_schema` records the version so later changes can
//! migrate):
//! - `connect_tenants (addon, oauth_id, data jsonb, updated_at)`;
//! - `connect_tokens (addon, oauth_id, scope, expires_at, data jsonb)`.
//!
//! `addon` is the key prefix (`connect:<descriptor key>`), so several add-ons
//! can share one database. A commit is durable before the call returns, so
//! an install answered 204 survives `kill -9` of every instance. Calls fail
//! fast with [`StoreError::Unavailable`] while the server is down and work
//! again by themselves once it is back (the pool reconnects).

mod connect;
mod errors;
mod legacy;
mod schema;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Object, Pool, PoolError};
use tokio::sync::OnceCell;
use tokio_postgres::types::Type;

use super::types::{decode, encode};
use super::{CachedToken, StoreError, StoreResult, StoredTenant, Tenant, TenantStore, now_unix};
use crate::config::TlsOptions;
use crate::tls::Configured;

pub use connect::{DEFAULT_POOL, SslMode, is_local_host, ssl_mode};

/// Upper bound on one store call, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_millis(900);
/// A statement running longer is cancelled by the server (set per
/// transaction: a pooler does not keep session settings).
const STATEMENT_TIMEOUT: &str = "5s";
/// What every write transaction sets first.
const SET_TIMEOUT: &str = "SET LOCAL statement_timeout = '5s'";

/// A store in a PostgreSQL database; clones share one connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    addon: Arc<str>,
    address: Arc<str>,
    tls: Arc<str>,
    configured: Arc<Configured>,
    schema: Arc<OnceCell<()>>,
    legacy_layout: Arc<std::sync::OnceLock<legacy::Layout>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("address", &self.address)
            .field("addon", &self.addon)
            .finish()
    }
}

impl PostgresStore {
    /// Prepares a store in the database at `url`
    /// (`postgres://user:password@host:port/database[?sslmode=...]`), its
    /// records under `key_prefix`, with at most `pool` connections.
    /// Connects lazily: a server that is down now only makes calls fail
    /// with [`StoreError::Unavailable`] until it is up.
    pub fn open(
        url: &str,
        tls: &TlsOptions,
        key_prefix: &str,
        pool: u32,
    ) -> StoreResult<PostgresStore> {
        let opened = connect::open(url, tls, pool)?;
        Ok(PostgresStore {
            pool: opened.pool,
            addon: Arc::from(key_prefix),
            tls: Arc::from(connect::summary(opened.mode, &opened.trust)),
            configured: Arc::new(opened.trust.configured()),
            address: Arc::from(opened.address),
            schema: Arc::new(OnceCell::new()),
            legacy_layout: Arc::default(),
        })
    }

    /// The server's URL without its password, safe to log.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// How the connection is secured, e.g. `sslmode=require: TLS,
    /// certificate not verified`.
    pub fn tls_summary(&self) -> &str {
        &self.tls
    }

    fn error(&self, what: &str, err: &tokio_postgres::Error) -> StoreError {
        errors::describe(err, &self.address, what, &self.configured)
    }

    fn pool_error(&self, what: &str, err: PoolError) -> StoreError {
        match err {
            PoolError::Backend(e) => self.error(what, &e),
            PoolError::Timeout(_) => errors::timed_out(&self.address, what),
            other => StoreError::Unavailable(format!(
                "PostgreSQL at {} failed while {what}: {other}",
                self.address
            )),
        }
    }

    // A connection from the pool, the tables created first.
    async fn client(&self, what: &str) -> StoreResult<Object> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| self.pool_error(what, e))?;
        self.schema
            .get_or_try_init(|| schema::ensure(&client, &self.address))
            .await
            .map_err(|e| match e {
                schema::SchemaError::Postgres(e) => self.error("creating the tables", &e),
                schema::SchemaError::Newer(message) => StoreError::Unavailable(message),
            })?;
        Ok(client)
    }

    // Runs `op` within CALL_TIMEOUT. A connection that broke while idle
    // (server restarted, pooler recycled it) is retried once on a new one.
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> StoreResult<T>
    where
        F: Fn(Object) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let attempt = async {
            let client = self.client(what).await?;
            match op(client).await {
                Err(e) if e.is_closed() || e.as_db_error().is_none() && is_io(&e) => {
                    let client = self.client(what).await?;
                    op(client).await.map_err(|e| self.error(what, &e))
                }
                other => other.map_err(|e| self.error(what, &e)),
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(errors::timed_out(&self.address, what)),
        }
    }
}

fn is_io(err: &tokio_postgres::Error) -> bool {
    std::error::Error::source(err).is_some_and(|s| s.is::<std::io::Error>())
}

fn sql_time(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl TenantStore for PostgresStore {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        let data: Option<String> = self
            .run("reading a tenant", |client| async move {
                client
                    .query_typed_opt(
                        "SELECT data::text FROM connect_tenants WHERE addon = $1 AND oauth_id = $2",
                        &[(&&*self.addon, Type::TEXT), (&oauth_id, Type::TEXT)],
                    )
                    .await
                    .map(|row| row.map(|r| r.get(0)))
            })
            .await?;
        data.map(|d| decode(&d, &format!("tenant record {oauth_id:?}"), "PostgreSQL"))
            .transpose()
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let data = encode(tenant)?;
        self.run("storing a tenant", |mut client| {
            let data = data.clone();
            async move {
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                tx.execute_typed(
                    "INSERT INTO connect_tenants (addon, oauth_id, data, updated_at) VALUES ($1, $2, $3::jsonb, $4)
                     ON CONFLICT (addon, oauth_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                    &[
                        (&&*self.addon, Type::TEXT),
                        (&tenant.oauth_id, Type::TEXT),
                        (&data, Type::TEXT),
                        (&sql_time(now_unix()), Type::INT8),
                    ],
                )
                .await?;
                tx.commit().await
            }
        })
        .await
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        self.run("deleting a tenant", |mut client| async move {
            let tx = client.transaction().await?;
            tx.batch_execute(SET_TIMEOUT).await?;
            // One statement, so the tenant and its tokens go together.
            tx.execute_typed(
                "WITH tokens AS (DELETE FROM connect_tokens WHERE addon = $1 AND oauth_id = $2)
                 DELETE FROM connect_tenants WHERE addon = $1 AND oauth_id = $2",
                &[(&&*self.addon, Type::TEXT), (&oauth_id, Type::TEXT)],
            )
            .await?;
            tx.commit().await
        })
        .await
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        let data: Option<String> = self
            .run("reading a token", |client| async move {
                client
                    .query_typed_opt(
                        "SELECT data::text FROM connect_tokens
                         WHERE addon = $1 AND oauth_id = $2 AND scope = $3 AND expires_at > $4",
                        &[
                            (&&*self.addon, Type::TEXT),
                            (&oauth_id, Type::TEXT),
                            (&scope, Type::TEXT),
                            (&sql_time(now_unix()), Type::INT8),
                        ],
                    )
                    .await
                    .map(|row| row.map(|r| r.get(0)))
            })
            .await?;
        data.map(|d| decode(&d, &format!("token record of {oauth_id:?}"), "PostgreSQL"))
            .transpose()
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        let data = encode(token)?;
        let expires_at = sql_time(token.expires_at);
        self.run("storing a token", |mut client| {
            let data = data.clone();
            async move {
                let now = sql_time(now_unix());
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                // Expired tokens of this add-on go here, so the table cannot
                // grow without bound.
                tx.execute_typed(
                    "DELETE FROM connect_tokens WHERE addon = $1 AND expires_at <= $2",
                    &[(&&*self.addon, Type::TEXT), (&now, Type::INT8)],
                )
                .await?;
                if expires_at <= now {
                    tx.execute_typed(
                        "DELETE FROM connect_tokens WHERE addon = $1 AND oauth_id = $2 AND scope = $3",
                        &[
                            (&&*self.addon, Type::TEXT),
                            (&oauth_id, Type::TEXT),
                            (&token.scope, Type::TEXT),
                        ],
                    )
                    .await?;
                } else {
                    tx.execute_typed(
                        "INSERT INTO connect_tokens (addon, oauth_id, scope, expires_at, data) VALUES ($1, $2, $3, $4, $5::jsonb)
                         ON CONFLICT (addon, oauth_id, scope) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data",
                        &[
                            (&&*self.addon, Type::TEXT),
                            (&oauth_id, Type::TEXT),
                            (&token.scope, Type::TEXT),
                            (&expires_at, Type::INT8),
                            (&data, Type::TEXT),
                        ],
                    )
                    .await?;
                }
                tx.commit().await
            }
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run("checking that it answers", |client| async move {
            client.simple_query("SELECT 1").await.map(drop)
        })
        .await
    }

    async fn count_tenants(&self) -> StoreResult<u64> {
        self.run("counting the tenants", |client| async move {
            client
                .query_typed_one(
                    "SELECT count(*) FROM connect_tenants WHERE addon = $1",
                    &[(&&*self.addon, Type::TEXT)],
                )
                .await
                .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
        .await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<StoredTenant>> {
        let rows: Vec<(String, String)> = self
            .run("listing the tenants", |client| async move {
                client
                    .query_typed(
                        "SELECT oauth_id, data::text FROM connect_tenants WHERE addon = $1 ORDER BY oauth_id",
                        &[(&&*self.addon, Type::TEXT)],
                    )
                    .await
                    .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(oauth_id, data)| StoredTenant {
                place: format!("PostgreSQL at {}, table connect_tenants", self.address),
                oauth_id: oauth_id.clone(),
                tenant: decode(&data, &format!("tenant record {oauth_id:?}"), "PostgreSQL")
                    .map_err(|e| e.to_string()),
            })
            .collect())
    }

    async fn insert_tenant_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        let data = encode(tenant)?;
        self.run("storing a tenant", |mut client| {
            let data = data.clone();
            async move {
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                let inserted = tx
                    .execute_typed(
                        "INSERT INTO connect_tenants (addon, oauth_id, data, updated_at) VALUES ($1, $2, $3::jsonb, $4)
                         ON CONFLICT (addon, oauth_id) DO NOTHING",
                        &[
                            (&&*self.addon, Type::TEXT),
                            (&tenant.oauth_id, Type::TEXT),
                            (&data, Type::TEXT),
                            (&sql_time(now_unix()), Type::INT8),
                        ],
                    )
                    .await?;
                tx.commit().await?;
                Ok(inserted == 1)
            }
        })
        .await
    }

    async fn put_tenants(&self, tenants: &[Tenant]) -> StoreResult<()> {
        let rows: Vec<(String, String)> = tenants
            .iter()
            .map(|t| Ok((t.oauth_id.clone(), encode(t)?)))
            .collect::<StoreResult<_>>()?;
        self.run("storing tenants", |mut client| {
            let rows = rows.clone();
            async move {
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                let now = sql_time(now_unix());
                for (oauth_id, data) in &rows {
                    tx.execute_typed(
                        "INSERT INTO connect_tenants (addon, oauth_id, data, updated_at) VALUES ($1, $2, $3::jsonb, $4)
                         ON CONFLICT (addon, oauth_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                        &[
                            (&&*self.addon, Type::TEXT),
                            (oauth_id, Type::TEXT),
                            (data, Type::TEXT),
                            (&now, Type::INT8),
                        ],
                    )
                    .await?;
                }
                tx.commit().await
            }
        })
        .await
    }
}
