//! What the room gets: results, upstream failures, escaping, the size limit.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::serve::signed::deliver;
use crate::support::serve::{BlogMode, ID, SECRET, installed};

fn message(note: &serde_json::Value) -> &str {
    note["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_ten_hits_and_links_all_results_when_there_are_more() {
    let w = installed().await;
    w.blog.set_hits("java", 25);
    let note = w.ask("/hascode java").await;
    let text = message(&note);
    assert_eq!(text.matches("<li>").count(), 10, "{text}");
    assert!(
        text.contains(&format!(
            r#"<a href="{}/tag/java/">Show all 25 results</a>"#,
            w.blog.url()
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_encodes_the_term() {
    let w = installed().await;
    w.ask("/hascode c++ a&b").await;
    assert_eq!(w.blog.queries(), vec!["tag=c%2B%2B%20a%26b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn says_search_is_unavailable_when_the_blog_fails() {
    let w = installed().await;
    for mode in [
        BlogMode::Status(500),
        BlogMode::NotJson,
        BlogMode::WrongShape,
        BlogMode::Raw(json!([{"title": 1}])),
    ] {
        w.blog.set_mode(mode.clone());
        let note = w.ask("/hascode rust").await;
        assert!(
            message(&note).contains("cannot be searched right now"),
            "{mode:?}: {note}"
        );
        assert_eq!(note["color"], "red");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_on_a_slow_blog_within_a_few_seconds() {
    let w = installed().await;
    w.blog.set_mode(BlogMode::Slow(Duration::from_secs(20)));
    let started = Instant::now();
    let note = w.ask("/hascode rust").await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(message(&note).contains("cannot be searched right now"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escapes_titles_and_urls_and_drops_non_http_links() {
    let w = installed().await;
    w.blog.set_mode(BlogMode::Raw(json!([
        {"title": "<img src=x onerror=alert(1)>", "url": "https://blog.example/?a=1&b=\"><script>"},
        {"title": "evil link", "url": "javascript:alert(1)"}
    ])));
    let note = w.ask("/hascode <b>x</b>").await;
    let text = message(&note);
    assert!(
        !text.contains("<img") && !text.contains("<script") && !text.contains("javascript:"),
        "{text}"
    );
    assert!(
        text.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{text}"
    );
    assert!(
        text.contains(r#"href="https://blog.example/?a=1&amp;b=&quot;&gt;&lt;script&gt;""#),
        "{text}"
    );
    assert!(text.contains("<b>&lt;b&gt;x&lt;/b&gt;</b>"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_message_within_ten_thousand_characters() {
    let w = installed().await;
    let long = "t".repeat(1500);
    let hits: Vec<_> = (0..10)
        .map(|i| json!({"title": format!("{i}{long}"), "url": format!("https://b.example/{i}")}))
        .collect();
    w.blog.set_mode(BlogMode::Raw(json!(hits)));
    let note = w.ask("/hascode big").await;
    let text = message(&note);
    assert!(text.chars().count() <= 10_000, "{}", text.chars().count());
    let shown = text.matches("<li>").count();
    assert!((1..10).contains(&shown), "{shown}");
    assert!(
        text.contains(&format!("{} results did not fit", 10 - shown))
            || text.contains("1 result did not fit"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_and_concurrent_searches_for_one_term_ask_the_blog_once() {
    let w = installed().await;
    w.blog.set_mode(BlogMode::Slow(Duration::from_millis(300)));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url) = (w.client.clone(), w.serve.webhook());
        tasks.push(tokio::spawn(async move {
            deliver(&client, &url, ID, SECRET, 1, "/hascode same").await
        }));
    }
    for task in tasks {
        let note: serde_json::Value = task.await.unwrap().json().await.unwrap();
        assert!(message(&note).contains("same article 1"), "{note}");
    }
    w.ask("/hascode same").await;
    assert_eq!(w.blog.queries(), vec!["tag=same"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_search_is_not_remembered() {
    let w = installed().await;
    w.blog.set_mode(BlogMode::Status(503));
    assert!(message(&w.ask("/hascode flaky").await).contains("cannot be searched"));
    w.blog.set_mode(BlogMode::Normal);
    assert!(message(&w.ask("/hascode flaky").await).contains("flaky article 1"));
    assert_eq!(w.blog.queries().len(), 2);
}
