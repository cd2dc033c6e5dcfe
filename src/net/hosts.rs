//! Which `Host` header values a local server answers: the defence against
//! DNS rebinding (webpack-dev-server's `allowedHosts`, Vite's
//! `server.allowedHosts`).
//!
//! A page on `evil.example` whose name an attacker re-points at 127.0.0.1
//! talks to our ports as its own origin, but every request it makes still
//! says `Host: evil.example:PORT`. So a request is answered only when its
//! `Host` is a name the user can have meant:
//!
//! - an IP address (a rebinding page never has one: its origin is a name);
//! - `localhost` and `*.localhost` (browsers resolve them to loopback
//!   themselves, so no outside page can be served under them);
//! - the names the user gave (`--allow-host`, `--public-url`, the tunnel's
//!   host, `localBaseUrl`'s host), exact or as `*.example.com` patterns.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The host names a server answers besides IP addresses and `localhost`.
/// Cheap to clone; clones share names added later with [`AllowedHosts::add`].
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The patterns given at start, for messages and matching.
    patterns: Vec<String>,
    set: GlobSet,
    /// Exact names learnt while running (a tunnel's URL).
    later: RwLock<Vec<String>>,
}

impl AllowedHosts {
    /// Compiles `patterns` (`addon.example.com`, `*.example.com`; a port
    /// or scheme given with a name is dropped, so `--allow-host
    /// https://addon.example.com:8443` works too). Matching ignores case.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let mut names = Vec::new();
        let mut builder = GlobSetBuilder::new();
        for raw in patterns {
            let name = normalise_pattern(raw.as_ref())?;
            if names.contains(&name) {
                continue;
            }
            let glob = GlobBuilder::new(&name)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| format!("`{}` is not a valid host pattern: {e}", raw.as_ref()))?;
            builder.add(glob);
            names.push(name);
        }
        let set = builder.build().map_err(|e| e.to_string())?;
        Ok(AllowedHosts {
            inner: Arc::new(Inner {
                patterns: names,
                set,
                later: RwLock::new(Vec::new()),
            }),
        })
    }

    /// Only IP addresses and `localhost` names.
    pub fn local_only() -> Self {
        AllowedHosts::new::<&str>(&[]).unwrap_or_else(|_| unreachable!("no patterns"))
    }

    /// Allows `name` (a host, or a URL whose host is taken) from now on, in
    /// every clone: the tunnel's public host once ngrok reports it.
    pub fn add(&self, name: &str) {
        let Ok(name) = normalise_pattern(name) else {
            return;
        };
        let mut later = self.inner.later.write().unwrap_or_else(|e| e.into_inner());
        if !later.contains(&name) {
            later.push(name);
        }
    }

    /// The names given by the user (patterns at start, then names added).
    pub fn names(&self) -> Vec<String> {
        let mut all = self.inner.patterns.clone();
        all.extend(
            self.inner
                .later
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        all
    }

    /// Whether a request with this `Host` header value is answered.
    /// A request without one cannot come from a browser and is.
    pub fn allows(&self, host_header: Option<&str>) -> bool {
        let Some(header) = host_header else {
            return true;
        };
        let Some(name) = host_name(header) else {
            return false;
        };
        if is_always_allowed(&name) || self.inner.set.is_match(&name) {
            return true;
        }
        self.inner
            .later
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&name)
    }
}

/// The host name of a `Host` header value, lower-case, without port,
/// brackets or a trailing dot; `None` when it is not a valid authority.
pub fn host_name(header: &str) -> Option<String> {
    let authority: axum::http::uri::Authority = header.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// IP addresses and `localhost` / `*.localhost`.
fn is_always_allowed(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

/// `https://Addon.Example.com:8443/` -> `addon.example.com`; `*.x.com` kept.
fn normalise_pattern(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let without_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let without_path = without_scheme.split('/').next().unwrap_or_default();
    let name = if let Some(rest) = without_path.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default().to_owned()
    } else {
        match without_path.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_owned(),
            _ => without_path.to_owned(),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | ':'));
    if !valid {
        return Err(format!(
            "`{raw}` is not a host name; give names like addon.example.com or *.example.com"
        ));
    }
    Ok(name)
}

/// The sentence a refused request gets: who refused which name, why, and
/// how to allow it (`how` names the setting, e.g. `--allow-host NAME`).
pub fn refusal(server: &str, header: Option<&str>, how: &str) -> String {
    let shown = header.map_or_else(|| "(none)".to_owned(), |h| h.trim().to_owned());
    let name = header.and_then(host_name).unwrap_or_else(|| shown.clone());
    format!(
        "{server} does not answer requests for the host `{shown}`: it serves localhost, *.localhost, IP addresses and the names it was given (a guard against DNS rebinding). If you reach it by this name, allow it with {}",
        how.replace("NAME", &name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_and_localhost_names_are_always_answered() {
        let hosts = AllowedHosts::local_only();
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:3000",
            "192.168.1.20:3000",
            "localhost:3000",
            "LOCALHOST",
            "com-example-a.localhost:8080",
            "localhost.:3000",
        ] {
            assert!(hosts.allows(Some(ok)), "{ok}");
        }
        assert!(hosts.allows(None), "no Host header: not a browser");
    }

    #[test]
    fn any_other_name_is_refused_unless_given() {
        let hosts = AllowedHosts::local_only();
        for refused in [
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io:3000",
            "evillocalhost:3000",
            "",
            "user@localhost:3000",
        ] {
            assert!(!hosts.allows(Some(refused)), "{refused:?}");
        }
        let given = AllowedHosts::new(&["addon.example.com", "*.ngrok.app"]).unwrap();
        assert!(given.allows(Some("addon.example.com")));
        assert!(given.allows(Some("Addon.Example.COM:443")));
        assert!(given.allows(Some("abc.ngrok.app")));
        assert!(!given.allows(Some("ngrok.app.evil.example")));
        assert!(!given.allows(Some("example.com")));
    }

    #[test]
    fn names_can_be_given_as_urls_and_added_while_running() {
        let hosts = AllowedHosts::new(&["https://Addon.Example.com:8443/x"]).unwrap();
        assert_eq!(hosts.names(), vec!["addon.example.com"]);
        let clone = hosts.clone();
        assert!(!clone.allows(Some("1234.ngrok-free.app")));
        hosts.add("https://1234.ngrok-free.app");
        assert!(
            clone.allows(Some("1234.ngrok-free.app")),
            "clones share names"
        );
        assert!(AllowedHosts::new(&["bad name"]).is_err());
        assert!(AllowedHosts::new(&[""]).is_err());
    }

    #[test]
    fn the_refusal_says_how_to_allow_the_name() {
        let text = refusal(
            "connect emulate",
            Some("evil.example:8080"),
            "--allow-host NAME",
        );
        assert!(text.contains("`evil.example:8080`"), "{text}");
        assert!(text.contains("--allow-host evil.example"), "{text}");
        assert!(text.contains("DNS rebinding"), "{text}");
    }
}
