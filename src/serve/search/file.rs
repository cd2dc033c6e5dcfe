//! The `file` source: a local list of articles, read once at start (a
//! change restarts `connect dev`'s add-on), searched by tag. For offline
//! development and for blogs without an API.
//!
//! Either a JSON array (comments allowed, as in config.json):
//!
//! ```json
//! [{"title": "Ownership explained", "url": "https://blog.example/ownership/", "tags": ["rust", "memory"]}]
//! ```
//!
//! or an RSS 2.0 / Atom file whose entries have categories.

use std::path::Path;

use serde::Deserialize;

use super::text::{collapse, slug};
use super::{Hit, feed};

/// The articles of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    articles: Vec<(Hit, Vec<String>)>,
}

#[derive(Deserialize)]
struct Article {
    title: String,
    url: String,
    #[serde(default)]
    tags: Vec<String>,
}

impl Catalog {
    /// Reads `path`; the error names the file, and the line and column of
    /// what is wrong.
    pub fn load(path: &Path) -> Result<Catalog, String> {
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| {
            format!("cannot read the articles file {shown}: {e}; create it (see the project's README for its format) or fix `search.path`")
        })?;
        Catalog::parse(&bytes, &path.display().to_string()).map_err(|why| format!("{shown}: {why}"))
    }

    /// Parses a file's text (JSON array, or a feed).
    pub fn parse(bytes: &[u8], source: &str) -> Result<Catalog, String> {
        let text = String::from_utf8_lossy(bytes);
        if text.trim_start().starts_with('<') {
            let articles = feed::parse(&format!("file://{source}"), bytes, "application/xml")
                .map_err(|e| e.detail())?;
            return Ok(Catalog {
                articles: articles
                    .hits
                    .into_iter()
                    .zip(articles.tags)
                    .map(|(hit, tags)| (hit, tags.iter().map(|t| slug(t)).collect()))
                    .collect(),
            });
        }
        let value = crate::config::parse_text(&text)?;
        let list: Vec<Article> = serde_json::from_value(value).map_err(|e| {
            format!("expected a list of articles like [{{\"title\": \"...\", \"url\": \"https://...\", \"tags\": [\"rust\"]}}] ({e})")
        })?;
        let mut articles = Vec::with_capacity(list.len());
        for (i, a) in list.into_iter().enumerate() {
            if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
                return Err(format!(
                    "article {} (\"{}\") has the url `{}`; give an http(s) URL",
                    i + 1,
                    a.title,
                    a.url
                ));
            }
            let title = collapse(&a.title);
            let hit = Hit {
                title: if title.is_empty() {
                    a.url.clone()
                } else {
                    title
                },
                url: a.url,
            };
            articles.push((hit, a.tags.iter().map(|t| slug(t)).collect()));
        }
        Ok(Catalog { articles })
    }

    /// The articles tagged `term` (compared as slugs), in the file's order.
    pub fn find(&self, term: &str) -> Vec<Hit> {
        let wanted = slug(term);
        self.articles
            .iter()
            .filter(|(_, tags)| tags.contains(&wanted))
            .map(|(hit, _)| hit.clone())
            .collect()
    }

    /// The home page its articles suggest (the first article's origin).
    pub fn home(&self) -> Option<String> {
        let (first, _) = self.articles.first()?;
        url::Url::parse(&first.url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }

    /// How many articles it has.
    pub fn len(&self) -> usize {
        self.articles.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_articles_by_tag_slug() {
        let json = br#"[
            // comments are fine
            {"title": "Ownership explained", "url": "https://b.example/own/", "tags": ["Rust", "memory"]},
            {"title": "Spring Boot and Rust", "url": "https://b.example/sb/", "tags": ["spring boot", "rust"]},
            {"title": "Untagged", "url": "https://b.example/u/"},
        ]"#;
        let c = Catalog::parse(json, "articles.json").unwrap();
        assert_eq!(c.find("rust").len(), 2);
        assert_eq!(c.find("Spring Boot")[0].url, "https://b.example/sb/");
        assert!(c.find("go").is_empty());
        assert_eq!(c.home().as_deref(), Some("https://b.example"));
    }

    #[test]
    fn a_broken_file_names_the_line_or_the_article() {
        let err = Catalog::parse(b"[\n {\"title\": \"x\" \"url\": 1}\n]", "a.json").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Catalog::parse(br#"[{"title": "x", "url": "ftp://x"}]"#, "a.json").unwrap_err();
        assert!(
            err.contains("article 1") && err.contains("http(s)"),
            "{err}"
        );
        let err = Catalog::parse(br#"{"articles": []}"#, "a.json").unwrap_err();
        assert!(err.contains("a list of articles"), "{err}");
    }

    #[test]
    fn a_feed_file_is_searched_by_its_categories() {
        let rss = br#"<rss version="2.0"><channel><title>t</title><link>https://b.example/</link>
          <item><title>A</title><link>https://b.example/a/</link><category>Rust</category></item>
          <item><title>B</title><link>https://b.example/b/</link><category>Go</category></item></channel></rss>"#;
        let c = Catalog::parse(rss, "feed.xml").unwrap();
        assert_eq!(
            c.find("rust")
                .iter()
                .map(|h| h.title.as_str())
                .collect::<Vec<_>>(),
            ["A"]
        );
    }
}
