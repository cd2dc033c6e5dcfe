//! Small pure pieces of the search: the term in a URL, a tag's slug, and
//! titles that come as HTML turned into plain text (escaped again, once,
//! when the reply is rendered).

use crate::config::TAG;

/// Percent-encodes `term` for a query value or a path segment (space as
/// `%20`, so it reads the same in both).
pub fn encode(term: &str) -> String {
    // byte_serialize writes a literal '+' as %2B, so every '+' left stands
    // for a space.
    url::form_urlencoded::byte_serialize(term.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `template` with `{tag}` replaced by the encoded `term`.
pub fn fill(template: &str, term: &str) -> String {
    template.replace(TAG, &encode(term))
}

/// A tag's slug as WordPress and static blogs make them: lower case,
/// runs of spaces and underscores as one `-` (`Spring Boot` -> `spring-boot`).
pub fn slug(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    let mut dash = false;
    for c in term.trim().chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || c == '_' || c == '-' {
            dash = !out.is_empty();
        } else {
            if dash {
                out.push('-');
                dash = false;
            }
            out.push(c);
        }
    }
    out
}

/// An HTML title (`title.rendered`, an Atom `type="html"` title) as plain
/// text: markup dropped, entities decoded once, whitespace collapsed.
pub fn plain_from_html(html: &str) -> String {
    if !html.contains('<') {
        // No markup (the usual title): decoding the entities is all.
        return collapse(&html_escape::decode_html_entities(html));
    }
    // With no tags allowed, ammonia keeps only the text (entity-escaped).
    let text = ammonia::Builder::empty().clean(html).to_string();
    collapse(&html_escape::decode_html_entities(&text))
}

/// Plain text with runs of whitespace as one space, trimmed.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_term_is_encoded_so_it_searches_what_was_typed() {
        assert_eq!(encode("c++ a&b x/y"), "c%2B%2B%20a%26b%20x%2Fy");
        assert_eq!(
            fill("https://b/tag/{tag}/feed/", "a b"),
            "https://b/tag/a%20b/feed/"
        );
    }

    #[test]
    fn slugs_are_lower_case_with_dashes() {
        assert_eq!(slug("  Spring   Boot "), "spring-boot");
        assert_eq!(slug("rust"), "rust");
        assert_eq!(slug("C++"), "c++");
        assert_eq!(slug("snake_case-tag"), "snake-case-tag");
    }

    #[test]
    fn html_titles_become_plain_text_decoded_once() {
        assert_eq!(
            plain_from_html("It&#8217;s <em>fast</em> &amp; safe"),
            "It\u{2019}s fast & safe"
        );
        assert_eq!(
            plain_from_html("Async I/O with &lt;tokio&gt;"),
            "Async I/O with <tokio>"
        );
        // An entity written as text stays text.
        assert_eq!(plain_from_html("The &amp;lt; entity"), "The &lt; entity");
        assert_eq!(plain_from_html("<script>alert(1)</script>Hello"), "Hello");
        assert_eq!(plain_from_html("a\n   b"), "a b");
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        assert_eq!(line_column(b"ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_column(b"x", 0), (1, 1));
        assert_eq!(line_column(b"x", 99), (1, 2));
    }
}
