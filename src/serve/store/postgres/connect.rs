//! How the PostgreSQL store connects: the URL, `sslmode` and the store's
//! `tls` settings resolved into a TLS configuration, and the pool.
//!
//! Nothing depends on a session surviving between transactions, so any
//! pooler in transaction mode works (PgBouncer, Heroku's, Supabase's):
//! the only startup parameters are `user`, `database`, `client_encoding`
//! and `application_name` (no `options`), statements are unnamed
//! (tokio-postgres's typed queries: one Parse, Bind, Execute and Sync),
//! time limits are set per transaction, advisory locks are
//! transaction-scoped.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use super::super::{StoreError, StoreResult};
use crate::config::{TlsOptions, redact_url};
use crate::tls::Trust;

/// Connections one process keeps by default. Heroku's smallest
/// PostgreSQL plans allow 20 connections; two instances, each restarting
/// beside its old self, are four processes: 5 each.
pub const DEFAULT_POOL: u32 = 5;
/// How long opening one connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);

/// What libpq's `sslmode` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server insists (connect: as `prefer`).
    Allow,
    /// TLS if the server offers it, unverified.
    Prefer,
    /// TLS, unverified unless a CA file is given.
    Require,
    /// TLS, the certificate chain verified.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// The libpq name.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
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
/// `require` for a remote host and `prefer` for this machine; a CA file
/// (`tls.ca` or `sslrootcert`) then asks for `verify-full` (or keeps the
/// URL's `verify-ca`), `rejectUnauthorized: false` for `require`.
pub fn ssl_mode(url_mode: Option<&str>, host: &str, tls: &TlsOptions) -> Result<SslMode, String> {
    let mode = match url_mode {
        Some(m) => SslMode::parse(m).ok_or_else(|| {
            format!("sslmode `{m}` is not one of disable, allow, prefer, require, verify-ca, verify-full")
        })?,
        None if is_local_host(host) => SslMode::Prefer,
        None => SslMode::Require,
    };
    match (mode, tls.verify, tls.ca.is_some()) {
        (SslMode::VerifyCa | SslMode::VerifyFull, false, _) => Err(
            "the URL asks for a verified certificate (sslmode=verify-ca/verify-full) but `tls.rejectUnauthorized` is false; keep one of them".into(),
        ),
        (SslMode::Disable | SslMode::Allow, _, true) => Err(
            "a CA file is given but the URL's sslmode does not use TLS; remove one of them".into(),
        ),
        (_, false, _) => Ok(SslMode::Require),
        (SslMode::VerifyCa, _, true) => Ok(SslMode::VerifyCa),
        (_, _, true) => Ok(SslMode::VerifyFull),
        (mode, true, false) => Ok(mode),
    }
}

/// What the URL says, with the libpq parameters tokio-postgres does not
/// know taken out.
pub struct Parsed {
    /// The connection settings.
    pub config: tokio_postgres::Config,
    /// The host, for messages and the TLS defaults.
    pub host: String,
    /// `sslmode`, if given.
    pub ssl_mode: Option<String>,
    /// `sslrootcert`, if given.
    pub root_cert: Option<String>,
}

/// Parses a `postgres://` URL.
pub fn parse_url(url: &str) -> Result<Parsed, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let mut ssl_mode = None;
    let mut root_cert = None;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" | "ssl-mode" => {
                ssl_mode = Some(v.to_ascii_lowercase());
                None
            }
            "sslrootcert" => {
                root_cert = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    let host = parsed.host_str().unwrap_or("").to_owned();
    let config = tokio_postgres::Config::from_str(parsed.as_str()).map_err(|e| e.to_string())?;
    Ok(Parsed {
        config,
        host,
        ssl_mode,
        root_cert,
    })
}

/// A ready pool, and how it is secured (for `describe`).
pub struct Opened {
    /// The pool (connects lazily).
    pub pool: Pool,
    /// The mode in use.
    pub mode: SslMode,
    /// Which certificates are trusted.
    pub trust: Trust,
    /// The server's URL without its password.
    pub address: String,
}

/// Prepares the pool for `url` with `tls` and at most `size` connections.
pub fn open(url: &str, tls: &TlsOptions, size: u32) -> StoreResult<Opened> {
    let url = url.trim();
    let address = redact_url(url);
    let invalid = |why: String| {
        StoreError::Open(format!(
            "invalid PostgreSQL URL {address} ({why}): expected postgres://user:password@host:5432/database"
        ))
    };
    let Parsed {
        mut config,
        host,
        ssl_mode: url_mode,
        root_cert,
    } = parse_url(url).map_err(invalid)?;
    let mut tls = tls.clone();
    if tls.ca.is_none()
        && let Some(path) = root_cert
    {
        tls.ca = Some(path.into());
    }
    let mode = ssl_mode(url_mode.as_deref(), &host, &tls).map_err(invalid)?;
    let trust = match (mode, &tls.ca) {
        (SslMode::Disable, _) => Trust::Insecure,
        (SslMode::VerifyCa | SslMode::VerifyFull, Some(ca)) => Trust::File(ca.clone()),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => Trust::System,
        _ => Trust::Insecure,
    };
    let client_tls = crate::tls::client_config(&trust, mode != SslMode::VerifyCa)
        .map_err(|e| StoreError::Open(format!("{e} (the store's `tls.ca`)")))?;
    config
        .ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        })
        .application_name("connect")
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true);
    let manager = Manager::from_config(
        config,
        tokio_postgres_rustls::MakeRustlsConnect::new(client_tls),
        ManagerConfig {
            // A connection broken while idle shows itself on use and is
            // retried once; a query before every use doubles round trips.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(size.max(1) as usize)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(super::CALL_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Open(format!("cannot set up the pool for {address}: {e}")))?;
    Ok(Opened {
        pool,
        mode,
        trust,
        address,
    })
}

/// `sslmode=require: TLS, certificate not verified`.
pub fn summary(mode: SslMode, trust: &Trust) -> String {
    let note = match (mode, trust) {
        (SslMode::Disable, _) => "no TLS",
        (SslMode::Allow | SslMode::Prefer, _) => {
            "TLS if the server offers it, certificate not verified"
        }
        (SslMode::Require, _) => "TLS, certificate not verified",
        (SslMode::VerifyCa, Trust::File(_)) => {
            "TLS, certificate chain verified against the CA file"
        }
        (SslMode::VerifyCa, _) => "TLS, certificate chain verified",
        (SslMode::VerifyFull, Trust::File(_)) => "TLS, certificate verified against the CA file",
        (SslMode::VerifyFull, _) => "TLS, certificate verified",
    };
    format!("sslmode={}: {note}", mode.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url_mode: Option<&str>, host: &str, tls: &TlsOptions) -> Result<&'static str, String> {
        ssl_mode(url_mode, host, tls).map(SslMode::name)
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
        assert_eq!(
            mode(Some("require"), "db.example", &tls(true, true)),
            Ok("verify-full")
        );
        assert_eq!(mode(None, "127.0.0.1", &tls(false, false)), Ok("require"));
        assert!(ssl_mode(Some("verify-full"), "db", &tls(false, false)).is_err());
        assert!(ssl_mode(Some("disable"), "db", &tls(true, true)).is_err());
    }

    #[test]
    fn libpq_parameters_are_taken_out_of_the_url() {
        let parsed = parse_url(
            "postgres://u:p@db.example:6543/addon?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(parsed.ssl_mode.as_deref(), Some("verify-full"));
        assert_eq!(parsed.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(parsed.host, "db.example");
        assert_eq!(parsed.config.get_dbname(), Some("addon"));
        assert_eq!(parsed.config.get_ports(), &[6543]);
    }

    #[test]
    fn a_bad_url_is_an_open_error_that_hides_the_password() {
        for url in [
            "postgres://u:pw-secret@h:notaport/db",
            "postgres://u:pw-secret@h/db?sslmode=sometimes",
        ] {
            let err = open(url, &TlsOptions::default(), 2)
                .err()
                .expect("an error");
            let text = err.to_string();
            assert!(matches!(err, StoreError::Open(_)), "{url}: {text}");
            assert!(!text.contains("pw-secret"), "{text}");
        }
    }
}
