//! The blog search: one GET to `searchHost + searchBasePath + TERM`, which
//! answers a JSON array of `{title, url}`.
//!
//! Anything but a 2xx answer with exactly that shape, within the timeout,
//! is [`SearchError`]; the caller turns it into a friendly reply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use url::Url;

use crate::config::SearchConfig;

/// The whole search, connect to last byte, must finish within this.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Larger answers are refused rather than buffered.
const MAX_ANSWER_BYTES: usize = 4 << 20;
/// A blog's answer for a term is reused this long: tag pages change rarely,
/// and a busy room repeating a search should not hammer the blog.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// At most this many terms are remembered.
const CACHE_TERMS: usize = 256;

/// A search's outcome, shared by every caller that asked for the same term.
pub type Outcome = Result<Arc<Vec<Hit>>, Arc<SearchError>>;

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The article's title (plain text; escaped when rendered).
    pub title: String,
    /// The article's address.
    pub url: String,
}

/// Why a search gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// No answer in time.
    #[error("the blog did not answer within {}s", SEARCH_TIMEOUT.as_secs())]
    Timeout,
    /// The connection failed.
    #[error("cannot reach the blog: {0}")]
    Unreachable(String),
    /// A non-2xx status.
    #[error("the blog answered HTTP {0}")]
    Status(u16),
    /// The body is not JSON.
    #[error("the blog's answer is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an array of `{title, url}` strings.
    #[error("the blog's answer is not a list of {{title, url}}: {0}")]
    BadShape(String),
    /// More than [`MAX_ANSWER_BYTES`].
    #[error("the blog's answer is larger than {} MiB", MAX_ANSWER_BYTES >> 20)]
    TooLarge,
}

/// The blog search client (cheap to clone; shares one connection pool and
/// one answer cache).
#[derive(Clone, Debug)]
pub struct Search {
    client: reqwest::Client,
    config: SearchConfig,
    cache: Arc<Mutex<HashMap<String, Slot>>>,
}

/// A term's cache entry: a recent answer, or a search in flight whose
/// outcome every concurrent caller waits for (one upstream request).
#[derive(Debug)]
enum Slot {
    Ready(Instant, Arc<Vec<Hit>>),
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
    /// A search client over the shared HTTP client.
    pub fn new(client: reqwest::Client, config: SearchConfig) -> Self {
        Self {
            client,
            config,
            cache: Arc::default(),
        }
    }

    /// Searches the blog for `term`, answering from the cache when a
    /// successful answer is less than [`CACHE_TTL`] old, and joining a
    /// search for the same term already in flight. Failures are not cached.
    pub async fn search(&self, term: &str) -> Outcome {
        let waiting = {
            let cache = self.lock();
            match cache.get(term) {
                Some(Slot::Ready(at, hits)) if at.elapsed() < CACHE_TTL => return Ok(hits.clone()),
                Some(Slot::Pending(rx)) => Some(rx.clone()),
                _ => None,
            }
        };
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
                Ok(hits) => {
                    if cache.len() >= CACHE_TERMS {
                        cache.retain(|_, slot| match slot {
                            Slot::Ready(at, _) => at.elapsed() < CACHE_TTL,
                            Slot::Pending(_) => true,
                        });
                    }
                    if cache.len() >= CACHE_TERMS {
                        cache.retain(|_, slot| matches!(slot, Slot::Pending(_)));
                    }
                    cache.insert(term.to_string(), Slot::Ready(Instant::now(), hits.clone()));
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

    /// The blog's home page.
    pub fn blog_url(&self) -> String {
        self.config.base.as_str().trim_end_matches('/').to_string()
    }

    /// The URL searched for `term` (term URL-encoded as a query value).
    pub fn search_url(&self, term: &str) -> Result<Url, SearchError> {
        let text = format!(
            "{}{}{}",
            self.blog_url(),
            self.config.base_path,
            encode(term)
        );
        Url::parse(&text).map_err(|e| SearchError::Unreachable(format!("bad search URL: {e}")))
    }

    /// The blog's page listing everything for `term`.
    pub fn tag_url(&self, term: &str) -> String {
        format!(
            "{}{}{}/",
            self.blog_url(),
            self.config.tag_base_path,
            encode(term)
        )
    }

    /// Asks the blog for `term` (no cache).
    pub async fn fetch(&self, term: &str) -> Result<Vec<Hit>, SearchError> {
        let url = self.search_url(term)?;
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(SEARCH_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(SearchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(SearchError::TooLarge);
        }
        let body = response.bytes().await.map_err(transport)?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err(SearchError::TooLarge);
        }
        parse_hits(&body)
    }
}

/// Parses the blog's answer strictly: a JSON array of `{title, url}` strings.
pub fn parse_hits(body: &[u8]) -> Result<Vec<Hit>, SearchError> {
    serde_json::from_slice::<Vec<Hit>>(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => SearchError::BadShape(e.to_string()),
        _ => SearchError::NotJson(e.to_string()),
    })
}

/// Percent-encodes `term` for a query value or a path segment (space as
/// `%20`, so it reads the same in both).
pub fn encode(term: &str) -> String {
    // byte_serialize writes a literal '+' as %2B, so every '+' left stands
    // for a space.
    url::form_urlencoded::byte_serialize(term.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn transport(err: reqwest::Error) -> SearchError {
    if err.is_timeout() {
        SearchError::Timeout
    } else {
        // Without the URL: it is ours and adds nothing for the reader.
        SearchError::Unreachable(err.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(base_path: &str) -> Search {
        crate::tls::install_crypto_provider();
        Search::new(
            reqwest::Client::new(),
            SearchConfig {
                base: Url::parse("http://127.0.0.1:8081").unwrap(),
                base_path: base_path.into(),
                tag_base_path: "/tag/".into(),
            },
        )
    }

    #[test]
    fn encodes_the_term_so_it_searches_what_was_typed() {
        let s = search("/wp-content/byTag.php?tag=");
        assert_eq!(
            s.search_url("c++ a&b x y").unwrap().as_str(),
            "http://127.0.0.1:8081/wp-content/byTag.php?tag=c%2B%2B%20a%26b%20x%20y"
        );
        assert_eq!(s.tag_url("a/b c"), "http://127.0.0.1:8081/tag/a%2Fb%20c/");
        assert_eq!(s.blog_url(), "http://127.0.0.1:8081");
    }

    #[test]
    fn accepts_an_array_of_titles_and_urls() {
        let hits = parse_hits(br#"[{"title":"T","url":"http://x/1","extra":1}]"#).unwrap();
        assert_eq!(
            hits,
            vec![Hit {
                title: "T".into(),
                url: "http://x/1".into()
            }]
        );
        assert_eq!(parse_hits(b"[]").unwrap(), vec![]);
    }

    #[test]
    fn tells_non_json_from_wrongly_shaped_json() {
        assert!(matches!(
            parse_hits(b"<html>"),
            Err(SearchError::NotJson(_))
        ));
        assert!(matches!(parse_hits(b""), Err(SearchError::NotJson(_))));
        assert!(matches!(
            parse_hits(br#"{"title":"T"}"#),
            Err(SearchError::BadShape(_))
        ));
        assert!(matches!(
            parse_hits(br#"[{"title":1,"url":"u"}]"#),
            Err(SearchError::BadShape(_))
        ));
        assert!(matches!(
            parse_hits(br#"[{"title":"t"}]"#),
            Err(SearchError::BadShape(_))
        ));
    }
}
