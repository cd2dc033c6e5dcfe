use super::*;

fn values() -> Values {
    Values {
        name: "blogsearch".into(),
        key: "com.example.blogsearch".into(),
        description: r#"Say "hi" \ <b>ünïcode</b>"#.into(),
        vendor_name: "Acme & Co".into(),
        vendor_url: "https://acme.example".into(),
    }
}

fn rendered(path: &str) -> Vec<u8> {
    let files = find(DEFAULT).unwrap().render(&values()).unwrap();
    files
        .into_iter()
        .find(|f| f.path == Path::new(path))
        .unwrap_or_else(|| panic!("no {path}"))
        .contents
}

#[test]
fn every_embedded_template_has_a_valid_manifest_and_renders() {
    assert!(names().contains(&DEFAULT));
    for template in all().unwrap() {
        let files = template.render(&values()).unwrap();
        assert!(!files.is_empty(), "{}", template.name);
        assert!(
            files
                .iter()
                .all(|f| !f.path.to_string_lossy().ends_with(".tera"))
        );
        assert!(files.iter().all(|f| f.path != Path::new(MANIFEST)));
    }
}

#[test]
fn an_unknown_template_is_a_usage_error_listing_the_valid_ones() {
    let err = find("jira").unwrap_err();
    assert!(err.to_string().contains("hipchat"), "{err}");
    assert!(err.is::<crate::error::UsageError>());
}

#[test]
fn values_are_json_escaped_in_the_descriptor_and_the_placeholder_survives() {
    let raw = String::from_utf8(rendered("atlassian-connect.json")).unwrap();
    let descriptor: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(descriptor["description"], values().description.as_str());
    assert_eq!(descriptor["vendor"]["name"], "Acme & Co");
    assert_eq!(
        descriptor["links"]["self"],
        "{{localBaseUrl}}/atlassian-connect.json"
    );
    assert_eq!(
        descriptor["capabilities"]["installable"]["callbackUrl"],
        "{{localBaseUrl}}/installable"
    );
    let webhook = &descriptor["capabilities"]["webhook"][0];
    assert_eq!(webhook["url"], "{{localBaseUrl}}/message");
    assert_eq!(webhook["authentication"], "jwt");
    assert_eq!(webhook["pattern"], "^/hascode");
}

#[test]
fn files_that_are_not_templates_are_copied_byte_for_byte() {
    let source = TEMPLATES
        .get_file("hipchat/templates/reply.html")
        .unwrap()
        .contents();
    assert_eq!(rendered("templates/reply.html"), source);
    let source = TEMPLATES
        .get_file("hipchat/config.json")
        .unwrap()
        .contents();
    assert_eq!(rendered("config.json"), source);
}

/// Renders a room reply template the way `connect serve` does: Tera with
/// HTML autoescaping, which it applies to `.html` names.
fn render_reply(file: &str, context: serde_json::Value) -> String {
    let source = TEMPLATES
        .get_file(format!("hipchat/templates/{file}"))
        .unwrap();
    let mut tera = tera::Tera::default();
    tera.add_raw_template(file, source.contents_utf8().unwrap())
        .unwrap();
    tera.render(file, &tera::Context::from_value(context).unwrap())
        .unwrap()
}

/// Every tag in `html` is one HipChat shows.
fn uses_only_hipchat_tags(html: &str) -> bool {
    const ALLOWED: &[&str] = &[
        "a", "b", "i", "strong", "em", "br", "p", "ul", "ol", "li", "code", "pre",
    ];
    let tag = regex::Regex::new(r"</?([a-zA-Z0-9]+)").unwrap();
    tag.captures_iter(html).all(|c| ALLOWED.contains(&&c[1]))
}

#[test]
fn the_reply_lists_hits_as_links_and_offers_the_rest() {
    let html = render_reply(
        "reply.html",
        serde_json::json!({
            "term": "c++", "blog_url": "https://blog.example", "tag_url": "https://blog.example/tag/c%2B%2B/",
            "total": 12, "more": true, "omitted": 1,
            "hits": [{"title": "<script>x</script> & more", "url": "https://blog.example/a?x=1&y=2"}],
        }),
    );
    assert!(html.contains("<b>c++</b>"), "{html}");
    assert!(html.contains("12 results"), "{html}");
    assert!(
        html.contains("&lt;script&gt;x")
            && html.contains("&amp; more")
            && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains("x=1&amp;y=2"), "{html}");
    assert!(html.contains("Show all 12 results"), "{html}");
    assert!(html.contains("1 result did not fit"), "{html}");
    assert!(uses_only_hipchat_tags(&html), "{html}");
}

#[test]
fn the_reply_says_so_when_nothing_is_found_and_omits_the_extras_when_all_fit() {
    let empty = render_reply(
        "reply.html",
        serde_json::json!({"term": "zzz", "blog_url": "https://b.example", "tag_url": "https://b.example/tag/zzz/",
                           "total": 0, "hits": [], "more": false, "omitted": 0}),
    );
    assert!(
        empty.contains("No articles") && !empty.contains("<ul>"),
        "{empty}"
    );
    let one = render_reply(
        "reply.html",
        serde_json::json!({"term": "rust", "blog_url": "https://b.example", "tag_url": "https://b.example/tag/rust/",
                           "total": 1, "hits": [{"title": "Rust", "url": "https://b.example/rust"}], "more": false, "omitted": 0}),
    );
    assert!(
        one.contains("1 result<") && !one.contains("Show all") && !one.contains("did not fit"),
        "{one}"
    );
    assert!(uses_only_hipchat_tags(&one) && uses_only_hipchat_tags(&empty));
}

#[test]
fn the_usage_and_unavailable_replies_render_with_their_context() {
    let usage = render_reply(
        "usage.html",
        serde_json::json!({"command": "/hascode", "blog_url": "https://b.example"}),
    );
    assert!(
        usage.contains("hascode TAG</code>") && usage.contains("hascode rust</code>"),
        "{usage}"
    );
    let down = render_reply(
        "unavailable.html",
        serde_json::json!({"term": "<i>", "blog_url": "https://b.example"}),
    );
    assert!(down.contains("<b>&lt;i&gt;</b>"), "{down}");
    assert!(uses_only_hipchat_tags(&usage) && uses_only_hipchat_tags(&down));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever one-line text a user types, the descriptor stays valid JSON
    /// holding exactly that text.
    #[test]
    fn any_description_and_vendor_survive_in_the_descriptor(
        description in "[^\\p{Cc}]{1,80}",
        vendor in "[^\\p{Cc}]{1,40}",
    ) {
        let mut values = values();
        values.description = description.clone();
        values.vendor_name = vendor.clone();
        let files = find(DEFAULT).unwrap().render(&values).unwrap();
        let raw = &files.iter().find(|f| f.path == Path::new("atlassian-connect.json")).unwrap().contents;
        let descriptor: serde_json::Value = serde_json::from_slice(raw).unwrap();
        proptest::prop_assert_eq!(descriptor["description"].as_str(), Some(description.as_str()));
        proptest::prop_assert_eq!(descriptor["vendor"]["name"].as_str(), Some(vendor.as_str()));
    }
}
