//! Host-shaped settings: the install whitelist and the blog's search host.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use url::Url;

/// Host patterns (`*.hipchat.com`, `127.0.0.1`) a capabilities URL must
/// match before the add-on fetches it.
#[derive(Clone, Debug)]
pub struct HostWhitelist {
    patterns: Vec<String>,
    set: GlobSet,
}

impl HostWhitelist {
    /// Compiles the patterns; matching ignores ASCII case.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let pattern = pattern.trim();
            // `[::1]`, as a URL spells an IPv6 host, is a host; `host:3000` is not.
            let ipv6 = pattern.starts_with('[')
                && pattern.ends_with(']')
                && pattern[1..pattern.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok();
            if pattern.is_empty() || pattern.contains('/') || (pattern.contains(':') && !ipv6) {
                return Err(format!(
                    "`{pattern}` is not a host pattern; write hosts like \"*.hipchat.com\" or \"api.example.com\", without scheme, port or path"
                ));
            }
            let literal;
            let pattern = if ipv6 {
                literal = globset::escape(pattern);
                literal.as_str()
            } else {
                pattern
            };
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("`{pattern}` is not a valid host pattern: {e}"))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            patterns: patterns.iter().map(|p| p.trim().to_string()).collect(),
            set,
        })
    }

    /// Whether no pattern is configured.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The configured patterns, for messages.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `host` matches one of the patterns.
    pub fn allows(&self, host: &str) -> bool {
        self.set.is_match(host.trim_end_matches('.'))
    }
}

/// Accepts a bare host (`www.hascode.com`, https assumed), `host:port`, or a
/// URL with scheme and port (`http://127.0.0.1:8081`), and returns the
/// origin as a URL with an empty path.
pub fn parse_search_host(text: &str) -> Result<Url, String> {
    let text = text.trim().trim_end_matches('/');
    if text.is_empty() {
        return Err("is empty; set the blog's host, e.g. \"www.hascode.com\"".into());
    }
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        format!("`{text}` is not a host or URL ({e}); expected e.g. \"www.hascode.com\", \"blog:8080\" or \"http://127.0.0.1:8081\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{text}` must be an http or https host"));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "`{text}` must be only scheme, host and port; put the path in `searchBasePath`"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> HostWhitelist {
        HostWhitelist::new(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_wildcard_matches_subdomains_but_not_lookalikes() {
        let w = list(&["*.hipchat.com"]);
        assert!(w.allows("api.hipchat.com"));
        assert!(w.allows("API.HipChat.com"));
        assert!(!w.allows("hipchat.com.evil.example"));
        assert!(!w.allows("evilhipchat.com"));
    }

    #[test]
    fn exact_hosts_match_only_themselves() {
        let w = list(&["127.0.0.1", "hipchat.example.org"]);
        assert!(w.allows("127.0.0.1"));
        assert!(!w.allows("127.0.0.2"));
        assert!(w.allows("hipchat.example.org"));
    }

    #[test]
    fn ipv6_hosts_are_written_as_urls_write_them() {
        let w = list(&["[::1]"]);
        assert!(w.allows("[::1]"));
        assert!(!w.allows("1"), "a host, not a character class");
        assert!(HostWhitelist::new(&["localhost:3000".to_string()]).is_err());
    }

    #[test]
    fn patterns_with_scheme_or_path_are_rejected_with_a_hint() {
        let err = HostWhitelist::new(&["https://api.hipchat.com".to_string()]).unwrap_err();
        assert!(err.contains("without scheme"), "{err}");
    }

    #[test]
    fn search_host_accepts_bare_hosts_host_port_and_urls() {
        assert_eq!(
            parse_search_host("www.hascode.com").unwrap().as_str(),
            "https://www.hascode.com/"
        );
        assert_eq!(
            parse_search_host("blog:8443").unwrap().as_str(),
            "https://blog:8443/"
        );
        assert_eq!(
            parse_search_host("http://127.0.0.1:8081/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8081/"
        );
    }

    #[test]
    fn search_host_rejects_paths_and_other_schemes() {
        assert!(
            parse_search_host("https://blog/wp-content")
                .unwrap_err()
                .contains("searchBasePath")
        );
        assert!(parse_search_host("ftp://blog").is_err());
        assert!(parse_search_host("  ").is_err());
    }
}
