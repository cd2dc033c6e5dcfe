//! The `search` setting: which blog `/hascode TAG` searches, and how.
//!
//! ```jsonc
//! "search": {"source": "wordpress", "url": "https://blog.example"}
//! "search": {"source": "feed", "url": "https://blog.example/tag/{tag}/feed/"}
//! "search": {"source": "byTag", "url": "https://www.hascode.com/wp-content/byTag.php?tag={tag}"}
//! "search": {"source": "file", "path": "articles.json"}
//! ```
//!
//! with optional `tagUrl` (`https://blog.example/tag/{tag}/`, the "show all"
//! link) and `home` (the blog's home page). The old stack's `searchHost` +
//! `searchBasePath` (+ `tagBasePath`) keep meaning a byTag source.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use url::Url;

use super::hosts::parse_search_host;

/// The placeholder a URL template puts the (URL-encoded) tag in.
pub const TAG: &str = "{tag}";

/// The keys a `search` object may have.
pub const SEARCH_KEYS: &[&str] = &["source", "url", "path", "tagUrl", "home", "tls"];

const DEFAULT_SEARCH_BASE_PATH: &str = "/wp-content/byTag.php?tag=";
const DEFAULT_TAG_BASE_PATH: &str = "/tag/";

/// Where articles come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchSource {
    /// The WordPress REST API of the blog at `base` (`/wp-json/wp/v2/...`).
    WordPress {
        /// The blog's address, e.g. `https://blog.example` (no trailing slash).
        base: Url,
    },
    /// An RSS 2.0 or Atom feed per tag, from a URL template with `{tag}`.
    Feed {
        /// e.g. `https://blog.example/tag/{tag}/feed/`.
        template: String,
    },
    /// A JSON array of `{title, url}` per tag, from a URL template with `{tag}`.
    ByTag {
        /// e.g. `https://www.hascode.com/wp-content/byTag.php?tag={tag}`.
        template: String,
    },
    /// A local JSON array of `{title, url, tags}`, or a feed file whose
    /// entries have categories, read at start.
    File {
        /// The file (absolute).
        path: PathBuf,
    },
}

/// The blog search, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchConfig {
    /// Where articles come from.
    pub source: SearchSource,
    /// The "show all N results" link, a template with `{tag}`; without
    /// one, the source's own tag page when it has one.
    pub tag_url: Option<String>,
    /// The blog's home page (replies link to it); without one, the
    /// source's origin.
    pub home: Option<Url>,
    /// How an https blog's certificate is checked (`"tls": {"ca": ...}` or
    /// `{"rejectUnauthorized": false}`); the system's roots by default.
    pub tls: super::TlsOptions,
}

impl SearchConfig {
    /// The blog's home page for replies: `home`, else the source's origin
    /// (`None` for a file, whose articles may give one).
    pub fn home_page(&self) -> Option<String> {
        if let Some(home) = &self.home {
            return Some(home.as_str().trim_end_matches('/').to_string());
        }
        match &self.source {
            SearchSource::WordPress { base } => {
                Some(base.as_str().trim_end_matches('/').to_string())
            }
            SearchSource::Feed { template } | SearchSource::ByTag { template } => {
                Url::parse(&template.replace(TAG, "x"))
                    .ok()
                    .map(|u| u.origin().ascii_serialization())
            }
            SearchSource::File { .. } => None,
        }
    }
}

/// Reads the `search` object (variables already substituted).
pub fn parse(value: &Value, project_dir: &Path) -> Result<SearchConfig, (String, String)> {
    let bad = |key: &str, message: String| (format!("search.{key}"), message);
    let obj = value.as_object().ok_or_else(|| {
        (
            "search".to_string(),
            format!(
                "expected an object such as {{\"source\": \"wordpress\", \"url\": \"https://blog.example\"}}, got {value}"
            ),
        )
    })?;
    let text = |key: &str| -> Result<Option<String>, (String, String)> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(bad(key, "is empty".into())),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(bad(key, format!("expected a string, got {other}"))),
        }
    };
    let source = text("source")?.ok_or_else(|| {
        bad(
            "source",
            "is missing; one of \"wordpress\", \"feed\", \"byTag\", \"file\"".into(),
        )
    })?;
    let url = |hint: &str| -> Result<String, (String, String)> {
        text("url")?.ok_or_else(|| bad("url", format!("is missing; e.g. \"{hint}\"")))
    };
    let source = match source.to_ascii_lowercase().as_str() {
        "wordpress" | "wp" => {
            let raw = url("https://blog.example")?;
            let base = http_url(&raw).map_err(|m| bad("url", m))?;
            if base.query().is_some() || raw.contains(TAG) {
                return Err(bad(
                    "url",
                    format!(
                        "`{raw}` must be the blog's address only, e.g. \"https://blog.example\" (the REST API paths are added)"
                    ),
                ));
            }
            let mut base = base;
            let path = base.path().trim_end_matches('/').to_string();
            base.set_path(&path);
            SearchSource::WordPress { base }
        }
        "feed" | "rss" | "atom" => SearchSource::Feed {
            template: template(&url("https://blog.example/tag/{tag}/feed/")?)
                .map_err(|m| bad("url", m))?,
        },
        "bytag" => SearchSource::ByTag {
            template: template(&url(
                "https://www.hascode.com/wp-content/byTag.php?tag={tag}",
            )?)
            .map_err(|m| bad("url", m))?,
        },
        "file" => {
            let path = text("path")?.ok_or_else(|| {
                bad(
                    "path",
                    "is missing; e.g. \"articles.json\" (relative to the project)".into(),
                )
            })?;
            SearchSource::File {
                path: project_dir.join(path),
            }
        }
        other => {
            return Err(bad(
                "source",
                format!(
                    "`{other}` is not a source; use \"wordpress\", \"feed\", \"byTag\" or \"file\""
                ),
            ));
        }
    };
    let tag_url = match text("tagUrl")? {
        Some(t) => Some(template(&t).map_err(|m| bad("tagUrl", m))?),
        None => None,
    };
    let home = match text("home")? {
        Some(h) => Some(http_url(&h).map_err(|m| bad("home", m))?),
        None => None,
    };
    let tls = super::store::tls_options(obj, project_dir)
        .map_err(|m| ("search.tls".to_string(), m.replace("`tls", "`search.tls")))?
        .unwrap_or_default();
    Ok(SearchConfig {
        source,
        tag_url,
        home,
        tls,
    })
}

/// The old stack's keys: `searchHost` + `searchBasePath` (a path the
/// encoded term is appended to) + `tagBasePath`, as a byTag source.
pub fn from_legacy(
    values: &Map<String, Value>,
    host: &str,
) -> Result<SearchConfig, (String, String)> {
    let base = parse_search_host(host).map_err(|m| ("searchHost".to_string(), m))?;
    let path = |key: &str, default: &str| -> Result<String, (String, String)> {
        let path = match values.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err((
                    key.to_string(),
                    format!("expected a path string, got {other}"),
                ));
            }
            None => default.to_string(),
        };
        if !path.starts_with('/') {
            return Err((
                key.to_string(),
                format!("must start with `/`, e.g. \"{default}\""),
            ));
        }
        Ok(path)
    };
    let origin = base.as_str().trim_end_matches('/').to_string();
    let search = path("searchBasePath", DEFAULT_SEARCH_BASE_PATH)?;
    let tag = path("tagBasePath", DEFAULT_TAG_BASE_PATH)?;
    Ok(SearchConfig {
        source: SearchSource::ByTag {
            template: format!("{origin}{search}{TAG}"),
        },
        tag_url: Some(format!("{origin}{tag}{TAG}/")),
        home: Some(base),
        tls: super::TlsOptions::default(),
    })
}

fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!("`{text}` is not a URL ({e}); expected e.g. \"https://blog.example\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{text}` must be an http or https URL"));
    }
    Ok(url)
}

/// A URL template: an http(s) URL with `{tag}` in it.
fn template(text: &str) -> Result<String, String> {
    if !text.contains(TAG) {
        return Err(format!(
            "`{text}` has no {TAG} for the tag searched; e.g. \"https://blog.example/tag/{TAG}/feed/\""
        ));
    }
    http_url(&text.replace(TAG, "x"))?;
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> &'static Path {
        Path::new("/proj")
    }

    #[test]
    fn each_source_with_its_example() {
        let wp = parse(
            &json!({"source": "wordpress", "url": "https://blog.example/"}),
            dir(),
        )
        .unwrap();
        assert_eq!(
            wp.source,
            SearchSource::WordPress {
                base: Url::parse("https://blog.example").unwrap()
            }
        );
        assert_eq!(wp.home_page().as_deref(), Some("https://blog.example"));
        let feed = parse(
            &json!({"source": "feed", "url": "https://blog.example/tag/{tag}/feed/"}),
            dir(),
        )
        .unwrap();
        assert_eq!(feed.home_page().as_deref(), Some("https://blog.example"));
        let by_tag = parse(&json!({"source": "byTag", "url": "https://h.example/byTag.php?tag={tag}", "tagUrl": "https://h.example/t/{tag}/"}), dir()).unwrap();
        assert_eq!(
            by_tag.tag_url.as_deref(),
            Some("https://h.example/t/{tag}/")
        );
        let file = parse(
            &json!({"source": "file", "path": "articles.json", "home": "https://blog.example"}),
            dir(),
        )
        .unwrap();
        assert_eq!(
            file.source,
            SearchSource::File {
                path: "/proj/articles.json".into()
            }
        );
        assert_eq!(file.home_page().as_deref(), Some("https://blog.example"));
    }

    #[test]
    fn mistakes_name_the_key_and_what_would_do() {
        let cases = [
            (json!({"url": "https://x"}), "search.source", "wordpress"),
            (
                json!({"source": "blogger", "url": "https://x"}),
                "search.source",
                "byTag",
            ),
            (
                json!({"source": "feed", "url": "https://x/feed/"}),
                "search.url",
                "{tag}",
            ),
            (json!({"source": "feed"}), "search.url", "is missing"),
            (
                json!({"source": "wordpress", "url": "ftp://x"}),
                "search.url",
                "http or https",
            ),
            (
                json!({"source": "wordpress", "url": "https://x/?p={tag}"}),
                "search.url",
                "address only",
            ),
            (json!({"source": "file"}), "search.path", "articles.json"),
            (
                json!({"source": "file", "path": 3}),
                "search.path",
                "expected a string",
            ),
            (json!("https://x"), "search", "expected an object"),
        ];
        for (value, key, needle) in cases {
            let (k, message) = parse(&value, dir()).unwrap_err();
            assert_eq!(k, key, "{value}");
            assert!(message.contains(needle), "{value}: {message}");
        }
    }

    #[test]
    fn an_https_blogs_certificate_can_be_pinned_or_left_unverified() {
        let pinned = parse(
            &json!({"source": "feed", "url": "https://blog.internal/tag/{tag}/feed/", "tls": {"ca": "certs/blog.pem"}}),
            dir(),
        )
        .unwrap();
        assert_eq!(
            pinned.tls.ca.as_deref(),
            Some(Path::new("/proj/certs/blog.pem"))
        );
        let typo = parse(
            &json!({"source": "feed", "url": "https://b/{tag}", "tls": {"cafile": "x.pem"}}),
            dir(),
        )
        .unwrap_err();
        assert_eq!(typo.0, "search.tls");
        assert!(typo.1.contains("`search.tls.cafile`"), "{}", typo.1);
    }

    #[test]
    fn the_old_keys_mean_a_by_tag_source() {
        let values =
            json!({"searchBasePath": "/wp-content/byTag.php?tag=", "tagBasePath": "/tag/"});
        let c = from_legacy(values.as_object().unwrap(), "www.hascode.com").unwrap();
        assert_eq!(
            c.source,
            SearchSource::ByTag {
                template: "https://www.hascode.com/wp-content/byTag.php?tag={tag}".into()
            }
        );
        assert_eq!(
            c.tag_url.as_deref(),
            Some("https://www.hascode.com/tag/{tag}/")
        );
        assert_eq!(c.home_page().as_deref(), Some("https://www.hascode.com"));
        let bad = json!({"searchBasePath": "byTag.php"});
        assert_eq!(
            from_legacy(bad.as_object().unwrap(), "h").unwrap_err().0,
            "searchBasePath"
        );
    }
}
