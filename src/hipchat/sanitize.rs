//! HipChat's HTML subset for notifications: everything else is stripped
//! before a message is stored or shown.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The tags HipChat rendered in `html` notifications.
pub const ALLOWED_TAGS: &[&str] = &[
    "a", "b", "i", "strong", "em", "br", "p", "ul", "ol", "li", "code", "pre", "img", "table",
    "thead", "tbody", "tr", "th", "td",
];

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(ALLOWED_TAGS.iter().copied().collect())
            .tag_attributes(HashMap::from([
                ("a", HashSet::from(["href", "title"])),
                ("img", HashSet::from(["src", "alt", "width", "height"])),
            ]))
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .link_rel(Some("noopener noreferrer"))
            .clean_content_tags(HashSet::from(["script", "style"]));
        builder
    })
}

/// The tags a glance label keeps (PROTOCOL.md, Glances).
pub const GLANCE_TAGS: &[&str] = &["b", "strong", "em", "i"];

fn glance_cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(GLANCE_TAGS.iter().copied().collect())
            .clean_content_tags(HashSet::from(["script", "style"]));
        builder
    })
}

/// Reduces a glance label to `b`, `strong`, `em` and `i` (text kept).
pub fn sanitize_glance_label(html: &str) -> String {
    glance_cleaner().clean(html).to_string()
}

/// Reduces `html` to HipChat's tag set: unknown tags are dropped (their
/// text kept), scripts removed, links limited to http(s)/mailto.
pub fn sanitize_html(html: &str) -> String {
    cleaner().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glance_labels_keep_only_bold_and_italic() {
        let clean = sanitize_glance_label(
            r#"<b>3</b> <em>open</em> <a href="https://x">items</a><script>alert(1)</script><img src=x onerror=y>"#,
        );
        assert_eq!(clean, "<b>3</b> <em>open</em> items");
    }

    #[test]
    fn keeps_hipchats_tags_and_safe_links() {
        let html = r#"<b>3 results</b><ul><li><a href="https://blog.example/a">A</a></li></ul>"#;
        let clean = sanitize_html(html);
        assert!(clean.contains("<b>3 results</b>"), "{clean}");
        assert!(
            clean.contains(r#"href="https://blog.example/a""#),
            "{clean}"
        );
        assert!(clean.contains("<li>"), "{clean}");
    }

    #[test]
    fn strips_scripts_handlers_and_javascript_urls() {
        let clean = sanitize_html(
            r#"<script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">x</a><div style="color:red">t</div>"#,
        );
        assert!(
            !clean.contains("script") && !clean.contains("alert"),
            "{clean}"
        );
        assert!(
            !clean.contains("onclick") && !clean.contains("javascript"),
            "{clean}"
        );
        assert!(!clean.contains("<div") && clean.contains('t'), "{clean}");
    }
}
