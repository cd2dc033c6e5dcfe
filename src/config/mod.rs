//! A project's `config.json`, resolved once into a validated [`ProjectConfig`].
//!
//! The file keeps the old stack's contract (PROTOCOL.md, last section): one
//! object per stage, `$VAR` anywhere in a string, and the `PORT`,
//! `AC_LOCAL_BASE_URL`, `AC_HOST_WHITELIST`, `REDIS_URL` and `DATABASE_URL`
//! overrides. As atlassian-connect-express did, it may hold `//` and `/* */`
//! comments (and trailing commas). Every problem is reported with the file,
//! the stage and the key; every missing variable in one error.

mod env;
mod hosts;
pub(crate) mod keys;
mod peek;
mod reader;
mod search;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use url::Url;

pub use env::{Env, missing_variables, substitute};
pub use hosts::{HostWhitelist, parse_search_host};
pub use keys::did_you_mean;
pub use peek::Peek;
pub use search::{SearchConfig, SearchSource, TAG};
pub use store::{
    DEFAULT_DATABASE, DEFAULT_POOL, LegacyMode, LegacySettings, StoreConfig, TlsOptions, redact_url,
};

/// The configuration file's name inside a project.
pub const CONFIG_FILE: &str = "config.json";
/// The descriptor's file name inside a project.
pub const DESCRIPTOR_FILE: &str = "atlassian-connect.json";
/// The folder of the project's message templates.
pub const TEMPLATES_DIR: &str = "templates";

/// The stage used when neither `--env` nor `NODE_ENV` names one.
pub const DEFAULT_STAGE: &str = "development";

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
    /// The stage asked for is not in the file.
    #[error(
        "{} has no `{stage}` stage ({origin}); the stages it has: {present}. {hint}",
        path.display()
    )]
    UnknownStage {
        /// The file.
        path: PathBuf,
        /// The stage asked for.
        stage: String,
        /// Who asked: `from NODE_ENV`, `from --env`, or the default.
        origin: String,
        /// The stages present, formatted.
        present: String,
        /// What to do.
        hint: String,
    },
    /// Variables the stage uses are not set.
    #[error(
        "{} (stage `{stage}`): {}; set {} in the environment, or write the values in the file",
        path.display(),
        describe_missing(missing),
        if missing.len() == 1 { "it" } else { "them" }
    )]
    MissingVariables {
        /// The file.
        path: PathBuf,
        /// The stage in use.
        stage: String,
        /// `(variable, keys using it)`, in order of appearance.
        missing: Vec<(String, Vec<String>)>,
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

fn describe_missing(missing: &[(String, Vec<String>)]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|(var, keys)| {
            let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            format!("${var} (used by {})", keys.join(", "))
        })
        .collect();
    let noun = if missing.len() == 1 {
        "this environment variable is"
    } else {
        "these environment variables are"
    };
    format!("{noun} not set: {}", parts.join(", "))
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
    /// What is done with the 2015 stack's records in that store.
    pub legacy: LegacySettings,
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
    /// Things worth a warning at start-up (an unknown key, a memory store).
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
        let root = parse_text(text).map_err(|message| ConfigError::Malformed {
            path: path.to_path_buf(),
            message,
        })?;
        let (stage, values) = select_stage(&root, path, stage_override, env)?;
        let reader = reader::Reader {
            path,
            stage: &stage,
            values,
            env,
        };
        reader.resolve(project_dir)
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

/// Parses config.json text: JSON with `//` and `/* */` comments and
/// trailing commas (what atlassian-connect-express accepted), nothing looser.
/// The error names the line and column.
pub fn parse_text(text: &str) -> Result<Value, String> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..Default::default()
    };
    match jsonc_parser::parse_to_serde_value::<Value>(text, &options) {
        Ok(Value::Null) => Err("is empty (or null); expected an object of stages, e.g. {\"development\": {...}, \"production\": {...}}".into()),
        Ok(value) => Ok(value),
        Err(e) => Err(format!(
            "not valid JSON: {e}; fix the syntax there (comments and trailing commas are fine)"
        )),
    }
}

/// The stage to use and its settings: `--env`, else `NODE_ENV`, else
/// `development`. A stage the file lacks is an error listing those it has
/// (top-level keys whose values are objects; others, like the old
/// template's `"product": "hipchat"`, are not stages).
fn select_stage<'v>(
    root: &'v Value,
    path: &Path,
    stage_override: Option<&str>,
    env: &Env,
) -> Result<(String, &'v serde_json::Map<String, Value>), ConfigError> {
    let malformed = |message: String| ConfigError::Malformed {
        path: path.to_path_buf(),
        message,
    };
    let stages = root.as_object().ok_or_else(|| {
        malformed(
            "expected an object of stages, e.g. {\"development\": {...}, \"production\": {...}}"
                .into(),
        )
    })?;
    let (wanted, source) = match (stage_override, env.get("NODE_ENV")) {
        (Some(s), _) => (s.trim(), format!("from --env {s}")),
        (None, Some(s)) => (s.trim(), format!("from NODE_ENV={s}")),
        (None, None) => (
            DEFAULT_STAGE,
            "the default when NODE_ENV is not set".to_string(),
        ),
    };
    let present: Vec<&String> = stages
        .iter()
        .filter(|(_, v)| v.is_object())
        .map(|(k, _)| k)
        .collect();
    match stages.get(wanted) {
        Some(Value::Object(values)) => Ok((wanted.to_string(), values)),
        Some(_) => Err(malformed(format!(
            "stage `{wanted}` must be an object of settings"
        ))),
        None => {
            let close = keys::did_you_mean(
                wanted,
                &present.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            );
            let hint = match close {
                Some(close) => {
                    format!("Did you mean `{close}`? Set NODE_ENV={close} (or --env {close})")
                }
                None if present.is_empty() => {
                    format!("Add a `{wanted}` object of settings to the file")
                }
                None => {
                    format!("Set NODE_ENV (or --env) to one of them, or add a `{wanted}` stage")
                }
            };
            Err(ConfigError::UnknownStage {
                path: path.to_path_buf(),
                stage: wanted.to_string(),
                origin: source,
                present: list(present.into_iter()),
                hint,
            })
        }
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
