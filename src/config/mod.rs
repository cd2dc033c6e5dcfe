//! A project's `config.json`, resolved once into a validated [`ProjectConfig`].
//!
//! The file keeps the old stack's contract (PROTOCOL.md, last section): one
//! object per stage, `$VAR` anywhere in a string, and the `PORT`,
//! `AC_LOCAL_BASE_URL`, `AC_HOST_WHITELIST` and `REDIS_URL` overrides. Every
//! problem is reported with the file, the stage and the key.

mod env;
mod hosts;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

pub use env::{Env, substitute};
pub use hosts::{HostWhitelist, parse_search_host};
pub use store::{DEFAULT_DATABASE, StoreConfig, redact_url};

/// The configuration file's name inside a project.
pub const CONFIG_FILE: &str = "config.json";
/// The descriptor's file name inside a project.
pub const DESCRIPTOR_FILE: &str = "atlassian-connect.json";
/// The folder of the project's message templates.
pub const TEMPLATES_DIR: &str = "templates";

const DEFAULT_STAGE: &str = "development";
const DEFAULT_PORT: u16 = 3000;
const DEFAULT_MAX_TOKEN_AGE: u64 = 900;
const DEFAULT_SEARCH_BASE_PATH: &str = "/wp-content/byTag.php?tag=";
const DEFAULT_TAG_BASE_PATH: &str = "/tag/";
const DEFAULT_MAX_RESULTS: usize = 10;
const MAX_RESULTS_LIMIT: usize = 100;

/// A bad or unreadable configuration, naming the file, stage and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}; run inside a project made by `connect new`, or pass --dir PATH", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON or not an object of stages.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// One key has a bad value.
    #[error("{} (stage `{stage}`): `{key}`: {message}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The stage in use.
        stage: String,
        /// The key, dotted for nested ones (`store.url`).
        key: String,
        /// What is wrong and what would be valid.
        message: String,
    },
}

/// Where the blog search sends its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchConfig {
    /// Scheme, host and port of the blog, e.g. `https://www.hascode.com`.
    pub base: Url,
    /// Path and query the URL-encoded term is appended to.
    pub base_path: String,
    /// Path of the blog's tag pages (`/tag/` -> `https://blog/tag/TERM/`).
    pub tag_base_path: String,
}

/// A project's configuration for one stage, validated.
#[derive(Clone, Debug)]
pub struct ProjectConfig {
    /// The stage in use (`development`, `production`, ...).
    pub stage: String,
    /// The port to listen on (0: any free port).
    pub port: u16,
    /// The public base URL, no trailing slash.
    pub local_base_url: Url,
    /// The path part of `local_base_url` (`""` or `/prefix`), prefixing every route.
    pub base_path: String,
    /// Where tenants and tokens are kept.
    pub store: StoreConfig,
    /// Hosts whose capabilities documents may be fetched at install.
    pub whitelist: HostWhitelist,
    /// Whether installs are checked against the whitelist (production, or
    /// whenever one is configured).
    pub enforce_whitelist: bool,
    /// Oldest accepted `iat` of a request JWT.
    pub max_token_age: Duration,
    /// The blog search.
    pub search: SearchConfig,
    /// How many hits the reply lists before "Show all N results".
    pub max_results_displayed: usize,
    /// The project folder (absolute).
    pub project_dir: PathBuf,
    /// Things worth a warning at start-up (an unknown stage, a memory store).
    pub warnings: Vec<String>,
    // `localBaseUrl` with `$port` unresolved, to recompute for a bound port.
    base_url_spec: String,
}

impl ProjectConfig {
    /// Loads `config.json` from `project_dir` for `stage_override`, or
    /// `NODE_ENV`, or `development`.
    pub fn load(
        project_dir: &Path,
        stage_override: Option<&str>,
        env: &Env,
    ) -> Result<Self, ConfigError> {
        let path = project_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let project_dir = std::path::absolute(project_dir).unwrap_or_else(|_| project_dir.into());
        Self::from_text(&text, &path, &project_dir, stage_override, env)
    }

    /// Resolves configuration text (the pure part of [`ProjectConfig::load`]).
    pub fn from_text(
        text: &str,
        path: &Path,
        project_dir: &Path,
        stage_override: Option<&str>,
        env: &Env,
    ) -> Result<Self, ConfigError> {
        let malformed = |message: String| ConfigError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let root: Value = serde_json::from_str(text).map_err(|e| {
            malformed(format!(
                "not valid JSON ({e}); fix the syntax at that line and column"
            ))
        })?;
        let stages = root.as_object().ok_or_else(|| {
            malformed("expected an object of stages, e.g. {\"development\": {...}, \"production\": {...}}".into())
        })?;
        let wanted = stage_override
            .or_else(|| env.get("NODE_ENV"))
            .unwrap_or(DEFAULT_STAGE)
            .to_string();
        let mut warnings = Vec::new();
        let (stage, values) = match stages.get(&wanted) {
            Some(v) => (wanted, v),
            None => {
                let fallback = stages.get(DEFAULT_STAGE).ok_or_else(|| {
                    malformed(format!(
                        "no `{wanted}` stage and no `{DEFAULT_STAGE}` stage to fall back to; stages present: {}",
                        list(stages.keys())
                    ))
                })?;
                warnings.push(format!(
                    "stage `{wanted}` is not in {}; using `{DEFAULT_STAGE}`",
                    path.display()
                ));
                (DEFAULT_STAGE.to_string(), fallback)
            }
        };
        let values = values
            .as_object()
            .ok_or_else(|| malformed(format!("stage `{stage}` must be an object of settings")))?;
        let reader = Reader {
            path,
            stage: &stage,
            values,
            env,
        };
        reader.resolve(project_dir, warnings)
    }

    /// The base URL for a server that actually listens on `port` (differs
    /// from `local_base_url` only when `localBaseUrl` uses `$port`).
    pub fn base_url_for_port(&self, port: u16, env: &Env) -> Url {
        substitute(&self.base_url_spec, env, &[("port", &port.to_string())])
            .ok()
            .and_then(|s| parse_base_url(&s).ok())
            .unwrap_or_else(|| self.local_base_url.clone())
    }

    /// The base URL as text without a trailing slash, ready for
    /// `format!("{}/atlassian-connect.json", config.base_url_text())`.
    pub fn base_url_text(&self) -> &str {
        self.local_base_url.as_str().trim_end_matches('/')
    }

    /// The descriptor file of the project.
    pub fn descriptor_path(&self) -> PathBuf {
        self.project_dir.join(DESCRIPTOR_FILE)
    }

    /// The folder of the project's message templates.
    pub fn templates_dir(&self) -> PathBuf {
        self.project_dir.join(TEMPLATES_DIR)
    }
}

/// Reads typed values out of one stage, naming the key in every error.
struct Reader<'a> {
    path: &'a Path,
    stage: &'a str,
    values: &'a Map<String, Value>,
    env: &'a Env,
}

impl Reader<'_> {
    fn bad(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.to_path_buf(),
            stage: self.stage.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A string value with variables substituted.
    fn text(&self, key: &str, raw: &str, extra: &[(&str, &str)]) -> Result<String, ConfigError> {
        substitute(raw, self.env, extra).map_err(|var| {
            self.bad(key, format!("uses ${var}, which is not set in the environment; set {var} or write the value itself"))
        })
    }

    /// A value with every string inside it substituted.
    fn value(&self, key: &str) -> Result<Option<Value>, ConfigError> {
        fn walk(r: &Reader<'_>, key: &str, v: &Value) -> Result<Value, ConfigError> {
            Ok(match v {
                Value::String(s) => Value::String(r.text(key, s, &[])?),
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|i| walk(r, key, i))
                        .collect::<Result<_, _>>()?,
                ),
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(k, i)| Ok((k.clone(), walk(r, &format!("{key}.{k}"), i)?)))
                        .collect::<Result<_, ConfigError>>()?,
                ),
                other => other.clone(),
            })
        }
        self.values.get(key).map(|v| walk(self, key, v)).transpose()
    }

    /// A non-negative integer given as a number or a numeric string.
    fn number(&self, key: &str, value: &Value) -> Result<u64, ConfigError> {
        match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.bad(key, format!("expected a whole number, got {value}")))
    }

    fn resolve(
        &self,
        project_dir: &Path,
        mut warnings: Vec<String>,
    ) -> Result<ProjectConfig, ConfigError> {
        let port = match self.env.get("PORT") {
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                self.bad(
                    "port",
                    format!(
                        "the PORT environment variable is `{p}`; expected a port number 0-65535"
                    ),
                )
            })?,
            None => match self.value("port")? {
                Some(v) => u16::try_from(self.number("port", &v)?)
                    .map_err(|_| self.bad("port", "expected a port number 0-65535"))?,
                None => DEFAULT_PORT,
            },
        };
        let port_text = port.to_string();
        let extra = [("port", port_text.as_str())];

        let base_url_spec = match self.env.get("AC_LOCAL_BASE_URL") {
            Some(url) => url.to_string(),
            None => match self.values.get("localBaseUrl") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(self.bad(
                        "localBaseUrl",
                        format!("expected a URL string, got {other}"),
                    ));
                }
                None => "http://localhost:$port".to_string(),
            },
        };
        let resolved = self.text("localBaseUrl", &base_url_spec, &extra)?;
        let local_base_url = parse_base_url(&resolved).map_err(|m| self.bad("localBaseUrl", m))?;
        let base_path = local_base_url.path().trim_end_matches('/').to_string();

        let store_value = self.value("store")?;
        let mut store =
            store::parse(store_value.as_ref(), project_dir).map_err(|m| self.bad("store", m))?;
        if let (StoreConfig::Redis { url }, Some(env_url)) = (&mut store, self.env.get("REDIS_URL"))
        {
            *url = env_url.to_string();
        }
        if store == StoreConfig::Memory {
            warnings.push("the memory store keeps installs only while this process runs; every install is lost on restart (use the default sqlite store or redis)".into());
        }

        let whitelist_spec: Vec<String> =
            match self.env.get("AC_HOST_WHITELIST") {
                Some(list) => list
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => match self.value("whitelist")? {
                    None => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|i| {
                            i.as_str().map(str::to_string).ok_or_else(|| {
                                self.bad(
                                    "whitelist",
                                    format!("expected host patterns as strings, got {i}"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(Value::String(s)) => s
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    Some(other) => return Err(self.bad(
                        "whitelist",
                        format!(
                            "expected a list of host patterns like [\"*.hipchat.com\"], got {other}"
                        ),
                    )),
                },
            };
        let whitelist =
            HostWhitelist::new(&whitelist_spec).map_err(|m| self.bad("whitelist", m))?;
        if self.stage == "production" && whitelist.is_empty() {
            return Err(self.bad("whitelist", "production needs a host whitelist so installs cannot make the add-on fetch arbitrary URLs; set e.g. [\"*.hipchat.com\"] or AC_HOST_WHITELIST"));
        }
        let enforce_whitelist = !whitelist.is_empty();

        let max_token_age = match self.value("maxTokenAge")? {
            Some(v) => self.number("maxTokenAge", &v)?,
            None => DEFAULT_MAX_TOKEN_AGE,
        };
        if max_token_age == 0 {
            return Err(self.bad(
                "maxTokenAge",
                "must be at least 1 second (900 is the usual value)",
            ));
        }

        let search_host = match self.value("searchHost")? {
            Some(Value::String(s)) => s,
            Some(other) => return Err(self.bad("searchHost", format!("expected a host or URL string, got {other}"))),
            None => return Err(self.bad("searchHost", "missing; set the blog's host, e.g. \"www.hascode.com\" or \"http://127.0.0.1:8081\"")),
        };
        let base = parse_search_host(&search_host).map_err(|m| self.bad("searchHost", m))?;
        let path_value = |key: &str, default: &str| -> Result<String, ConfigError> {
            let path = match self.value(key)? {
                Some(Value::String(s)) => s,
                Some(other) => {
                    return Err(self.bad(key, format!("expected a path string, got {other}")));
                }
                None => default.to_string(),
            };
            if !path.starts_with('/') {
                return Err(self.bad(key, format!("must start with `/`, e.g. \"{default}\"")));
            }
            Ok(path)
        };
        let search = SearchConfig {
            base,
            base_path: path_value("searchBasePath", DEFAULT_SEARCH_BASE_PATH)?,
            tag_base_path: path_value("tagBasePath", DEFAULT_TAG_BASE_PATH)?,
        };

        let max_results_displayed = match self.value("maxResultsDisplayed")? {
            Some(v) => {
                usize::try_from(self.number("maxResultsDisplayed", &v)?).unwrap_or(usize::MAX)
            }
            None => DEFAULT_MAX_RESULTS,
        };
        if !(1..=MAX_RESULTS_LIMIT).contains(&max_results_displayed) {
            return Err(self.bad(
                "maxResultsDisplayed",
                format!("must be between 1 and {MAX_RESULTS_LIMIT}"),
            ));
        }

        Ok(ProjectConfig {
            stage: self.stage.to_string(),
            port,
            local_base_url,
            base_path,
            store,
            whitelist,
            enforce_whitelist,
            max_token_age: Duration::from_secs(max_token_age),
            search,
            max_results_displayed,
            project_dir: project_dir.to_path_buf(),
            warnings,
            base_url_spec,
        })
    }
}

/// Parses a base URL: http(s), a host, no query or fragment; the trailing
/// slash of its path is dropped.
fn parse_base_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        format!("`{text}` is not a URL ({e}); expected e.g. \"https://addon.example.com\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{text}` must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{text}` must not have a query or fragment"));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<_> = items.map(|s| format!("`{s}`")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
