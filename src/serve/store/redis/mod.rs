//! The Redis store, for production: several `connect serve` processes share
//! tenants and tokens.
//!
//! Keys (with `P` the key prefix, e.g. `connect:<addon key>`):
//! - `P:tenant:<oauthId>`: the tenant as JSON;
//! - `P:token:<oauthId>:<scope>`: a cached token as JSON, expiring with it;
//! - `P:owned:<oauthId>`: the set of token keys the tenant owns, so that
//!   deleting a tenant removes them all without a SCAN.
//!
//! Calls fail fast with [`StoreError::Unavailable`] while Redis is down (a
//! short connect and response timeout, a bound on every call) and work again
//! by themselves once it is back: the connection manager reconnects.

mod bulk;
mod connection;
mod errors;
mod legacy;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{IntoConnectionInfo, RedisError, RedisResult};

use super::types::{decode, encode};
use super::{CachedToken, StoreError, StoreResult, StoredTenant, Tenant, TenantStore, now_unix};
use crate::config::TlsOptions;
use crate::tls::{Configured, Trust};
use connection::{Connector, Reconnecting};

/// Upper bound on one store call, reconnection attempts included.
const CALL_TIMEOUT: Duration = Duration::from_millis(900);
/// How long one TCP connection attempt (and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// How long Redis may take to answer one command.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

// Deletes the tenant, every key in its set of owned keys, and the set,
// atomically (a token written concurrently is either deleted or not yet added).
const DELETE_TENANT_SCRIPT: &str = "
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1], KEYS[2])
return 0
";

/// A store on a Redis server; clones share one reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: Reconnecting,
    /// The 2015 stack's database (the same connection when it is ours).
    legacy_conn: Reconnecting,
    prefix: Arc<str>,
    address: Arc<str>,
    secure: bool,
    configured: Arc<Configured>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisStore {
    /// Prepares a store on the Redis server at `url`
    /// (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for
    /// TLS), with every key under `key_prefix:`. `tls` says how a TLS
    /// server's certificate is checked (`#insecure` at the end of the URL
    /// turns the check off too). Connects lazily: a server that is down now
    /// only makes calls fail with [`StoreError::Unavailable`] until it is up.
    pub fn open(url: &str, tls: &TlsOptions, key_prefix: &str) -> StoreResult<RedisStore> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::Open(
                "the Redis URL is empty: set REDIS_URL (or the store's `url` in config.json) \
                 to redis://host:port"
                    .to_owned(),
            ));
        }
        let address = redacted(url)?;
        let secure = url.starts_with("rediss:");
        let insecure_url = url.ends_with("#insecure");
        // redis-rs reads the address, credentials and database; TLS is ours.
        let plain = url
            .trim_end_matches("#insecure")
            .replacen("rediss://", "redis://", 1);
        let info = plain.as_str().into_connection_info().map_err(|e| {
            StoreError::Open(format!(
                "invalid Redis URL {address} ({}): expected redis://[:password@]host[:port][/db] or rediss://...",
                errors::safe_description(&e)
            ))
        })?;
        let (host, port) = match info.addr() {
            ::redis::ConnectionAddr::Tcp(host, port)
            | ::redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
            ::redis::ConnectionAddr::Unix(_) => {
                return Err(StoreError::Open(format!(
                    "{address} is a Unix socket; give a redis:// or rediss:// URL with a host and port"
                )));
            }
            _ => {
                return Err(StoreError::Open(format!(
                    "{address}: unsupported Redis address; give redis://host:port or rediss://host:port"
                )));
            }
        };
        let trust = if insecure_url {
            Trust::Insecure
        } else {
            tls.trust()
        };
        let client_tls = if secure {
            Some(Arc::new(crate::tls::client_config(&trust, true).map_err(
                |e| {
                    StoreError::Open(format!(
                        "{e} (the store's `tls.ca`, for Redis at {address})"
                    ))
                },
            )?))
        } else {
            None
        };
        let conn = Reconnecting::lazy(Connector {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            tls: client_tls,
            info: info.redis_settings().clone(),
            connect_timeout: CONNECT_TIMEOUT,
            response_timeout: RESPONSE_TIMEOUT,
        });
        Ok(RedisStore {
            legacy_conn: conn.clone(),
            conn,
            prefix: Arc::from(key_prefix),
            address: Arc::from(address),
            secure,
            configured: Arc::new(if secure {
                trust.configured()
            } else {
                Configured::Unverified
            }),
        })
    }

    /// Reads and writes the 2015 stack's layout in database `db` (its
    /// adapter's `db` option, 0 by default, whatever the URL's path).
    pub fn with_legacy_database(mut self, db: i64) -> Self {
        if db != self.conn.database() {
            self.legacy_conn = self.conn.on_database(db);
        }
        self
    }

    /// The server's URL without its password, safe to log.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn tenant_key(&self, oauth_id: &str) -> String {
        format!("{}:tenant:{}", self.prefix, escape(oauth_id))
    }

    fn owned_key(&self, oauth_id: &str) -> String {
        format!("{}:owned:{}", self.prefix, escape(oauth_id))
    }

    fn token_key(&self, oauth_id: &str, scope: &str) -> String {
        format!(
            "{}:token:{}:{}",
            self.prefix,
            escape(oauth_id),
            escape(scope)
        )
    }

    // Runs `op` within CALL_TIMEOUT. A broken connection (or one answering
    // READONLY: the server behind the name was failed over) is replaced
    // and the call retried once on the new one.
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> StoreResult<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.run_on(&self.conn, what, op).await
    }

    // `run` on a given connection (ours, or the 2015 layout's).
    async fn run_on<T, F, Fut>(&self, conn: &Reconnecting, what: &str, op: F) -> StoreResult<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            let lease = conn.get().await.map_err(|e| self.connect_error(what, e))?;
            match op(lease.connection.clone()).await {
                Err(e) if errors::needs_new_connection(&e) => {
                    conn.reset(&lease).await;
                    let lease = conn.get().await.map_err(|e| self.connect_error(what, e))?;
                    let outcome = op(lease.connection.clone()).await;
                    if outcome.as_ref().is_err_and(errors::needs_new_connection) {
                        conn.reset(&lease).await;
                    }
                    outcome.map_err(|e| self.error(what, &e))
                }
                other => other.map_err(|e| self.error(what, &e)),
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis at {} did not answer within {} ms while {what}",
                self.address,
                CALL_TIMEOUT.as_millis()
            ))),
        }
    }

    fn connect_error(&self, what: &str, err: connection::ConnectError) -> StoreError {
        errors::connect(err, &self.address, what, self.secure, &self.configured)
    }

    fn error(&self, what: &str, err: &RedisError) -> StoreError {
        errors::command(err, &self.address, what, self.secure)
    }
}

// The URL as shown in messages and logs: without its password.
fn redacted(url: &str) -> StoreResult<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| {
        StoreError::Open(format!(
            "the Redis URL is not a URL ({e}): expected redis://[:password@]host[:port][/db]"
        ))
    })?;
    if parsed.password().is_some() {
        // Only fails for URLs that cannot have a password, which this one has.
        let _ = parsed.set_password(Some("***"));
    }
    Ok(parsed.to_string())
}

// Keeps ids and scopes from colliding through `:` (the key separator).
fn escape(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

impl TenantStore for RedisStore {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        let key = self.tenant_key(oauth_id);
        let data: Option<String> = self
            .run("reading a tenant", |mut c| {
                let key = key.clone();
                async move { ::redis::cmd("GET").arg(&key).query_async(&mut c).await }
            })
            .await?;
        data.map(|d| decode(&d, &format!("tenant record {oauth_id:?}"), "Redis"))
            .transpose()
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let key = self.tenant_key(&tenant.oauth_id);
        let data = encode(tenant)?;
        self.run("storing a tenant", |mut c| {
            let (key, data) = (key.clone(), data.clone());
            async move {
                ::redis::cmd("SET")
                    .arg(&key)
                    .arg(&data)
                    .exec_async(&mut c)
                    .await
            }
        })
        .await
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        let (tenant, owned) = (self.tenant_key(oauth_id), self.owned_key(oauth_id));
        self.run("deleting a tenant", |mut c| {
            let (tenant, owned) = (tenant.clone(), owned.clone());
            async move {
                ::redis::cmd("EVAL")
                    .arg(DELETE_TENANT_SCRIPT)
                    .arg(2)
                    .arg(&tenant)
                    .arg(&owned)
                    .exec_async(&mut c)
                    .await
            }
        })
        .await
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        let key = self.token_key(oauth_id, scope);
        let data: Option<String> = self
            .run("reading a token", |mut c| {
                let key = key.clone();
                async move { ::redis::cmd("GET").arg(&key).query_async(&mut c).await }
            })
            .await?;
        let token: Option<CachedToken> = data
            .map(|d| decode(&d, &format!("token record of {oauth_id:?}"), "Redis"))
            .transpose()?;
        // Redis expires keys on the second too, but the clocks may differ.
        Ok(token.filter(|t| !t.is_expired_at(now_unix())))
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        let (key, owned) = (
            self.token_key(oauth_id, &token.scope),
            self.owned_key(oauth_id),
        );
        let data = encode(token)?;
        // Relative TTL from our clock, so a Redis clock that differs does not
        // keep a token longer than its lifetime.
        let ttl = token.expires_at.saturating_sub(now_unix());
        self.run("storing a token", |mut c| {
            let (key, owned, data) = (key.clone(), owned.clone(), data.clone());
            async move {
                let mut pipe = ::redis::pipe();
                pipe.atomic();
                if ttl == 0 {
                    pipe.cmd("DEL").arg(&key).ignore();
                } else {
                    pipe.cmd("SET")
                        .arg(&key)
                        .arg(&data)
                        .arg("EX")
                        .arg(ttl)
                        .ignore();
                    pipe.cmd("SADD").arg(&owned).arg(&key).ignore();
                }
                pipe.exec_async(&mut c).await
            }
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run("checking that it answers", |mut c| async move {
            ::redis::cmd("PING").exec_async(&mut c).await
        })
        .await
    }
    async fn count_tenants(&self) -> StoreResult<u64> {
        self.count().await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<StoredTenant>> {
        self.list().await
    }

    async fn insert_tenant_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        self.insert_if_absent(tenant).await
    }

    async fn put_tenants(&self, tenants: &[Tenant]) -> StoreResult<()> {
        self.put_many(tenants).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_the_shown_address() {
        let shown = redacted("redis://:hunter2@cache.internal:6380/2").unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cache.internal:6380/2"), "{shown}");
    }

    #[tokio::test]
    async fn a_missing_ca_file_is_an_open_error_naming_it() {
        let tls = TlsOptions {
            verify: true,
            ca: Some("/nonexistent/ca.pem".into()),
        };
        let err = RedisStore::open("rediss://h:6380", &tls, "p").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn ids_containing_the_separator_do_not_collide() {
        assert_ne!(
            escape("a:b") + ":" + &escape("c"),
            escape("a") + ":" + &escape("b:c")
        );
    }

    #[tokio::test]
    async fn a_bad_url_is_an_open_error_that_hides_the_password() {
        for url in [
            "",
            "not a url",
            "http://:pw-secret@host:1/0",
            "redis://:pw-secret@host:1/notadb",
        ] {
            let err = RedisStore::open(url, &TlsOptions::default(), "p").unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, StoreError::Open(_)), "{url}: {text}");
            assert!(!text.contains("pw-secret"), "{text}");
        }
    }
}
