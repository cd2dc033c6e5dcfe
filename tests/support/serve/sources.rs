//! Doubles of real blogs as real HTTP servers on loopback: the WordPress
//! REST API (tags, paged posts, X-WP-Total), an RSS 2.0 and an Atom feed per
//! tag, an HTML page where a feed should be, and a feed over the size limit.
//! Every request's path and query is recorded.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::double::Double;

/// How many posts the WordPress double has per known tag.
pub const WP_TOTAL: usize = 42;

/// A running double of several blogs.
pub struct Blogs {
    seen: Arc<Mutex<Vec<String>>>,
    server: Double,
}

type Seen = Arc<Mutex<Vec<String>>>;

impl Blogs {
    /// Starts it.
    pub fn start() -> Blogs {
        let seen: Seen = Arc::default();
        let router = Router::new()
            .route("/wp-json/wp/v2/tags", get(wp_tags))
            .route("/wp-json/wp/v2/posts", get(wp_posts))
            .route("/tag/{tag}/feed/", get(rss))
            .route("/tags/{tag}/index.xml", get(atom))
            .route("/html/{tag}/", get(html))
            .route("/big/{tag}/feed/", get(big))
            .with_state(seen.clone());
        Blogs {
            seen,
            server: Double::spawn(router),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Paths (with queries) requested so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn note(seen: &Seen, path: &str, query: Option<&str>) {
    let entry = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    seen.lock().unwrap().push(entry);
}

fn param(query: &Option<String>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn wp_tags(
    State(seen): State<Seen>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    note(&seen, "/wp-json/wp/v2/tags", query.as_deref());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let tags = match param(&query, "slug").as_deref() {
        Some("rust") => json!([{"id": 7, "link": format!("http://{host}/tag/rust/")}]),
        Some("spring-boot") => {
            json!([{"id": 9, "link": format!("http://{host}/tag/spring-boot/")}])
        }
        _ => json!([]),
    };
    axum::Json(tags).into_response()
}

async fn wp_posts(State(seen): State<Seen>, RawQuery(query): RawQuery) -> Response {
    note(&seen, "/wp-json/wp/v2/posts", query.as_deref());
    let per_page: usize = param(&query, "per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10);
    let mut posts: Vec<serde_json::Value> = (1..=per_page)
        .map(|i| {
            json!({"id": i, "link": format!("https://wp.example/{i}/"),
                   "title": {"rendered": format!("Post {i}: Rust &amp; <em>WebAssembly</em> &#8211; it&#8217;s fast")}})
        })
        .collect();
    // A post without a link is left out.
    posts.push(json!({"id": 999, "title": {"rendered": "no link"}}));
    let mut response = axum::Json(posts).into_response();
    response.headers_mut().insert(
        "x-wp-total",
        HeaderValue::from_str(&WP_TOTAL.to_string()).unwrap(),
    );
    response
        .headers_mut()
        .insert("x-wp-totalpages", HeaderValue::from_static("5"));
    response
}

fn xml(body: String, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn rss(State(seen): State<Seen>, Path(tag): Path<String>) -> Response {
    note(&seen, &format!("/tag/{tag}/feed/"), None);
    if tag != "rust" {
        // WordPress answers 404 for a tag it does not have.
        return (StatusCode::NOT_FOUND, "<html>Page not found</html>").into_response();
    }
    let mut items = String::new();
    for i in 1..=12 {
        items.push_str(&format!(
            "<item><title><![CDATA[Item {i}: Ownership & <borrowing>]]></title><link>https://rss.example/{i}/</link><guid>https://rss.example/?p={i}</guid></item>\n"
        ));
    }
    items.push_str("<item><title>No link, a permalink guid</title><guid isPermaLink=\"true\">https://rss.example/?p=99</guid></item>\n");
    items.push_str("<item><title>No link at all</title></item>\n");
    xml(
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>rust &#8211; RSS blog</title>\
             <link>https://rss.example/tag/rust/</link>\n{items}</channel></rss>"
        ),
        "application/rss+xml; charset=UTF-8",
    )
}

async fn atom(State(seen): State<Seen>, Path(tag): Path<String>) -> Response {
    note(&seen, &format!("/tags/{tag}/index.xml"), None);
    xml(
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Tag {tag}</title>
<link rel="self" href="https://atom.example/tags/{tag}/index.xml"/><link rel="alternate" href="https://atom.example/tags/{tag}/"/>
<id>urn:tag</id><updated>2024-01-01T00:00:00Z</updated>
<entry><title type="html">Rust &lt;code&gt;macro_rules!&lt;/code&gt; &amp;amp; you</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated><link rel="alternate" href="https://atom.example/macros/"/></entry>
<entry><title type="text">Plain &lt;text&gt; title</title><id>https://atom.example/plain/</id><updated>2024-01-01T00:00:00Z</updated></entry>
</feed>"#
        ),
        "application/atom+xml",
    )
}

async fn html(State(seen): State<Seen>, Path(tag): Path<String>) -> Response {
    note(&seen, &format!("/html/{tag}/"), None);
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html><html><body><h1>Tag archive</h1></body></html>",
    )
        .into_response()
}

async fn big(State(seen): State<Seen>, Path(tag): Path<String>) -> Response {
    note(&seen, &format!("/big/{tag}/feed/"), None);
    let mut body =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>big</title>");
    let item = "<item><title>padding padding padding padding padding padding padding padding</title><link>https://big.example/x/</link></item>";
    while body.len() < (5 << 20) {
        body.push_str(item);
    }
    body.push_str("</channel></rss>");
    xml(body, "application/rss+xml")
}
