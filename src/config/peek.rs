//! A lenient look at config.json for `connect dev`: the port, the base URL
//! and the embedded store's file, from any project (one of `connect serve`,
//! or a Node add-on whose config.json has other keys). Nothing here fails:
//! what cannot be read is left out, and the add-on itself reports what is
//! wrong with its configuration when it starts.

use std::path::{Path, PathBuf};

use serde_json::Value;
use url::Url;

use super::env::{Env, substitute};
use super::{CONFIG_FILE, DEFAULT_STAGE, StoreConfig, parse_base_url, parse_text, store};

/// What `connect dev` needs to know of a project's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peek {
    /// The port (`PORT`, else the stage's `port`).
    pub port: Option<u16>,
    /// `localBaseUrl` (`AC_LOCAL_BASE_URL`, else the stage's), `$port` unresolved.
    pub base_url_spec: Option<String>,
    /// The embedded store's file, when the project uses one.
    pub store_file: Option<PathBuf>,
    /// Whether the stage's `store` keeps installs in memory only (`None`:
    /// the stage names no store, so the add-on's default applies).
    pub store_in_memory: Option<bool>,
}

impl Peek {
    /// Reads `project_dir/config.json` for the stage `--env`, `NODE_ENV` or
    /// `development` names (falling back to `development`).
    pub fn load(project_dir: &Path, stage_override: Option<&str>, env: &Env) -> Peek {
        let text = std::fs::read_to_string(project_dir.join(CONFIG_FILE)).ok();
        Peek::from_text(text.as_deref(), project_dir, stage_override, env)
    }

    /// The pure part of [`Peek::load`] (`text` is `None` without a file).
    pub fn from_text(
        text: Option<&str>,
        project_dir: &Path,
        stage_override: Option<&str>,
        env: &Env,
    ) -> Peek {
        let root = text.and_then(|t| parse_text(t).ok());
        let wanted = stage_override
            .or_else(|| env.get("NODE_ENV"))
            .unwrap_or(DEFAULT_STAGE);
        let stage = root
            .as_ref()
            .and_then(|r| r.get(wanted).or_else(|| r.get(DEFAULT_STAGE)))
            .and_then(Value::as_object);
        let text_of = |key: &str| -> Option<String> {
            match stage?.get(key)? {
                Value::String(s) => substitute(s, env, &[]).ok(),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let port = env
            .get("PORT")
            .map(str::to_string)
            .or_else(|| text_of("port"))
            .and_then(|p| p.trim().parse().ok());
        let base_url_spec =
            env.get("AC_LOCAL_BASE_URL")
                .map(str::to_string)
                .or_else(|| match stage?.get("localBaseUrl")? {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                });
        let (store_file, store_in_memory) = match stage.and_then(|s| s.get("store")) {
            None => (Some(project_dir.join(super::DEFAULT_DATABASE)), None),
            Some(value) => {
                let resolved = substitute_all(value, env);
                match store::parse(Some(&resolved), project_dir) {
                    Ok(StoreConfig::Embedded { path }) => (Some(path), Some(false)),
                    Ok(StoreConfig::Memory) => (None, Some(true)),
                    _ => (None, Some(false)),
                }
            }
        };
        Peek {
            port,
            base_url_spec,
            store_file,
            store_in_memory,
        }
    }

    /// The base URL for a server reachable on `port`: `localBaseUrl` with
    /// `$port` filled in, if it can be read.
    pub fn base_url_for(&self, port: u16, env: &Env) -> Option<Url> {
        let spec = self.base_url_spec.as_deref()?;
        let text = substitute(spec, env, &[("port", &port.to_string())]).ok()?;
        parse_base_url(&text).ok()
    }
}

fn substitute_all(value: &Value, env: &Env) -> Value {
    match value {
        Value::String(s) => Value::String(substitute(s, env, &[]).unwrap_or_else(|_| s.clone())),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute_all(v, env)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute_all(v, env)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peek(text: &str, env: &[(&str, &str)]) -> Peek {
        Peek::from_text(
            Some(text),
            Path::new("/p"),
            None,
            &Env::from_pairs(env.iter().copied()),
        )
    }

    #[test]
    fn reads_a_node_add_ons_config_without_the_blog_search_keys() {
        let p = peek(
            r#"{"development": {"port": 3000, "localBaseUrl": "http://localhost:$port", "searchHost": "$SEARCH_HOST",
                "store": {"adapter": "jugglingdb", "type": "memory"}}}"#,
            &[],
        );
        assert_eq!(p.port, Some(3000));
        assert_eq!(p.store_file, None);
        assert_eq!(p.store_in_memory, Some(true));
        assert_eq!(
            p.base_url_for(4000, &Env::default()).unwrap().as_str(),
            "http://localhost:4000/"
        );
    }

    #[test]
    fn the_environment_overrides_and_a_missing_stage_falls_back_to_development() {
        let text = r#"{"development": {"port": 3000, "store": {"adapter": "sqlite", "database": "data/x.db"}}}"#;
        let p = peek(text, &[("PORT", "5000"), ("NODE_ENV", "prod")]);
        assert_eq!(p.port, Some(5000));
        assert_eq!(p.store_file, Some(PathBuf::from("/p/data/x.db")));
        assert_eq!(p.store_in_memory, Some(false));
    }

    #[test]
    fn nothing_readable_gives_nothing_but_the_default_store() {
        let nothing = Peek {
            port: None,
            base_url_spec: None,
            store_file: Some(PathBuf::from("/p/store.db")),
            store_in_memory: None,
        };
        assert_eq!(
            Peek::from_text(None, Path::new("/p"), None, &Env::default()),
            nothing
        );
        assert_eq!(peek("{ not json", &[]), nothing);
    }
}
