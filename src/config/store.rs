//! The `store` setting: the old stack's spellings mapped onto our backends.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Where tenants and tokens are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// In memory only: every install is lost when the process exits.
    Memory,
    /// The durable embedded store: one SQLite file.
    Embedded {
        /// Absolute path of the database file.
        path: PathBuf,
    },
    /// Redis, shared by several `connect serve` processes.
    Redis {
        /// `redis://[:password@]host:port[/db]` or `rediss://...` (TLS).
        url: String,
        /// How a `rediss://` server's certificate is checked.
        tls: TlsOptions,
    },
    /// PostgreSQL, shared by several `connect serve` processes.
    Postgres {
        /// `postgres://user:password@host:port/database[?sslmode=...]`.
        url: String,
        /// How the server's certificate is checked (besides `sslmode`).
        tls: TlsOptions,
        /// The most connections one process keeps (`"pool"`, or
        /// `CONNECT_STORE_POOL`).
        pool: u32,
    },
}

/// Connections per process when `"pool"` does not say: Heroku's smallest
/// PostgreSQL plans take 20; two instances, each restarting beside its old
/// self, are four processes.
pub const DEFAULT_POOL: u32 = 5;
/// The most `"pool"` may say.
pub const MAX_POOL: u32 = 200;

/// Reads a pool size (`"pool": 8` or `"8"`).
pub fn pool_size(value: &Value) -> Result<u32, String> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=MAX_POOL).contains(n))
        .ok_or_else(|| {
            format!(
                "`pool` must be a number of connections from 1 to {MAX_POOL}, got {value} (the default, {DEFAULT_POOL}, fits Heroku's smallest plans with two instances)"
            )
        })
}

/// Certificate checks for a TLS connection to a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Whether the server certificate must verify (`rejectUnauthorized`).
    pub verify: bool,
    /// A PEM file of CA certificates to verify against instead of the
    /// system's roots (absolute).
    pub ca: Option<PathBuf>,
}

impl TlsOptions {
    /// Which certificates these settings trust.
    pub fn trust(&self) -> crate::tls::Trust {
        match (&self.ca, self.verify) {
            (_, false) => crate::tls::Trust::Insecure,
            (Some(ca), true) => crate::tls::Trust::File(ca.clone()),
            (None, true) => crate::tls::Trust::System,
        }
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            verify: true,
            ca: None,
        }
    }
}

/// What connect does with the 2015 stack's store layout (`"legacy"` in the store, or
/// `CONNECT_LEGACY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegacyMode {
    /// Read it; write installs into it too while it is there (Redis: any
    /// `*:clientInfo` key; SQL: the `AddonSettings` table exists).
    #[default]
    Auto,
    /// Read it and always write installs into it (not creating the SQL
    /// table: only the Node add-on knows its columns).
    Mirror,
    /// Read it, never write installs into it (an uninstall still removes
    /// the old record).
    Read,
    /// Leave it alone.
    Off,
}

impl LegacyMode {
    /// Parses `auto`, `mirror`, `read`, `off` (also `true`/`false`).
    pub fn parse(text: &str) -> Option<LegacyMode> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "on" | "true" => LegacyMode::Auto,
            "mirror" | "write" => LegacyMode::Mirror,
            "read" | "read-only" | "readonly" => LegacyMode::Read,
            "off" | "false" | "none" => LegacyMode::Off,
            _ => return None,
        })
    }

    /// The setting's own spelling.
    pub fn name(self) -> &'static str {
        match self {
            LegacyMode::Auto => "auto",
            LegacyMode::Mirror => "mirror",
            LegacyMode::Read => "read",
            LegacyMode::Off => "off",
        }
    }
}

/// How the old layout is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegacySettings {
    /// What is done with it.
    pub mode: LegacyMode,
    /// The Redis database the Redis adapter used (its `db` option; it
    /// ignored the URL's path): 0 unless the store says `"db"`.
    pub redis_db: i64,
}

/// Reads `"legacy"` (a mode) and `"db"` (the Redis adapter's database)
/// from a store object.
pub fn legacy_settings(value: Option<&Value>) -> Result<LegacySettings, String> {
    let mut settings = LegacySettings::default();
    let Some(obj) = value.and_then(Value::as_object) else {
        return Ok(settings);
    };
    if let Some(mode) = obj.get("legacy") {
        let text = match mode {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        settings.mode = LegacyMode::parse(&text).ok_or_else(|| {
            format!(
                "`legacy` is `{text}`; use \"auto\" (the default), \"mirror\", \"read\" or \"off\""
            )
        })?;
    }
    if let Some(db) = obj.get("db") {
        settings.redis_db = match db {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|n| (0..=15).contains(n))
        .ok_or_else(|| format!("`db` must be a Redis database number from 0 to 15, got {db}"))?;
    }
    Ok(settings)
}

/// The embedded store's file when `store` is not configured at all.
pub const DEFAULT_DATABASE: &str = "store.db";

/// The keys a `store` object may have, for "did you mean" warnings.
pub const STORE_KEYS: &[&str] = &[
    "adapter",
    "type",
    "dialect",
    "url",
    "database",
    "path",
    "file",
    "storage",
    "tls",
    "dialectOptions",
    "logging",
    "pool",
    "legacy",
    "db",
];

/// Maps a resolved `store` object (variables already substituted) onto a
/// backend. `project_dir` anchors relative database and CA paths.
pub fn parse(value: Option<&Value>, project_dir: &Path) -> Result<StoreConfig, String> {
    let Some(value) = value else {
        return Ok(StoreConfig::Embedded {
            path: project_dir.join(DEFAULT_DATABASE),
        });
    };
    let obj = value
        .as_object()
        .ok_or("expected an object such as {\"adapter\": \"redis\", \"url\": \"$REDIS_URL\"}")?;
    let field = |name: &str| obj.get(name).and_then(Value::as_str).map(str::trim);
    let adapter = field("adapter").unwrap_or("");
    let kind = field("type").or_else(|| field("dialect")).unwrap_or("");
    let database = field("database")
        .or_else(|| field("path"))
        .or_else(|| field("file"))
        .or_else(|| field("storage"));
    let embedded = |db: Option<&str>| {
        let db = db.filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DATABASE);
        if db == ":memory:" {
            return StoreConfig::Memory;
        }
        StoreConfig::Embedded {
            path: project_dir.join(db),
        }
    };
    match (adapter, kind) {
        ("memory", _) | ("jugglingdb", "memory") => Ok(StoreConfig::Memory),
        ("jugglingdb" | "sequelize", "sqlite3" | "sqlite")
        | ("sqlite" | "sqlite3" | "embedded", _) => Ok(embedded(database)),
        ("redis", _) | ("jugglingdb", "redis") => {
            let url = field("url").filter(|u| !u.is_empty()).ok_or(
                "the redis store needs a `url` such as \"$REDIS_URL\" or \"redis://127.0.0.1:6379\"",
            )?;
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(format!(
                    "`url` must start with redis:// or rediss:// (TLS), got `{}`",
                    redact_url(url)
                ));
            }
            // `tls` on a plain redis:// URL is ignored (with a warning, see
            // the reader): one config can then serve REDIS_URLs of both kinds.
            Ok(StoreConfig::Redis {
                url: url.to_string(),
                tls: tls_options(obj, project_dir)?.unwrap_or_default(),
            })
        }
        ("postgres" | "postgresql" | "pg", _)
        | ("sequelize" | "jugglingdb", "postgres" | "postgresql") => {
            let url = field("url").filter(|u| !u.is_empty()).ok_or(
                "the postgres store needs a `url` such as \"$DATABASE_URL\" or \"postgres://user:password@127.0.0.1:5432/addon\"",
            )?;
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(format!(
                    "`url` must start with postgres:// or postgresql://, got `{}`",
                    redact_url(url)
                ));
            }
            Ok(StoreConfig::Postgres {
                url: url.to_string(),
                tls: tls_options(obj, project_dir)?.unwrap_or_default(),
                pool: obj.get("pool").map(pool_size).transpose()?.unwrap_or(DEFAULT_POOL),
            })
        }
        ("sequelize", "") => Err(
            "the sequelize store needs a `dialect`: \"postgres\" (with `url`) or \"sqlite\"".into(),
        ),
        ("sequelize", other) => Err(format!(
            "sequelize dialect `{other}` is not supported; use \"postgres\" (with `url`) or \"sqlite\""
        )),
        ("jugglingdb", other) => Err(format!(
            "jugglingdb type `{other}` is not supported; use \"sqlite3\" (durable file), \"redis\" or \"memory\""
        )),
        ("", _) => Err(
            "`adapter` is missing; valid: \"sqlite\" (durable file, the default), \"redis\" or \"postgres\" (with `url`), \"memory\"".into(),
        ),
        (other, _) => Err(format!(
            "unknown adapter `{other}`; valid: \"sqlite\" (durable file, the default), \"redis\" (with `url`), \"postgres\" (with `url`), \"memory\", or the old stack's {{\"adapter\": \"jugglingdb\", \"type\": \"sqlite3\"|\"memory\"}} and {{\"adapter\": \"sequelize\", \"dialect\": \"postgres\"}}"
        )),
    }
}

/// Reads `tls` (`{"rejectUnauthorized": bool, "ca": "path"}`), or the
/// sequelize spelling `dialectOptions.ssl`. `None` when neither is given.
pub(super) fn tls_options(
    obj: &Map<String, Value>,
    project_dir: &Path,
) -> Result<Option<TlsOptions>, String> {
    let (key, value) = match (obj.get("tls"), obj.pointer_in("dialectOptions", "ssl")) {
        (Some(v), _) => ("tls", v),
        (None, Some(v)) => ("dialectOptions.ssl", v),
        (None, None) => return Ok(None),
    };
    let settings = match value {
        // `"ssl": true` in sequelize means "use TLS", with verification.
        Value::Bool(_) => return Ok(Some(TlsOptions::default())),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "`{key}` must be an object such as {{\"rejectUnauthorized\": false}} or {{\"ca\": \"certs/ca.pem\"}}, got {other}"
            ));
        }
    };
    let mut options = TlsOptions::default();
    for (name, v) in settings {
        match name.as_str() {
            "rejectUnauthorized" => {
                options.verify = v.as_bool().ok_or_else(|| {
                    format!("`{key}.rejectUnauthorized` must be true or false, got {v}")
                })?;
            }
            "ca" => {
                let path = v
                    .as_str()
                    .filter(|p| !p.trim().is_empty())
                    .ok_or_else(|| format!("`{key}.ca` must be the path of a PEM file, got {v}"))?;
                options.ca = Some(project_dir.join(path.trim()));
            }
            // sequelize's flag; TLS is implied by the URL (rediss://, sslmode).
            "require" => {}
            other => {
                return Err(format!(
                    "`{key}.{other}` is not a TLS setting; use `rejectUnauthorized` (true/false) or `ca` (a PEM file)"
                ));
            }
        }
    }
    if options.ca.is_some() && !options.verify {
        return Err(format!(
            "`{key}` sets both `ca` and `rejectUnauthorized: false`; a CA file only matters when certificates are verified, so keep one of them"
        ));
    }
    Ok(Some(options))
}

trait PointerIn {
    fn pointer_in(&self, outer: &str, inner: &str) -> Option<&Value>;
}

impl PointerIn for Map<String, Value> {
    fn pointer_in(&self, outer: &str, inner: &str) -> Option<&Value> {
        self.get(outer)?.as_object()?.get(inner)
    }
}

/// A store URL with any password replaced by `***`, safe to print.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparsable url>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> &'static Path {
        Path::new("/proj")
    }

    #[test]
    fn the_old_stacks_memory_and_sqlite_spellings_map_onto_our_backends() {
        let mem = json!({"adapter": "jugglingdb", "type": "memory"});
        assert_eq!(parse(Some(&mem), dir()).unwrap(), StoreConfig::Memory);
        let sqlite = json!({"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"});
        assert_eq!(
            parse(Some(&sqlite), dir()).unwrap(),
            StoreConfig::Embedded {
                path: "/proj/store.db".into()
            }
        );
        let sequelize = json!({"adapter": "sequelize", "dialect": "sqlite", "storage": "a.db"});
        assert_eq!(
            parse(Some(&sequelize), dir()).unwrap(),
            StoreConfig::Embedded {
                path: "/proj/a.db".into()
            }
        );
    }

    #[test]
    fn no_store_setting_means_the_durable_embedded_store() {
        assert_eq!(
            parse(None, dir()).unwrap(),
            StoreConfig::Embedded {
                path: "/proj/store.db".into()
            }
        );
    }

    #[test]
    fn absolute_database_paths_are_kept() {
        let v = json!({"adapter": "sqlite", "database": "/var/lib/addon.db"});
        assert_eq!(
            parse(Some(&v), dir()).unwrap(),
            StoreConfig::Embedded {
                path: "/var/lib/addon.db".into()
            }
        );
    }

    #[test]
    fn redis_needs_a_redis_url() {
        let ok = json!({"adapter": "redis", "url": "redis://127.0.0.1:6379/2"});
        assert_eq!(
            parse(Some(&ok), dir()).unwrap(),
            StoreConfig::Redis {
                url: "redis://127.0.0.1:6379/2".into(),
                tls: TlsOptions::default(),
            }
        );
        let missing = json!({"adapter": "redis"});
        assert!(parse(Some(&missing), dir()).unwrap_err().contains("`url`"));
        let wrong = json!({"adapter": "redis", "url": "http://user:hunter2@x"});
        let err = parse(Some(&wrong), dir()).unwrap_err();
        assert!(
            err.contains("redis://") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn redis_over_tls_takes_the_node_spelling_of_its_certificate_checks() {
        let insecure = json!({"adapter": "redis", "url": "rediss://h:6380", "tls": {"rejectUnauthorized": false}});
        assert_eq!(
            parse(Some(&insecure), dir()).unwrap(),
            StoreConfig::Redis {
                url: "rediss://h:6380".into(),
                tls: TlsOptions {
                    verify: false,
                    ca: None
                },
            }
        );
        let ca =
            json!({"adapter": "redis", "url": "rediss://h:6380", "tls": {"ca": "certs/ca.pem"}});
        assert_eq!(
            parse(Some(&ca), dir()).unwrap(),
            StoreConfig::Redis {
                url: "rediss://h:6380".into(),
                tls: TlsOptions {
                    verify: true,
                    ca: Some("/proj/certs/ca.pem".into())
                },
            }
        );
    }

    #[test]
    fn tls_settings_with_unknown_keys_are_refused() {
        let typo =
            json!({"adapter": "redis", "url": "rediss://h", "tls": {"rejectUnauthorised": false}});
        let err = parse(Some(&typo), dir()).unwrap_err();
        assert!(
            err.contains("rejectUnauthorised") && err.contains("rejectUnauthorized"),
            "{err}"
        );
        let wrong =
            json!({"adapter": "redis", "url": "rediss://h", "tls": {"rejectUnauthorized": "no"}});
        assert!(
            parse(Some(&wrong), dir())
                .unwrap_err()
                .contains("true or false")
        );
        let both = json!({"adapter": "redis", "url": "rediss://h", "tls": {"rejectUnauthorized": false, "ca": "x.pem"}});
        assert!(parse(Some(&both), dir()).unwrap_err().contains("both"));
    }

    #[test]
    fn postgres_takes_the_sequelize_and_the_plain_spelling() {
        let url = "postgres://u:p@db.example:5432/addon";
        for v in [
            json!({"adapter": "sequelize", "dialect": "postgres", "url": url}),
            json!({"adapter": "postgres", "url": url}),
        ] {
            assert_eq!(
                parse(Some(&v), dir()).unwrap(),
                StoreConfig::Postgres {
                    url: url.into(),
                    tls: TlsOptions::default(),
                    pool: DEFAULT_POOL,
                }
            );
        }
        let heroku = json!({"adapter": "sequelize", "dialect": "postgres", "url": url,
            "dialectOptions": {"ssl": {"require": true, "rejectUnauthorized": false}}});
        assert_eq!(
            parse(Some(&heroku), dir()).unwrap(),
            StoreConfig::Postgres {
                url: url.into(),
                tls: TlsOptions {
                    verify: false,
                    ca: None
                },
                pool: DEFAULT_POOL,
            }
        );
        let bad = json!({"adapter": "postgres", "url": "mysql://u:secret@h/db"});
        let err = parse(Some(&bad), dir()).unwrap_err();
        assert!(
            err.contains("postgres://") && !err.contains("secret"),
            "{err}"
        );
        let no_dialect = json!({"adapter": "sequelize", "url": url});
        assert!(
            parse(Some(&no_dialect), dir())
                .unwrap_err()
                .contains("dialect")
        );
    }

    #[test]
    fn an_unknown_adapter_lists_the_valid_ones() {
        let v = json!({"adapter": "mongodb"});
        let err = parse(Some(&v), dir()).unwrap_err();
        assert!(err.contains("mongodb") && err.contains("redis") && err.contains("sqlite"));
        assert!(err.contains("postgres"));
    }
}
