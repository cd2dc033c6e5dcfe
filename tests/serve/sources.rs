//! Every search source against a double of a real blog: WordPress, RSS,
//! Atom, byTag, a file; and every way an upstream fails, named in the log
//! while the room gets the friendly reply.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::serve::sources::{Blogs, WP_TOTAL};
use crate::support::serve::{self as kit, HipChat, installed_searching};

fn message(note: &serde_json::Value) -> String {
    note["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordpress_lists_decoded_titles_the_total_and_the_tags_own_page() {
    let blogs = Blogs::start();
    let w = installed_searching(json!({"source": "wordpress", "url": blogs.url()})).await;
    let text = message(&w.ask("/hascode rust").await);
    assert!(
        text.contains(&format!("tagged <b>rust</b>: {WP_TOTAL} results")),
        "{text}"
    );
    assert_eq!(text.matches("<li>").count(), 10, "{text}");
    // Decoded once (&amp; -> &, &#8217; -> ’), markup dropped, then escaped.
    assert!(
        text.contains(">Post 1: Rust &amp; WebAssembly \u{2013} it\u{2019}s fast</a>"),
        "{text}"
    );
    assert!(
        !text.contains("<em>") && !text.contains("no link"),
        "{text}"
    );
    let tag_page = format!("{}/tag/rust/", blogs.url());
    assert!(
        text.contains(&format!(
            r#"<a href="{tag_page}">Show all {WP_TOTAL} results</a>"#
        )),
        "{text}"
    );
    assert_eq!(
        blogs.seen(),
        vec![
            "/wp-json/wp/v2/tags?slug=rust&_fields=id,link".to_string(),
            "/wp-json/wp/v2/posts?tags=7&per_page=10&_fields=id,link,title".to_string()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordpress_remembers_a_tags_id_and_finds_tags_by_slug() {
    let blogs = Blogs::start();
    let w = installed_searching(json!({"source": "wordpress", "url": blogs.url()})).await;
    w.ask("/hascode Spring Boot").await;
    // Another spelling of the same tag: a new search, the tag id known.
    let text = message(&w.ask("/hascode spring  boot").await);
    assert!(text.contains("results"), "{text}");
    let seen = blogs.seen();
    assert_eq!(
        seen.iter()
            .filter(|s| s.contains("/tags?slug=spring-boot"))
            .count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|s| s.contains("/posts?tags=9")).count(),
        2,
        "{seen:?}"
    );
    let none = message(&w.ask("/hascode cobol").await);
    assert!(
        none.contains("No articles") && none.contains("<b>cobol</b>"),
        "{none}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rss_feed_per_tag_with_cdata_entities_and_missing_links() {
    let blogs = Blogs::start();
    let w = installed_searching(
        json!({"source": "feed", "url": format!("{}/tag/{{tag}}/feed/", blogs.url())}),
    )
    .await;
    let text = message(&w.ask("/hascode rust").await);
    assert!(
        text.contains(">Item 1: Ownership &amp; &lt;borrowing&gt;</a>"),
        "{text}"
    );
    // 12 items with links, one by its permalink guid, one left out.
    assert!(text.contains("13 results"), "{text}");
    assert!(
        text.contains(r#"<a href="https://rss.example/tag/rust/">Show all 13 results</a>"#),
        "{text}"
    );
    assert!(!text.contains("No link at all"), "{text}");
    // An unknown tag is WordPress's 404: no articles, not a failure.
    let none = w.ask("/hascode cobol").await;
    assert!(message(&none).contains("No articles"), "{none}");
    assert_eq!(none["color"], "green");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atom_feed_with_html_titles() {
    let blogs = Blogs::start();
    let w = installed_searching(
        json!({"source": "feed", "url": format!("{}/tags/{{tag}}/index.xml", blogs.url())}),
    )
    .await;
    let text = message(&w.ask("/hascode rust").await);
    assert!(
        text.contains(r#"<a href="https://atom.example/macros/">Rust macro_rules! &amp; you</a>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<a href="https://atom.example/plain/">Plain &lt;text&gt; title</a>"#),
        "{text}"
    );
    assert!(text.contains("2 results"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_by_tag_source_and_a_tag_url_template() {
    let blog = kit::Blog::start();
    let w = installed_searching(json!({
        "source": "byTag",
        "url": format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url()),
        "tagUrl": "https://blog.example/t/{tag}/"
    }))
    .await;
    blog.set_hits("c++", 12);
    let text = message(&w.ask("/hascode c++").await);
    assert!(
        text.contains(r#"<a href="https://blog.example/t/c%2B%2B/">Show all 12 results</a>"#),
        "{text}"
    );
    assert_eq!(blog.queries(), vec!["tag=c%2B%2B"]);
}

/// The friendly reply, and the log line naming the cause.
async fn fails_naming(search: serde_json::Value, needle: &str) {
    let w = installed_searching(search).await;
    let started = Instant::now();
    let note = w.ask("/hascode rust").await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        message(&note).contains("cannot be searched right now"),
        "{note}"
    );
    assert_eq!(note["color"], "red");
    let logs = w.serve.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("blog search failed"))
        .unwrap_or_else(|| panic!("no log line: {logs}"));
    assert!(line.contains(needle), "{needle:?} not in: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_over_the_size_limit_is_refused() {
    let blogs = Blogs::start();
    fails_naming(
        json!({"source": "feed", "url": format!("{}/big/{{tag}}/feed/", blogs.url())}),
        "larger than 4 MiB",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_where_a_feed_should_be_is_named_so() {
    let blogs = Blogs::start();
    fails_naming(
        json!({"source": "feed", "url": format!("{}/html/{{tag}}/", blogs.url())}),
        "an HTML page, not an RSS or Atom feed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_the_wordpress_api_is_named_so() {
    let blogs = Blogs::start();
    let search = json!({"source": "wordpress", "url": format!("{}/not-wordpress", blogs.url())});
    fails_naming(search, "no WordPress REST API there (404)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_named_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fails_naming(
        json!({"source": "feed", "url": format!("http://127.0.0.1:{port}/tag/{{tag}}/feed/")}),
        "refused the connection",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_does_not_resolve_is_named_so() {
    fails_naming(
        json!({"source": "wordpress", "url": "https://no-such-blog.invalid"}),
        "does not resolve (DNS)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_failure_is_named_so() {
    let blogs = Blogs::start();
    // https to a plain-HTTP port: the handshake fails.
    let url = blogs.url().replace("http://", "https://");
    fails_naming(
        json!({"source": "feed", "url": format!("{url}/tag/{{tag}}/feed/")}),
        "TLS",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_status_and_a_parse_error_with_its_position_are_named() {
    let blog = kit::Blog::start();
    let search = json!({"source": "byTag", "url": format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url())});
    let w = installed_searching(search).await;
    blog.set_mode(kit::BlogMode::Status(503));
    w.ask("/hascode rust").await;
    blog.set_mode(kit::BlogMode::Raw(json!({"title": "not a list"})));
    w.ask("/hascode java").await;
    let logs = w.serve.logs();
    assert!(logs.contains("the blog answered HTTP 503"), "{logs}");
    assert!(
        logs.contains("not a list of {\"title\", \"url\"}") && logs.contains("line 1 column"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_named_so() {
    let blog = kit::Blog::start();
    blog.set_mode(kit::BlogMode::Slow(Duration::from_secs(20)));
    fails_naming(json!({"source": "byTag", "url": format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url())}), "no answer within 3s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unmodified_scaffold_answers_hascode_rust_offline() {
    let parent = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_connect"))
        .args(["new", "-t", "hipchat", "-y", "--no-git", "blogsearch"])
        .current_dir(parent.path())
        .env_remove("CI")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let project = parent.path().join("blogsearch");
    // Nothing changed in the project: only the port, which tests choose.
    let serve = kit::Serve::start(&project, &[], &[]);
    let hipchat = HipChat::start();
    hipchat
        .must_install_as(&serve.url(), "scaffold", "s3cret", Some(1))
        .await;
    let client = kit::client();
    let response = kit::signed::deliver(
        &client,
        &serve.webhook(),
        "scaffold",
        "s3cret",
        1,
        "/hascode rust",
    )
    .await;
    assert_eq!(response.status(), 200, "{}", serve.logs());
    let note: serde_json::Value = response.json().await.unwrap();
    let text = message(&note);
    assert!(text.contains("Ownership and borrowing in Rust"), "{text}");
    assert_eq!(text.matches("<li>").count(), 10, "{text}");
    assert!(
        text.contains(r#"<a href="https://blog.example.com/tags/rust/">Show all 12 results</a>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<a href="https://blog.example.com">the blog</a>"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_blog_with_a_self_signed_certificate_is_searched_when_it_is_given_as_ca() {
    // As `openssl req -x509` makes it: self-signed, basic constraints CA:TRUE.
    let certs = crate::support::tls::TestCerts::self_signed();
    let blog = kit::Blog::start_tls(&certs);
    assert!(blog.url().starts_with("https://"));
    let url = format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url());
    let pinned = installed_searching(json!({
        "source": "byTag",
        "url": url,
        "tls": {"ca": certs.ca().display().to_string()}
    }))
    .await;
    blog.set_hits("rust", 2);
    let text = message(&pinned.ask("/hascode rust").await);
    assert!(text.contains("2 results"), "{text}");

    // Without it, the system's roots do not know it: refused, in words.
    let other = crate::support::tls::TestCerts::self_signed();
    fails_naming(
        json!({"source": "byTag", "url": url, "tls": {"ca": other.ca().display().to_string()}}),
        "holds neither",
    )
    .await;
    fails_naming(json!({"source": "byTag", "url": url}), "self-signed").await;
}
