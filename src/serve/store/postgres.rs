//! The PostgreSQL store, for production: several `connect serve` processes
//! share tenants and tokens (atlassian-connect-express's production store
//! since 3.0; `DATABASE_URL` on Heroku).
//!
//! Tables (created on first contact, idempotently, under an advisory lock so
//! instances starting together do not race; `connect_schema` records the
//! version so later changes can migrate):
//! - `connect_tenants (addon, oauth_id, data jsonb, updated_at)`;
//! - `connect_tokens (addon, oauth_id, scope, expires_at, data jsonb)`.
//!
//! `addon` is the key prefix (`connect:<descriptor key>`), so several add-ons
//! can share one database. A commit is durable before the call returns, so
//! an install answered 204 survives `kill -9` of every instance. Calls fail
//! fast with [`StoreError::Unavailable`] while the server is down and work
//! again by themselves once it is back (the pool reconnects).
//!
//! TLS: `sslmode` in the URL is honoured; without it, `require` (encrypted,
//! certificate not verified, what Heroku Postgres needs) for any host that
//! is not this machine.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Row};
use tokio::sync::OnceCell;

use super::tls::certificate_problem;
use super::types::{decode, encode};
use super::{CachedToken, StoreError, StoreResult, Tenant, TenantStore, now_unix};
use crate::config::{TlsOptions, redact_url};

/// The schema this version writes.
pub const SCHEMA_VERSION: i32 = 1;

/// Upper bound on one store call, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_millis(900);
/// Connections kept per process.
const MAX_CONNECTIONS: u32 = 16;
/// A statement running longer is cancelled by the server.
const STATEMENT_TIMEOUT: &str = "5s";
// Any constant works: it only has to be the same in every instance.
const MIGRATION_LOCK: i64 = 0x636f_6e6e_6563_7401;

const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE connect_tenants (
        addon      TEXT NOT NULL,
        oauth_id   TEXT NOT NULL,
        data       JSONB NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (addon, oauth_id)
    )",
    "CREATE TABLE connect_tokens (
        addon      TEXT NOT NULL,
        oauth_id   TEXT NOT NULL,
        scope      TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        data       JSONB NOT NULL,
        PRIMARY KEY (addon, oauth_id, scope)
    )",
    "CREATE INDEX connect_tokens_by_expiry ON connect_tokens (expires_at)",
];

/// A store in a PostgreSQL database; clones share one connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    addon: Arc<str>,
    address: Arc<str>,
    tls: Arc<str>,
    schema: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("address", &self.address)
            .field("addon", &self.addon)
            .finish()
    }
}

/// The `sslmode` a URL asks for, if it names one.
fn url_ssl_mode(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "sslmode" || k == "ssl-mode")
        .map(|(_, v)| v.to_ascii_lowercase())
}

/// Whether `host` is this machine (a loopback address, `localhost`, or a
/// Unix socket directory).
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The TLS mode to connect with: the URL's `sslmode` if it has one, else
/// `require` for a remote host and `prefer` for this machine; the store's
/// `tls` settings then tighten (`ca`: verify-full) or loosen
/// (`rejectUnauthorized: false`: require) it.
pub fn ssl_mode(url_mode: Option<&str>, host: &str, tls: &TlsOptions) -> Result<PgSslMode, String> {
    let mode = match url_mode {
        Some(m) => PgSslMode::from_str(m).map_err(|_| {
            format!("sslmode `{m}` is not one of disable, allow, prefer, require, verify-ca, verify-full")
        })?,
        None if is_local_host(host) => PgSslMode::Prefer,
        None => PgSslMode::Require,
    };
    match (mode, tls.verify, tls.ca.is_some()) {
        (PgSslMode::VerifyCa | PgSslMode::VerifyFull, false, _) => Err(
            "the URL asks for a verified certificate (sslmode=verify-ca/verify-full) but `tls.rejectUnauthorized` is false; keep one of them".into(),
        ),
        (PgSslMode::Disable | PgSslMode::Allow, _, true) => Err(
            "`tls.ca` is set but the URL's sslmode does not use TLS; remove one of them".into(),
        ),
        (_, false, _) => Ok(PgSslMode::Require),
        (PgSslMode::VerifyCa, _, true) => Ok(PgSslMode::VerifyCa),
        (_, _, true) => Ok(PgSslMode::VerifyFull),
        (mode, true, false) => Ok(mode),
    }
}

/// The libpq name of a mode (`require`, `verify-full`, ...).
pub fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

impl PostgresStore {
    /// Prepares a store in the database at `url`
    /// (`postgres://user:password@host:port/database[?sslmode=...]`), its
    /// records under `key_prefix`. Connects lazily: a server that is down now
    /// only makes calls fail with [`StoreError::Unavailable`] until it is up.
    pub fn open(url: &str, tls: &TlsOptions, key_prefix: &str) -> StoreResult<PostgresStore> {
        let url = url.trim();
        let address = redact_url(url);
        let invalid = |why: String| {
            StoreError::Open(format!(
                "invalid PostgreSQL URL {address} ({why}): expected postgres://user:password@host:5432/database"
            ))
        };
        let parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let mut options = PgConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
        let host = parsed.host_str().unwrap_or("").to_string();
        let mode = ssl_mode(url_ssl_mode(&parsed).as_deref(), &host, tls).map_err(invalid)?;
        options = options.ssl_mode(mode).application_name("connect");
        if let Some(ca) = &tls.ca {
            let pem = std::fs::read(ca).map_err(|e| {
                StoreError::Open(format!(
                    "cannot read the CA file {} given as the store's `tls.ca`: {e}",
                    ca.display()
                ))
            })?;
            options = options.ssl_root_cert_from_pem(pem);
        }
        options = options
            .options([("statement_timeout", STATEMENT_TIMEOUT)])
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(CALL_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            // A dead connection shows itself on use and is retried once;
            // a ping before every query would double the round trips.
            .test_before_acquire(false)
            .connect_lazy_with(options);
        let tls_note = match mode {
            PgSslMode::Disable => "no TLS",
            PgSslMode::Allow | PgSslMode::Prefer => "TLS if the server offers it",
            PgSslMode::Require if tls.ca.is_none() => "TLS, certificate not verified",
            PgSslMode::Require | PgSslMode::VerifyCa => "TLS, CA verified",
            PgSslMode::VerifyFull => "TLS, certificate verified",
        };
        Ok(PostgresStore {
            pool,
            addon: Arc::from(key_prefix),
            address: Arc::from(address),
            tls: Arc::from(format!("sslmode={}: {tls_note}", ssl_mode_name(mode))),
            schema: Arc::new(OnceCell::new()),
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

    // Creates or upgrades the tables once per process (retried on the next
    // call if it fails, e.g. while the server is down).
    async fn ensure_schema(&self) -> StoreResult<()> {
        self.schema
            .get_or_try_init(|| async {
                let mut tx = self.pool.begin().await.map_err(|e| self.error("creating the tables", &e))?;
                let fail = |e: sqlx::Error| self.error("creating the tables", &e);
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS connect_schema (
                        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                        version  INTEGER NOT NULL
                    )",
                )
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                let version: Option<i32> = sqlx::query_scalar("SELECT version FROM connect_schema")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
                match version {
                    None => {
                        for statement in SCHEMA_V1 {
                            sqlx::query(*statement).execute(&mut *tx).await.map_err(fail)?;
                        }
                        sqlx::query("INSERT INTO connect_schema (version) VALUES ($1)")
                            .bind(SCHEMA_VERSION)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                        tracing::info!(store = %self.address, version = SCHEMA_VERSION, "created the store's tables");
                    }
                    Some(SCHEMA_VERSION) => {}
                    Some(newer) => {
                        return Err(StoreError::Unavailable(format!(
                            "PostgreSQL at {}: the database was set up by a newer connect (store schema {newer}, this one knows {SCHEMA_VERSION}); upgrade connect or use another database",
                            self.address
                        )));
                    }
                }
                tx.commit().await.map_err(fail)
            })
            .await
            .map(|_| ())
    }

    // Runs `op` within CALL_TIMEOUT, once the tables exist. A connection
    // that broke while idle (server restarted) is retried once.
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> StoreResult<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let attempt = async {
            self.ensure_schema().await?;
            let outcome = match op(self.pool.clone()).await {
                Err(e) if is_broken_connection(&e) => op(self.pool.clone()).await,
                other => other,
            };
            outcome.map_err(|e| self.error(what, &e))
        };
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL at {} did not answer within {} ms while {what}",
                self.address,
                CALL_TIMEOUT.as_millis()
            ))),
        }
    }

    fn error(&self, what: &str, err: &sqlx::Error) -> StoreError {
        let address = &self.address;
        if let Some(problem) = certificate_problem(err) {
            return StoreError::Unavailable(format!(
                "PostgreSQL at {address} presented a TLS certificate that does not verify ({problem}) while {what}. \
                 To trust it, give its CA file as \"tls\": {{\"ca\": \"path/to/ca.pem\"}} in the store settings (or sslrootcert= in the URL); \
                 to accept it unverified, use sslmode=require in the URL or \"tls\": {{\"rejectUnauthorized\": false}}"
            ));
        }
        match err {
            sqlx::Error::PoolTimedOut => StoreError::Unavailable(format!(
                "PostgreSQL at {address} did not answer within {} ms while {what}",
                CALL_TIMEOUT.as_millis()
            )),
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                match code.as_str() {
                    "28P01" | "28000" => StoreError::Unavailable(format!(
                        "PostgreSQL at {address} refused the credentials while {what}: check the user and password in the URL"
                    )),
                    "3D000" => StoreError::Unavailable(format!(
                        "PostgreSQL at {address}: the database does not exist (while {what}); create it (createdb) or fix the URL's path"
                    )),
                    "42501" => StoreError::Unavailable(format!(
                        "PostgreSQL at {address} denied a permission while {what}: the user needs to create and use tables in the database"
                    )),
                    _ => StoreError::Unavailable(format!(
                        "PostgreSQL at {address} failed while {what}: server error {code}"
                    )),
                }
            }
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(format!(
                "PostgreSQL at {address} answered something unexpected while {what}"
            )),
            sqlx::Error::Tls(e) => StoreError::Unavailable(format!(
                "PostgreSQL at {address}: TLS failed while {what}: {e}; if the server does not offer TLS, add ?sslmode=disable to the URL"
            )),
            other => StoreError::Unavailable(format!(
                "PostgreSQL at {address} failed while {what}: {}",
                one_line(&other.to_string())
            )),
        }
    }
}

fn is_broken_connection(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Io(_) | sqlx::Error::Protocol(_))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sql_time(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl TenantStore for PostgresStore {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        let data: Option<String> = self
            .run("reading a tenant", |pool| async move {
                sqlx::query_scalar(
                    "SELECT data::text FROM connect_tenants WHERE addon = $1 AND oauth_id = $2",
                )
                .bind(&*self.addon)
                .bind(oauth_id)
                .fetch_optional(&pool)
                .await
            })
            .await?;
        data.map(|d| decode(&d, &format!("tenant record {oauth_id:?}"), "PostgreSQL"))
            .transpose()
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let data = encode(tenant)?;
        self.run("storing a tenant", |pool| {
            let data = data.clone();
            async move {
                sqlx::query(
                    "INSERT INTO connect_tenants (addon, oauth_id, data, updated_at) VALUES ($1, $2, $3::jsonb, $4)
                     ON CONFLICT (addon, oauth_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                )
                .bind(&*self.addon)
                .bind(&tenant.oauth_id)
                .bind(data)
                .bind(sql_time(now_unix()))
                .execute(&pool)
                .await
                .map(drop)
            }
        })
        .await
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        self.run("deleting a tenant", |pool| async move {
            // One statement, so the tenant and its tokens go together.
            sqlx::query(
                "WITH tokens AS (DELETE FROM connect_tokens WHERE addon = $1 AND oauth_id = $2)
                 DELETE FROM connect_tenants WHERE addon = $1 AND oauth_id = $2",
            )
            .bind(&*self.addon)
            .bind(oauth_id)
            .execute(&pool)
            .await
            .map(drop)
        })
        .await
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        let data: Option<String> = self
            .run("reading a token", |pool| async move {
                sqlx::query_scalar(
                    "SELECT data::text FROM connect_tokens
                     WHERE addon = $1 AND oauth_id = $2 AND scope = $3 AND expires_at > $4",
                )
                .bind(&*self.addon)
                .bind(oauth_id)
                .bind(scope)
                .bind(sql_time(now_unix()))
                .fetch_optional(&pool)
                .await
            })
            .await?;
        data.map(|d| decode(&d, &format!("token record of {oauth_id:?}"), "PostgreSQL"))
            .transpose()
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        let data = encode(token)?;
        let expires_at = sql_time(token.expires_at);
        self.run("storing a token", |pool| {
            let data = data.clone();
            async move {
                let now = sql_time(now_unix());
                let mut tx = pool.begin().await?;
                // Expired tokens of this add-on go here, so the table cannot
                // grow without bound.
                sqlx::query("DELETE FROM connect_tokens WHERE addon = $1 AND expires_at <= $2")
                    .bind(&*self.addon)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if expires_at <= now {
                    sqlx::query(
                        "DELETE FROM connect_tokens WHERE addon = $1 AND oauth_id = $2 AND scope = $3",
                    )
                    .bind(&*self.addon)
                    .bind(oauth_id)
                    .bind(&token.scope)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO connect_tokens (addon, oauth_id, scope, expires_at, data) VALUES ($1, $2, $3, $4, $5::jsonb)
                         ON CONFLICT (addon, oauth_id, scope) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data",
                    )
                    .bind(&*self.addon)
                    .bind(oauth_id)
                    .bind(&token.scope)
                    .bind(expires_at)
                    .bind(data)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run("checking that it answers", |pool| async move {
            sqlx::query("SELECT 1").fetch_one(&pool).await.map(|row| {
                let _: i32 = row.get(0);
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url_mode: Option<&str>, host: &str, tls: &TlsOptions) -> Result<&'static str, String> {
        ssl_mode(url_mode, host, tls).map(ssl_mode_name)
    }

    fn tls(verify: bool, ca: bool) -> TlsOptions {
        TlsOptions {
            verify,
            ca: ca.then(|| "/ca.pem".into()),
        }
    }

    #[test]
    fn remote_hosts_get_encryption_by_default_and_this_machine_gets_prefer() {
        let t = TlsOptions::default();
        assert_eq!(
            mode(None, "ec2-1-2-3-4.compute-1.amazonaws.com", &t),
            Ok("require")
        );
        assert_eq!(mode(None, "10.0.0.5", &t), Ok("require"));
        for local in ["127.0.0.1", "localhost", "[::1]", "/var/run/postgresql", ""] {
            assert_eq!(mode(None, local, &t), Ok("prefer"), "{local}");
        }
    }

    #[test]
    fn the_urls_sslmode_is_honoured() {
        let t = TlsOptions::default();
        assert_eq!(mode(Some("disable"), "db.example", &t), Ok("disable"));
        assert_eq!(
            mode(Some("verify-full"), "db.example", &t),
            Ok("verify-full")
        );
        assert!(
            ssl_mode(Some("sometimes"), "db.example", &t)
                .unwrap_err()
                .contains("verify-full")
        );
    }

    #[test]
    fn tls_settings_tighten_or_loosen_the_mode_and_contradictions_are_errors() {
        assert_eq!(
            mode(None, "db.example", &tls(true, true)),
            Ok("verify-full")
        );
        assert_eq!(
            mode(Some("verify-ca"), "db.example", &tls(true, true)),
            Ok("verify-ca")
        );
        assert_eq!(mode(None, "127.0.0.1", &tls(false, false)), Ok("require"));
        assert!(ssl_mode(Some("verify-full"), "db", &tls(false, false)).is_err());
        assert!(ssl_mode(Some("disable"), "db", &tls(true, true)).is_err());
    }

    #[tokio::test]
    async fn a_bad_url_is_an_open_error_that_hides_the_password() {
        for url in [
            "postgres://u:pw-secret@h:notaport/db",
            "postgres://u:pw-secret@h/db?sslmode=sometimes",
        ] {
            let err = PostgresStore::open(url, &TlsOptions::default(), "p").unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, StoreError::Open(_)), "{url}: {text}");
            assert!(!text.contains("pw-secret"), "{text}");
        }
    }
}
