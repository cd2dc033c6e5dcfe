//! Reading one stage into a [`ProjectConfig`]: typed values, environment
//! overrides, ranges, and the warnings (unknown keys, risky choices).

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use super::env::{Env, missing_variables, substitute};
use super::hosts::HostWhitelist;
use super::keys::{STAGE_KEYS, unknown_keys};
use super::search::{self, SEARCH_KEYS};
use super::store::{self, STORE_KEYS, StoreConfig, TlsOptions};
use super::{ConfigError, ProjectConfig, SearchConfig, parse_base_url};

const DEFAULT_PORT: u16 = 3000;
const DEFAULT_MAX_TOKEN_AGE: u64 = 900;
const DEFAULT_MAX_RESULTS: usize = 10;
const MAX_RESULTS_LIMIT: usize = 100;

/// Reads typed values out of one stage, naming the key in every error.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    pub(super) stage: &'a str,
    pub(super) values: &'a Map<String, Value>,
    pub(super) env: &'a Env,
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

    /// A whole number in `min..=max`, given as a number or a numeric string;
    /// `what` describes the range for the error (`a port number from 1 to 65535`).
    fn number(
        &self,
        key: &str,
        value: &Value,
        min: u64,
        max: u64,
        what: &str,
    ) -> Result<u64, ConfigError> {
        let n = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.bad(key, format!("expected {what}, got {value}")))
    }

    /// Which store adapter the file names (raw), to know whether
    /// `REDIS_URL` or `DATABASE_URL` replaces its `url`.
    fn store_url_override(&self) -> Option<(&'static str, &str)> {
        let store = self.values.get("store")?.as_object()?;
        let text = |k: &str| store.get(k).and_then(Value::as_str).unwrap_or("");
        let adapter = text("adapter");
        let kind = match text("type") {
            "" => text("dialect"),
            kind => kind,
        };
        let var = if adapter == "redis" || kind == "redis" {
            "REDIS_URL"
        } else if matches!(adapter, "postgres" | "postgresql" | "pg")
            || matches!(kind, "postgres" | "postgresql")
        {
            "DATABASE_URL"
        } else {
            return None;
        };
        self.env.get(var).map(|value| (var, value))
    }

    /// Every variable the stage uses but the environment lacks, with the
    /// keys using it; keys an environment variable overrides are skipped.
    fn missing_variables(&self, port: &str) -> Vec<(String, Vec<String>)> {
        let overridden = |key: &str| match key {
            "port" => self.env.get("PORT").is_some(),
            "localBaseUrl" => self.env.get("AC_LOCAL_BASE_URL").is_some(),
            "whitelist" => self.env.get("AC_HOST_WHITELIST").is_some(),
            "store.url" => self.store_url_override().is_some(),
            _ => false,
        };
        let mut found: Vec<(String, Vec<String>)> = Vec::new();
        let mut note = |key: &str, text: &str| {
            for var in missing_variables(text, self.env, &[("port", port)]) {
                match found.iter_mut().find(|(v, _)| *v == var) {
                    Some((_, keys)) if !keys.iter().any(|k| k == key) => keys.push(key.into()),
                    Some(_) => {}
                    None => found.push((var, vec![key.into()])),
                }
            }
        };
        fn walk(
            key: &str,
            v: &Value,
            skip: &dyn Fn(&str) -> bool,
            note: &mut dyn FnMut(&str, &str),
        ) {
            if skip(key) {
                return;
            }
            match v {
                Value::String(s) => note(key, s),
                Value::Array(items) => items.iter().for_each(|i| walk(key, i, skip, note)),
                Value::Object(map) => {
                    for (k, i) in map {
                        walk(&format!("{key}.{k}"), i, skip, note);
                    }
                }
                _ => {}
            }
        }
        for (key, value) in self.values {
            walk(key, value, &overridden, &mut note);
        }
        found
    }

    pub(super) fn resolve(&self, project_dir: &Path) -> Result<ProjectConfig, ConfigError> {
        let mut warnings = unknown_keys(self.values, "", STAGE_KEYS);
        let production = self.stage == "production";

        let port = match self.env.get("PORT") {
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                self.bad(
                    "port",
                    format!("the PORT environment variable is `{p}`; expected a port number from 1 to 65535 (or 0 for any free port)"),
                )
            })?,
            None => match self.values.get("port") {
                // A variable here is reported with the others below.
                Some(Value::String(s)) if s.contains('$') && substitute(s, self.env, &[]).is_err() => DEFAULT_PORT,
                Some(_) => {
                    let v = self.value("port")?.unwrap_or(Value::Null);
                    u16::try_from(self.number("port", &v, 0, 65535, "a port number from 1 to 65535 (or 0 for any free port)")?)
                        .unwrap_or(DEFAULT_PORT)
                }
                None => DEFAULT_PORT,
            },
        };
        let port_text = port.to_string();
        let missing = self.missing_variables(&port_text);
        if !missing.is_empty() {
            return Err(ConfigError::MissingVariables {
                path: self.path.to_path_buf(),
                stage: self.stage.to_string(),
                missing,
            });
        }
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
        if production && local_base_url.scheme() == "http" {
            warnings.push(format!(
                "localBaseUrl is {} in production: HipChat installed add-ons only over https; serve it behind TLS (Heroku's router does) and use the https URL",
                local_base_url.as_str().trim_end_matches('/')
            ));
        }

        let store = self.store(project_dir, &mut warnings)?;
        let mut legacy = store::legacy_settings(self.value("store")?.as_ref())
            .map_err(|m| self.bad("store.legacy", m))?;
        if let Some(mode) = self.env.get("CONNECT_LEGACY") {
            legacy.mode = super::LegacyMode::parse(mode).ok_or_else(|| {
                self.bad(
                    "store.legacy (from CONNECT_LEGACY)",
                    format!("`{mode}`; use auto, mirror, read or off"),
                )
            })?;
        }

        let whitelist_spec: Vec<String> = match self.env.get("AC_HOST_WHITELIST") {
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
                Some(Value::String(s)) => {
                    return Err(self.bad(
                        "whitelist",
                        format!("expected a list of host patterns, got the string {s:?}; write it as a list, e.g. [\"*.hipchat.com\"] (AC_HOST_WHITELIST is the comma-separated form)"),
                    ));
                }
                Some(other) => {
                    return Err(self.bad(
                        "whitelist",
                        format!(
                            "expected a list of host patterns like [\"*.hipchat.com\"], got {other}"
                        ),
                    ));
                }
            },
        };
        let whitelist =
            HostWhitelist::new(&whitelist_spec).map_err(|m| self.bad("whitelist", m))?;
        if production && whitelist.is_empty() {
            return Err(self.bad("whitelist", "production needs a host whitelist so installs cannot make the add-on fetch arbitrary URLs; set e.g. [\"*.hipchat.com\"] (or your HipChat Server's host) or AC_HOST_WHITELIST"));
        }
        let enforce_whitelist = !whitelist.is_empty();

        let max_token_age = match self.value("maxTokenAge")? {
            Some(v) => self.number(
                "maxTokenAge",
                &v,
                1,
                u64::from(u32::MAX),
                "a whole number of seconds, at least 1 (900 is the usual value)",
            )?,
            None => DEFAULT_MAX_TOKEN_AGE,
        };

        let search = self.search(project_dir, &mut warnings)?;

        let max_results_displayed = match self.value("maxResultsDisplayed")? {
            Some(v) => self.number(
                "maxResultsDisplayed",
                &v,
                1,
                MAX_RESULTS_LIMIT as u64,
                &format!("a whole number from 1 to {MAX_RESULTS_LIMIT}"),
            )? as usize,
            None => DEFAULT_MAX_RESULTS,
        };

        Ok(ProjectConfig {
            stage: self.stage.to_string(),
            port,
            local_base_url,
            base_path,
            store,
            legacy,
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

    fn store(
        &self,
        project_dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<StoreConfig, ConfigError> {
        let mut value = self.value("store")?;
        if let Some(Value::Object(map)) = &mut value {
            warnings.extend(unknown_keys(map, "store", STORE_KEYS));
            if let Some((_, url)) = self.store_url_override() {
                map.insert("url".into(), Value::String(url.to_string()));
            }
        }
        let mut store = store::parse(value.as_ref(), project_dir).map_err(|m| {
            let key = match self.store_url_override() {
                Some((var, _)) if m.contains("`url`") => format!("store.url (from {var})"),
                _ => "store".to_string(),
            };
            self.bad(&key, m)
        })?;
        if let (StoreConfig::Postgres { pool, .. }, Some(size)) =
            (&mut store, self.env.get("CONNECT_STORE_POOL"))
        {
            *pool = store::pool_size(&Value::String(size.to_owned()))
                .map_err(|m| self.bad("store.pool (from CONNECT_STORE_POOL)", m))?;
        }
        match &store {
            StoreConfig::Redis { url, tls } if url.starts_with("rediss:") && (!tls.verify || url.ends_with("#insecure")) => warnings.push(format!(
                "TLS certificate verification is off for Redis at {}: the connection is encrypted, but any server can pretend to be yours; to verify it, give its CA file as \"tls\": {{\"ca\": \"path/to/ca.pem\"}}",
                store::redact_url(url.trim_end_matches("#insecure"))
            )),
            StoreConfig::Redis { url, tls } if !url.starts_with("rediss:") && *tls != TlsOptions::default() => warnings.push(format!(
                "the store's `tls` settings are ignored: {} is a plain redis:// URL (use rediss:// for TLS)",
                store::redact_url(url)
            )),
            StoreConfig::Postgres { url, tls, .. } if !tls.verify => warnings.push(format!(
                "TLS certificate verification is off for PostgreSQL at {} (`rejectUnauthorized: false`): the connection is encrypted, but any server can pretend to be yours; to verify it, give its CA file as \"tls\": {{\"ca\": \"path/to/ca.pem\"}}",
                store::redact_url(url)
            )),
            StoreConfig::Memory => warnings.push("the memory store keeps installs only while this process runs; every install is lost on restart (use the default sqlite store, redis or postgres)".into()),
            StoreConfig::Embedded { .. } if self.stage == "production" => warnings.push("production uses the embedded SQLite store: fine on one server with a lasting disk, but installs are lost where the disk is not kept (Heroku dynos) and cannot be shared by several instances; use redis or postgres there".into()),
            _ => {}
        }
        Ok(store)
    }

    fn search(
        &self,
        project_dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<SearchConfig, ConfigError> {
        let legacy: Vec<&str> = ["searchHost", "searchBasePath", "tagBasePath"]
            .into_iter()
            .filter(|k| self.values.contains_key(*k))
            .collect();
        if let Some(value) = self.value("search")? {
            if let Value::Object(map) = &value {
                warnings.extend(unknown_keys(map, "search", SEARCH_KEYS));
            }
            if !legacy.is_empty() {
                warnings.push(format!(
                    "{} ignored: `search` says where to search",
                    legacy
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return search::parse(&value, project_dir).map_err(|(key, m)| self.bad(&key, m));
        }
        let host = match self.value("searchHost")? {
            Some(Value::String(s)) => s,
            Some(other) => return Err(self.bad("searchHost", format!("expected a host or URL string, got {other}"))),
            None => return Err(self.bad(
                "search",
                "missing: say which blog to search, e.g. \"search\": {\"source\": \"wordpress\", \"url\": \"https://blog.example\"} (or \"feed\", \"byTag\", \"file\"; see the project's README)",
            )),
        };
        let resolved: Map<String, Value> = ["searchBasePath", "tagBasePath"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), self.value(k).ok()??)))
            .collect();
        search::from_legacy(&resolved, &host).map_err(|(key, m)| self.bad(&key, m))
    }
}
