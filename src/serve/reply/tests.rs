use super::*;

const REPLY: &str = r#"<a href="{{ blog_url }}">Blog</a>: {{ total }} result{% if total != 1 %}s{% endif %} for <b>{{ term }}</b>
<ul>{% for hit in hits %}<li><a href="{{ hit.url }}">{{ hit.title }}</a></li>{% endfor %}</ul>
{% if omitted > 0 %}({{ omitted }} more left out to fit){% endif %}
{% if more %}<a href="{{ tag_url }}">Show all {{ total }} results</a>{% endif %}"#;
const USAGE: &str =
    r#"Usage: <code>{{ command }} TAG</code> searches <a href="{{ blog_url }}">the blog</a>."#;
const UNAVAILABLE: &str =
    r#"Search for <b>{{ term }}</b> is unavailable; try <a href="{{ blog_url }}">the blog</a>."#;

fn replies() -> Replies {
    Replies::from_sources(vec![
        ("reply.html", REPLY.into()),
        ("usage.html", USAGE.into()),
        ("unavailable.html", UNAVAILABLE.into()),
    ])
    .unwrap()
}

fn hit(n: usize) -> Hit {
    Hit {
        title: format!("Article {n}"),
        url: format!("https://blog.example/a/{n}"),
    }
}

fn results<'a>(term: &'a str, hits: &'a [Hit], max: usize) -> ReplyKind<'a> {
    ReplyKind::Results {
        term,
        tag_url: "https://blog.example/tag/x/",
        hits,
        total: hits.len(),
        max_displayed: max,
    }
}

fn scaffold() -> Replies {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/hipchat/templates");
    Replies::load(&dir).unwrap()
}

#[test]
fn the_total_can_be_more_than_the_hits_the_source_returned() {
    let hits: Vec<Hit> = (1..=10).map(hit).collect();
    let kind = ReplyKind::Results {
        term: "rust",
        tag_url: "https://blog.example/tag/rust/",
        hits: &hits,
        total: 42,
        max_displayed: 10,
    };
    let text = scaffold().render("https://blog.example", &kind).unwrap();
    assert!(text.contains("tagged <b>rust</b>: 42 results"), "{text}");
    assert!(
        text.contains(r#"<a href="https://blog.example/tag/rust/">Show all 42 results</a>"#),
        "{text}"
    );
}

#[test]
fn without_a_home_page_or_tag_page_the_scaffold_names_the_blog_without_links() {
    let hits: Vec<Hit> = (1..=12).map(hit).collect();
    let kind = ReplyKind::Results {
        term: "rust",
        tag_url: "",
        hits: &hits,
        total: 12,
        max_displayed: 10,
    };
    let text = scaffold().render("", &kind).unwrap();
    assert!(
        text.starts_with("<p>Articles on the blog tagged <b>rust</b>: 12 results</p>"),
        "{text}"
    );
    assert!(
        text.contains("<p>And 2 more.</p>") && !text.contains("Show all"),
        "{text}"
    );
    let none = scaffold()
        .render("", &ReplyKind::Unavailable { term: "rust" })
        .unwrap();
    assert!(
        none.contains("Sorry, the blog cannot be searched") && !none.contains("href"),
        "{none}"
    );
}

#[test]
fn lists_the_first_hits_and_links_the_tag_page_when_there_are_more() {
    let hits: Vec<Hit> = (1..=12).map(hit).collect();
    let text = replies()
        .render("https://blog.example", &results("rust", &hits, 10))
        .unwrap();
    assert!(text.contains("12 results for <b>rust</b>"), "{text}");
    assert!(text.contains(r#"<a href="https://blog.example/a/10">Article 10</a>"#));
    assert!(!text.contains("Article 11"));
    assert!(text.contains(r#"<a href="https://blog.example/tag/x/">Show all 12 results</a>"#));
    assert!(!text.contains("left out"));
}

#[test]
fn has_no_show_all_link_when_every_hit_is_listed() {
    let hits: Vec<Hit> = (1..=3).map(hit).collect();
    let text = replies()
        .render("https://blog.example", &results("rust", &hits, 10))
        .unwrap();
    assert!(!text.contains("Show all"), "{text}");
}

#[test]
fn escapes_titles_terms_and_urls() {
    let hits = vec![Hit {
        title: "<script>alert(1)</script> & \"q\"".into(),
        url: "https://blog.example/?a=1&b=\"><script>".into(),
    }];
    let text = replies()
        .render("https://blog.example", &results("<b>x</b>", &hits, 10))
        .unwrap();
    assert!(!text.contains("<script>"), "{text}");
    assert!(
        text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"),
        "{text}"
    );
    assert!(
        text.contains(r#"href="https://blog.example/?a=1&amp;b=&quot;&gt;&lt;script&gt;""#),
        "{text}"
    );
    assert!(text.contains("<b>&lt;b&gt;x&lt;/b&gt;</b>"), "{text}");
}

#[test]
fn drops_hits_whose_url_is_not_http() {
    let hits = vec![
        Hit {
            title: "evil".into(),
            url: "javascript:alert(1)".into(),
        },
        Hit {
            title: "rel".into(),
            url: "/relative".into(),
        },
        hit(1),
    ];
    let text = replies()
        .render("https://blog.example", &results("x", &hits, 10))
        .unwrap();
    assert!(
        !text.contains("evil") && !text.contains("javascript"),
        "{text}"
    );
    assert!(!text.contains(">rel<"), "{text}");
    assert!(text.contains("Article 1"));
}

#[test]
fn fits_ten_thousand_characters_by_dropping_hits_and_saying_so() {
    let long = "x".repeat(900);
    let hits: Vec<Hit> = (1..=30)
        .map(|n| Hit {
            title: format!("{n} {long}"),
            url: format!("https://b.example/{n}"),
        })
        .collect();
    let text = replies()
        .render("https://blog.example", &results("t", &hits, 30))
        .unwrap();
    assert!(
        text.chars().count() <= MAX_MESSAGE_CHARS,
        "{}",
        text.chars().count()
    );
    let shown = text.matches("<li>").count();
    assert!((5..30).contains(&shown), "{shown}");
    assert!(
        text.contains(&format!("({} more left out to fit)", 30 - shown)),
        "{text}"
    );
    assert!(text.contains("Show all 30 results"));
}

#[test]
fn shortens_an_overlong_term_to_fit() {
    let term = "y".repeat(20_000);
    let text = replies()
        .render(
            "https://blog.example",
            &ReplyKind::Unavailable { term: &term },
        )
        .unwrap();
    assert!(text.chars().count() <= MAX_MESSAGE_CHARS);
    assert!(text.contains('…'));
    let text = replies()
        .render("https://blog.example", &results(&term, &[], 10))
        .unwrap();
    assert!(text.chars().count() <= MAX_MESSAGE_CHARS);
}

#[test]
fn usage_names_the_command() {
    let text = replies()
        .render(
            "https://blog.example",
            &ReplyKind::Usage {
                command: "/hascode",
            },
        )
        .unwrap();
    assert_eq!(
        text,
        r#"Usage: <code>/hascode TAG</code> searches <a href="https://blog.example">the blog</a>."#
    );
}

#[test]
fn a_template_using_an_unknown_variable_is_refused_when_loaded() {
    let err = Replies::from_sources(vec![
        ("reply.html", "{{ nope }}".into()),
        ("usage.html", USAGE.into()),
        ("unavailable.html", UNAVAILABLE.into()),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("reply.html") && text.contains("nope"),
        "{text}"
    );
}

#[test]
fn a_template_with_a_syntax_error_is_refused_when_loaded() {
    let err = Replies::from_sources(vec![
        ("reply.html", REPLY.into()),
        ("usage.html", "{% if %}".into()),
        ("unavailable.html", UNAVAILABLE.into()),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("usage.html"), "{err}");
}

#[test]
fn web_urls_are_absolute_http_or_https() {
    assert!(is_web_url("http://a.example/x"));
    assert!(is_web_url("https://a.example"));
    assert!(!is_web_url("ftp://a.example"));
    assert!(!is_web_url("javascript:alert(1)"));
    assert!(!is_web_url("//a.example"));
    assert!(!is_web_url("data:text/html,hi"));
}
