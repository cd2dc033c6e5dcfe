//! RSS 2.0 and Atom feeds (parsed by feed-rs): one feed per tag, from a URL
//! template (WordPress `/tag/{tag}/feed/`, Hugo `/tags/{tag}/index.xml`,
//! Ghost, Jekyll), or a feed file whose entries carry categories.
//!
//! Titles may be HTML (`type="html"`, entities, CDATA); each becomes plain
//! text. An entry without a link is shown by its id when that is a URL,
//! else skipped.

use feed_rs::model::{Entry, Feed};

use super::text::{collapse, line_column, plain_from_html};
use super::{Hit, SearchError};

/// A feed's articles and the page it belongs to (a tag feed's tag page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Articles {
    /// The entries, in the feed's order.
    pub hits: Vec<Hit>,
    /// Each entry's categories (lower case), in the same order.
    pub tags: Vec<Vec<String>>,
    /// The feed's own web page (`<channel><link>`, Atom `rel="alternate"`).
    pub link: Option<String>,
}

/// Parses a feed fetched from (or read at) `source`; `content_type` helps
/// explain an answer that is not a feed at all (an HTML page).
pub fn parse(source: &str, body: &[u8], content_type: &str) -> Result<Articles, SearchError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(source))
        .build();
    let feed = parser.parse(body).map_err(|e| {
        let detail = match xml_error_position(body) {
            Some((line, column)) => format!("{e} at line {line} column {column}"),
            None => e.to_string(),
        };
        let detail = if content_type.contains("html") || body.trim_ascii_start().starts_with(b"<!")
        {
            format!("an HTML page, not an RSS or Atom feed ({detail})")
        } else {
            detail
        };
        SearchError::Parse {
            url: source.to_string(),
            detail,
        }
    })?;
    Ok(articles(&feed))
}

fn articles(feed: &Feed) -> Articles {
    let mut hits = Vec::new();
    let mut tags = Vec::new();
    for entry in &feed.entries {
        if let Some(hit) = hit(entry) {
            hits.push(hit);
            tags.push(
                entry
                    .categories
                    .iter()
                    .map(|c| c.term.trim().to_lowercase())
                    .collect(),
            );
        }
    }
    let link = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.clone())
        .filter(|h| h.starts_with("http"));
    Articles { hits, tags, link }
}

fn hit(entry: &Entry) -> Option<Hit> {
    let url = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .map(|l| l.href.clone())
        .or_else(|| Some(entry.id.clone()))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))?;
    let title = entry
        .title
        .as_ref()
        .map(|t| {
            if t.content_type.essence().to_string().contains("html") {
                plain_from_html(&t.content)
            } else {
                collapse(&t.content)
            }
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| url.clone());
    Some(Hit { title, url })
}

/// Where an XML document stops being well formed, as line and column.
fn xml_error_position(body: &[u8]) -> Option<(usize, usize)> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => return None,
            Ok(_) => buf.clear(),
            Err(_) => {
                let offset = usize::try_from(reader.error_position()).ok()?;
                return Some(line_column(body, offset));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
  <title>rust &#8211; A Blog</title>
  <link>https://blog.example/tag/rust/</link>
  <item><title><![CDATA[Ownership & <borrowing>]]></title><link>https://blog.example/2024/ownership/</link><category>Rust</category></item>
  <item><title>It&#8217;s async &amp;amp; fast</title><link>https://blog.example/2024/async/</link></item>
  <item><title>No link, a permalink guid</title><guid isPermaLink="true">https://blog.example/?p=12</guid></item>
  <item><title>No link at all</title></item>
</channel></rss>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Tag rust</title>
  <link rel="self" href="https://blog.example/tags/rust/index.xml"/>
  <link rel="alternate" href="https://blog.example/tags/rust/"/>
  <id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
  <entry><title type="html">Rust &lt;em&gt;macros&lt;/em&gt; &amp;amp; you</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>
    <link rel="alternate" href="https://blog.example/2024/macros/"/><category term="rust"/><category term="Macros"/></entry>
  <entry><title type="text">Plain &lt;text&gt;</title><id>https://blog.example/2024/plain/</id><updated>2024-01-01T00:00:00Z</updated></entry>
</feed>"#;

    #[test]
    fn reads_rss_with_cdata_entities_and_missing_links() {
        let a = parse(
            "https://blog.example/tag/rust/feed/",
            RSS.as_bytes(),
            "application/rss+xml",
        )
        .unwrap();
        let titles: Vec<&str> = a.hits.iter().map(|h| h.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Ownership & <borrowing>",
                "It\u{2019}s async &amp; fast",
                "No link, a permalink guid"
            ]
        );
        assert_eq!(a.hits[2].url, "https://blog.example/?p=12");
        assert_eq!(a.link.as_deref(), Some("https://blog.example/tag/rust/"));
        assert_eq!(a.tags[0], vec!["rust"]);
    }

    #[test]
    fn reads_atom_with_html_titles_and_its_alternate_link() {
        let a = parse(
            "https://blog.example/tags/rust/index.xml",
            ATOM.as_bytes(),
            "application/atom+xml",
        )
        .unwrap();
        assert_eq!(a.hits[0].title, "Rust macros & you");
        assert_eq!(a.hits[0].url, "https://blog.example/2024/macros/");
        assert_eq!(a.hits[1].title, "Plain <text>");
        assert_eq!(a.hits[1].url, "https://blog.example/2024/plain/");
        assert_eq!(a.link.as_deref(), Some("https://blog.example/tags/rust/"));
        assert_eq!(a.tags[0], vec!["rust", "macros"]);
    }

    #[test]
    fn an_html_page_or_broken_xml_is_named_with_its_position() {
        let err = parse(
            "https://b/feed/",
            b"<!doctype html><html><body>Not found</body></html>",
            "text/html",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("an HTML page, not an RSS or Atom feed"),
            "{err}"
        );
        let broken = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\n<item><title>x</titel></item></channel></rss>";
        let err = parse("https://b/feed/", broken.as_bytes(), "application/rss+xml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3 column"), "{err}");
    }
}
