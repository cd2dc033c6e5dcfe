//! The `store` setting: the old stack's spellings mapped onto our backends.

use std::path::{Path, PathBuf};

use serde_json::Value;

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
        /// `redis://[:password@]host:port[/db]`.
        url: String,
    },
}

/// The embedded store's file when `store` is not configured at all.
pub const DEFAULT_DATABASE: &str = "store.db";

/// Maps a resolved `store` object (variables already substituted) onto a
/// backend. `project_dir` anchors relative database paths.
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
    let kind = field("type").unwrap_or("");
    let database = field("database")
        .or_else(|| field("path"))
        .or_else(|| field("file"));
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
        ("jugglingdb", "sqlite3" | "sqlite") | ("sqlite" | "sqlite3" | "embedded", _) => {
            Ok(embedded(database))
        }
        ("redis", _) | ("jugglingdb", "redis") => {
            let url = field("url").filter(|u| !u.is_empty()).ok_or(
                "the redis store needs a `url` such as \"$REDIS_URL\" or \"redis://127.0.0.1:6379\"",
            )?;
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(format!(
                    "`url` must start with redis:// or rediss://, got `{}`",
                    redact_url(url)
                ));
            }
            Ok(StoreConfig::Redis {
                url: url.to_string(),
            })
        }
        ("jugglingdb", other) => Err(format!(
            "jugglingdb type `{other}` is not supported; use \"sqlite3\" (durable file) or \"memory\""
        )),
        (other, _) => Err(format!(
            "unknown adapter `{other}`; valid: \"sqlite\" (durable file, the default), \"redis\" (with `url`), \"memory\", or the old stack's {{\"adapter\": \"jugglingdb\", \"type\": \"sqlite3\"|\"memory\"}}"
        )),
    }
}

/// A Redis URL with any password replaced by `***`, safe to print.
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
                url: "redis://127.0.0.1:6379/2".into()
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
    fn an_unknown_adapter_lists_the_valid_ones() {
        let v = json!({"adapter": "mongodb"});
        let err = parse(Some(&v), dir()).unwrap_err();
        assert!(err.contains("mongodb") && err.contains("redis") && err.contains("sqlite"));
    }
}
