//! The blog search, from whichever source the project names (see
//! `config::search`): the WordPress REST API, a feed per tag, the seed's
//! byTag JSON, or a local file.
//!
//! Every upstream answer is bounded in time ([`SEARCH_TIMEOUT`] for the
//! whole search, WordPress's two calls included) and size; anything that
//! is not the expected answer is a [`SearchError`] naming its cause, which
//! the caller logs and turns into a friendly reply.

pub mod feed;
pub mod fetch;
pub mod file;
pub mod text;
pub mod wordpress;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::{SearchConfig, SearchSource};
use file::Catalog;
pub use text::encode;

/// The whole search, connect to last byte, must finish within this.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(3);
/// A blog's answer for a term is reused this long: tag pages change rarely,
/// and a busy room repeating a search should not hammer the blog.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// A WordPress tag's id is reused this long (ids do not change; a new tag
/// must not wait long to be found).
pub const TAG_TTL: Duration = Duration::from_secs(600);
/// At most this many terms are remembered.
const CACHE_TERMS: usize = 256;

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The article's title (plain text; escaped when rendered).
    pub title: String,
    /// The article's address.
    pub url: String,
}

/// What a search found.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Found {
    /// How many articles have the tag (may be more than `hits` holds).
    pub total: usize,
    /// The first of them, in the blog's order.
    pub hits: Vec<Hit>,
    /// The blog's page listing them all, if known.
    pub tag_url: Option<String>,
}

/// A search's outcome, shared by every caller that asked for the same term.
pub type Outcome = Result<Arc<Found>, Arc<SearchError>>;

/// Why a search gave no answer. Every message names the URL and the cause.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// No answer in time.
    #[error("{url}: no answer within {}s", SEARCH_TIMEOUT.as_secs())]
    Timeout {
        /// What was asked.
        url: String,
    },
    /// The connection failed (DNS, refused, TLS...).
    #[error("{url}: {cause}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// Why, in words.
        cause: String,
    },
    /// A status other than 2xx (or 404, which means no such tag).
    #[error("{url}: the blog answered HTTP {status}")]
    Status {
        /// What was asked.
        url: String,
        /// The status.
        status: u16,
    },
    /// An answer of the wrong kind or shape.
    #[error("{url}: {detail}")]
    Parse {
        /// What was asked.
        url: String,
        /// What is wrong, with line and column when there is one.
        detail: String,
    },
    /// More than [`fetch::MAX_ANSWER_BYTES`].
    #[error("{url}: the answer is larger than {} MiB", fetch::MAX_ANSWER_BYTES >> 20)]
    TooLarge {
        /// What was asked.
        url: String,
    },
}

impl SearchError {
    /// The message without the URL.
    pub fn detail(&self) -> String {
        match self {
            SearchError::Parse { detail, .. } => detail.clone(),
            SearchError::Unreachable { cause, .. } => cause.clone(),
            other => other.to_string(),
        }
    }
}

/// Parses a JSON answer strictly into `T`; `expected` describes it.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &[u8],
    expected: &str,
) -> Result<T, SearchError> {
    serde_json::from_slice(body).map_err(|e| {
        let detail = match e.classify() {
            serde_json::error::Category::Data => format!("not {expected}: {e}"),
            _ if body.trim_ascii_start().starts_with(b"<") => {
                format!("an HTML or XML page, not JSON (expected {expected})")
            }
            _ => format!("not JSON: {e}"),
        };
        SearchError::Parse {
            url: url.to_string(),
            detail,
        }
    })
}

/// The blog search client (cheap to clone; shares one connection pool and
/// its caches).
#[derive(Clone, Debug)]
pub struct Search {
    client: reqwest::Client,
    configured: crate::tls::Configured,
    metrics: crate::serve::metrics::Metrics,
    config: SearchConfig,
    /// How many hits a reply lists (what WordPress is asked for).
    wanted: usize,
    catalog: Option<Arc<Catalog>>,
    cache: Arc<Mutex<HashMap<String, Slot>>>,
    tags: Arc<Mutex<TagIds>>,
}

/// WordPress tags by slug, and when they were looked up (`None`: no such tag).
type TagIds = HashMap<String, (Instant, Option<wordpress::Tag>)>;

/// A term's cache entry: a recent answer, or a search in flight whose
/// outcome every concurrent caller waits for (one upstream request).
#[derive(Debug)]
enum Slot {
    Ready(Instant, Arc<Found>),
    Pending(watch::Receiver<Option<Outcome>>),
}

/// Removes a pending slot whose search was abandoned (the request that
/// started it went away), so later callers start their own.
struct PendingGuard<'a> {
    search: &'a Search,
    term: &'a str,
    done: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut cache = self.search.lock();
            if matches!(cache.get(self.term), Some(Slot::Pending(_))) {
                cache.remove(self.term);
            }
        }
    }
}

impl Search {
    /// A search client over the shared HTTP client; a `file` source is read
    /// now (the error names the file and the line).
    pub fn new(
        client: reqwest::Client,
        config: SearchConfig,
        wanted: usize,
    ) -> Result<Self, String> {
        let catalog = match &config.source {
            SearchSource::File { path } => Some(Arc::new(Catalog::load(path)?)),
            _ => None,
        };
        let configured = config.tls.trust().configured();
        Ok(Self {
            client,
            configured,
            metrics: crate::serve::metrics::Metrics::disabled(),
            config,
            wanted,
            catalog,
            cache: Arc::default(),
            tags: Arc::default(),
        })
    }

    /// Records its upstream calls and cache use in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::serve::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    // One GET to the blog, timed and counted.
    async fn get(&self, url: &str, accept: &str) -> Result<fetch::Answer, SearchError> {
        let source = match &self.config.source {
            SearchSource::WordPress { .. } => "wordpress",
            SearchSource::Feed { .. } => "feed",
            SearchSource::ByTag { .. } => "byTag",
            SearchSource::File { .. } => "file",
        };
        let started = Instant::now();
        let outcome = fetch::get(&self.client, url, accept, &self.configured).await;
        let label = match &outcome {
            Ok(answer) if answer.status == reqwest::StatusCode::NOT_FOUND => "not_found",
            Ok(_) => "ok",
            Err(SearchError::Timeout { .. }) => "timeout",
            Err(SearchError::Status { .. }) => "status",
            Err(SearchError::TooLarge { .. }) => "too_large",
            Err(_) => "unreachable",
        };
        self.metrics.upstream(source, label, started.elapsed());
        outcome
    }

    /// A short description for the start-up line.
    pub fn describe(&self) -> String {
        match &self.config.source {
            SearchSource::WordPress { base } => {
                format!("WordPress at {}", base.as_str().trim_end_matches('/'))
            }
            SearchSource::Feed { template } => format!("feeds at {template}"),
            SearchSource::ByTag { template } => format!("byTag at {template}"),
            SearchSource::File { path } => format!(
                "{} ({} articles)",
                path.display(),
                self.catalog.as_ref().map_or(0, |c| c.len())
            ),
        }
    }

    /// Searches for `term`, answering from the cache when a successful
    /// answer is less than [`CACHE_TTL`] old, and joining a search for the
    /// same term already in flight. Failures are not cached.
    pub async fn search(&self, term: &str) -> Outcome {
        let waiting = {
            let cache = self.lock();
            match cache.get(term) {
                Some(Slot::Ready(at, found)) if at.elapsed() < CACHE_TTL => {
                    self.metrics.cache("hit");
                    return Ok(found.clone());
                }
                Some(Slot::Pending(rx)) => Some(rx.clone()),
                _ => None,
            }
        };
        self.metrics
            .cache(if waiting.is_some() { "joined" } else { "miss" });
        if let Some(mut rx) = waiting {
            if let Ok(outcome) = rx.wait_for(Option::is_some).await
                && let Some(outcome) = outcome.clone()
            {
                return outcome;
            }
            // The search we waited for was abandoned: search ourselves.
            return self.fetch(term).await.map(Arc::new).map_err(Arc::new);
        }
        let (tx, rx) = watch::channel(None);
        self.lock().insert(term.to_string(), Slot::Pending(rx));
        let mut guard = PendingGuard {
            search: self,
            term,
            done: false,
        };
        let outcome: Outcome = self.fetch(term).await.map(Arc::new).map_err(Arc::new);
        {
            let mut cache = self.lock();
            match &outcome {
                Ok(found) => {
                    if cache.len() >= CACHE_TERMS {
                        cache.retain(|_, slot| match slot {
                            Slot::Ready(at, _) => at.elapsed() < CACHE_TTL,
                            Slot::Pending(_) => true,
                        });
                    }
                    if cache.len() >= CACHE_TERMS {
                        cache.retain(|_, slot| matches!(slot, Slot::Pending(_)));
                    }
                    cache.insert(term.to_string(), Slot::Ready(Instant::now(), found.clone()));
                }
                Err(_) => {
                    cache.remove(term);
                }
            }
            guard.done = true;
        }
        let _ = tx.send(Some(outcome.clone()));
        outcome
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The blog's home page (`""` when unknown: replies then name the blog
    /// without a link).
    pub fn blog_url(&self) -> String {
        self.config
            .home_page()
            .or_else(|| self.catalog.as_ref().and_then(|c| c.home()))
            .unwrap_or_default()
    }

    /// Asks the source for `term` (no cache), within [`SEARCH_TIMEOUT`].
    pub async fn fetch(&self, term: &str) -> Result<Found, SearchError> {
        let what = match &self.config.source {
            SearchSource::WordPress { base } => wordpress::tags_url(base, &text::slug(term)),
            SearchSource::Feed { template } | SearchSource::ByTag { template } => {
                text::fill(template, term)
            }
            SearchSource::File { path } => path.display().to_string(),
        };
        let mut found = match tokio::time::timeout(SEARCH_TIMEOUT, self.ask(term)).await {
            Ok(found) => found?,
            Err(_) => return Err(SearchError::Timeout { url: what }),
        };
        if let Some(template) = &self.config.tag_url {
            found.tag_url = Some(text::fill(template, term));
        }
        found.total = found.total.max(found.hits.len());
        Ok(found)
    }

    async fn ask(&self, term: &str) -> Result<Found, SearchError> {
        match &self.config.source {
            SearchSource::WordPress { base } => self.wordpress(base, term).await,
            SearchSource::Feed { template } => {
                let url = text::fill(template, term);
                let answer = self.get(&url, "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5").await?;
                if answer.status == reqwest::StatusCode::NOT_FOUND {
                    // No such tag: the blog has no feed for it.
                    return Ok(Found::default());
                }
                let articles = feed::parse(&url, &answer.body, &answer.content_type())?;
                Ok(Found {
                    total: articles.hits.len(),
                    hits: articles.hits,
                    tag_url: articles.link,
                })
            }
            SearchSource::ByTag { template } => {
                let url = text::fill(template, term);
                let answer = self.get(&url, "application/json").await?;
                if answer.status == reqwest::StatusCode::NOT_FOUND {
                    return Err(SearchError::Status { url, status: 404 });
                }
                let hits: Vec<Hit> = json(&url, &answer.body, "a list of {\"title\", \"url\"}")?;
                Ok(Found {
                    total: hits.len(),
                    hits,
                    tag_url: None,
                })
            }
            SearchSource::File { .. } => {
                let hits = self
                    .catalog
                    .as_ref()
                    .map(|c| c.find(term))
                    .unwrap_or_default();
                Ok(Found {
                    total: hits.len(),
                    hits,
                    tag_url: None,
                })
            }
        }
    }

    async fn wordpress(&self, base: &url::Url, term: &str) -> Result<Found, SearchError> {
        let slug = text::slug(term);
        let cached = {
            let tags = self.tags.lock().unwrap_or_else(|p| p.into_inner());
            tags.get(&slug)
                .filter(|(at, _)| at.elapsed() < TAG_TTL)
                .map(|(_, tag)| tag.clone())
        };
        let tag = match cached {
            Some(tag) => tag,
            None => {
                let url = wordpress::tags_url(base, &slug);
                let answer = self.get(&url, "application/json").await?;
                if answer.status == reqwest::StatusCode::NOT_FOUND {
                    return Err(SearchError::Parse {
                        url,
                        detail: "no WordPress REST API there (404): is it a WordPress blog? Try the \"feed\" source".into(),
                    });
                }
                let tag = wordpress::parse_tags(&url, &answer.body)?;
                let mut tags = self.tags.lock().unwrap_or_else(|p| p.into_inner());
                if tags.len() >= CACHE_TERMS * 4 {
                    tags.retain(|_, (at, _)| at.elapsed() < TAG_TTL);
                    if tags.len() >= CACHE_TERMS * 2 {
                        // Still full of live entries: start over rather
                        // than scan the map at every insert.
                        tags.clear();
                    }
                }
                tags.insert(slug.clone(), (Instant::now(), tag.clone()));
                tag
            }
        };
        let Some(tag) = tag else {
            return Ok(Found::default());
        };
        let url = wordpress::posts_url(base, tag.id, self.wanted);
        let answer = self.get(&url, "application/json").await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Err(SearchError::Status { url, status: 404 });
        }
        let hits = wordpress::parse_posts(&url, &answer.body)?;
        let total = answer
            .headers
            .get("x-wp-total")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(hits.len());
        Ok(Found {
            total,
            hits,
            tag_url: tag.link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_non_json_from_wrongly_shaped_json() {
        let html = json::<Vec<Hit>>("u", b"<html>", "a list")
            .unwrap_err()
            .to_string();
        assert!(html.contains("an HTML or XML page, not JSON"), "{html}");
        let empty = json::<Vec<Hit>>("u", b"", "a list")
            .unwrap_err()
            .to_string();
        assert!(
            empty.contains("not JSON") && empty.contains("line 1"),
            "{empty}"
        );
        let shape = json::<Vec<Hit>>("u", br#"{"title":"T"}"#, "a list")
            .unwrap_err()
            .to_string();
        assert!(shape.contains("not a list"), "{shape}");
        let hits = json::<Vec<Hit>>(
            "u",
            br#"[{"title":"T","url":"http://x/1","extra":1}]"#,
            "a list",
        )
        .unwrap();
        assert_eq!(hits[0].title, "T");
    }
}
