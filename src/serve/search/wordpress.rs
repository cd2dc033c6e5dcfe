//! The WordPress REST API: `/wp-json/wp/v2/tags?slug=TAG` for the tag's id
//! and its page, then `/wp-json/wp/v2/posts?tags=ID&per_page=N` for the
//! posts, the hit count from `X-WP-Total`. `title.rendered` is HTML.

use serde::Deserialize;
use url::Url;

use super::text::{encode, plain_from_html};
use super::{Hit, SearchError};

/// A tag as the tags endpoint describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// Its id, for the posts query.
    pub id: u64,
    /// Its page on the blog.
    pub link: Option<String>,
}

/// `{base}/wp-json/wp/v2/tags?slug=SLUG&_fields=id,link`.
pub fn tags_url(base: &Url, slug: &str) -> String {
    format!(
        "{}/wp-json/wp/v2/tags?slug={}&_fields=id,link",
        base.as_str().trim_end_matches('/'),
        encode(slug)
    )
}

/// `{base}/wp-json/wp/v2/posts?tags=ID&per_page=N&_fields=id,link,title`.
pub fn posts_url(base: &Url, tag: u64, per_page: usize) -> String {
    format!(
        "{}/wp-json/wp/v2/posts?tags={tag}&per_page={}&_fields=id,link,title",
        base.as_str().trim_end_matches('/'),
        per_page.clamp(1, 100)
    )
}

#[derive(Deserialize)]
struct RawTag {
    id: u64,
    #[serde(default)]
    link: Option<String>,
}

#[derive(Deserialize)]
struct RawPost {
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    title: Option<RawTitle>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTitle {
    Rendered { rendered: String },
    Plain(String),
}

/// The tag of the tags endpoint's answer, `None` when the blog has no such tag.
pub fn parse_tags(url: &str, body: &[u8]) -> Result<Option<Tag>, SearchError> {
    let tags: Vec<RawTag> = super::json(
        url,
        body,
        "a list of tags ([{\"id\": 7, \"link\": \"...\"}])",
    )?;
    Ok(tags.into_iter().next().map(|t| Tag {
        id: t.id,
        link: t.link,
    }))
}

/// The posts of the posts endpoint's answer (a post without a link is
/// skipped; one without a title is shown by its link).
pub fn parse_posts(url: &str, body: &[u8]) -> Result<Vec<Hit>, SearchError> {
    let posts: Vec<RawPost> = super::json(
        url,
        body,
        "a list of posts ([{\"link\": \"...\", \"title\": {\"rendered\": \"...\"}}])",
    )?;
    Ok(posts
        .into_iter()
        .filter_map(|p| {
            let link = p.link.filter(|l| l.starts_with("http"))?;
            let title = match p.title {
                Some(RawTitle::Rendered { rendered }) => plain_from_html(&rendered),
                Some(RawTitle::Plain(text)) => plain_from_html(&text),
                None => String::new(),
            };
            Some(Hit {
                title: if title.is_empty() {
                    link.clone()
                } else {
                    title
                },
                url: link,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_two_queries() {
        let base = Url::parse("https://blog.example/news").unwrap();
        assert_eq!(
            tags_url(&base, "c++"),
            "https://blog.example/news/wp-json/wp/v2/tags?slug=c%2B%2B&_fields=id,link"
        );
        assert_eq!(
            posts_url(&base, 7, 10),
            "https://blog.example/news/wp-json/wp/v2/posts?tags=7&per_page=10&_fields=id,link,title"
        );
    }

    #[test]
    fn reads_a_tag_or_its_absence() {
        let tag = parse_tags(
            "u",
            br#"[{"id": 7, "link": "https://blog.example/tag/rust/"}]"#,
        )
        .unwrap();
        assert_eq!(
            tag,
            Some(Tag {
                id: 7,
                link: Some("https://blog.example/tag/rust/".into())
            })
        );
        assert_eq!(parse_tags("u", b"[]").unwrap(), None);
        assert!(matches!(
            parse_tags("u", b"<html>"),
            Err(SearchError::Parse { .. })
        ));
    }

    #[test]
    fn decodes_rendered_titles_and_skips_posts_without_links() {
        let body = br#"[
            {"id": 1, "link": "https://b/1", "title": {"rendered": "Rust &amp; <em>WebAssembly</em> &#8211; part&nbsp;1"}},
            {"id": 2, "title": {"rendered": "no link"}},
            {"id": 3, "link": "https://b/3"}
        ]"#;
        let hits = parse_posts("u", body).unwrap();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].title, "Rust & WebAssembly \u{2013} part 1");
        assert_eq!(hits[1].title, "https://b/3");
    }
}
