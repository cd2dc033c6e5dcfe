//! The blog search double: `GET /wp-content/byTag.php?tag=TERM` answers a
//! JSON array of `{title, url}`, or fails the way the test asks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::double::Double;

/// How the blog answers.
#[derive(Clone, Debug)]
pub enum BlogMode {
    /// `hits_for(term)` articles per term (default 3).
    Normal,
    /// This status with an HTML body.
    Status(u16),
    /// No answer for this long.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    NotJson,
    /// 200 with JSON of the wrong shape.
    WrongShape,
    /// 200 with exactly this JSON.
    Raw(serde_json::Value),
}

#[derive(Debug)]
struct Inner {
    mode: BlogMode,
    counts: HashMap<String, usize>,
    queries: Vec<String>,
}

/// A running blog double.
pub struct Blog {
    inner: Arc<Mutex<Inner>>,
    server: Double,
}

impl Blog {
    /// Starts the blog double.
    pub fn start() -> Blog {
        Blog::start_with(None)
    }

    /// Starts the blog double over https with the certificate of `certs`.
    pub fn start_tls(certs: &crate::support::tls::TestCerts) -> Blog {
        Blog::start_with(Some(certs))
    }

    fn start_with(certs: Option<&crate::support::tls::TestCerts>) -> Blog {
        let inner = Arc::new(Mutex::new(Inner {
            mode: BlogMode::Normal,
            counts: HashMap::new(),
            queries: Vec::new(),
        }));
        let router = Router::new()
            .route("/wp-content/byTag.php", get(search))
            .with_state(inner.clone());
        let server = match certs {
            Some(certs) => Double::spawn_tls(router, certs),
            None => Double::spawn(router),
        };
        Blog { inner, server }
    }

    /// Its base URL (the `searchHost`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Changes how it answers.
    pub fn set_mode(&self, mode: BlogMode) {
        self.inner.lock().unwrap().mode = mode;
    }

    /// Makes `term` find `count` articles.
    pub fn set_hits(&self, term: &str, count: usize) {
        self.inner
            .lock()
            .unwrap()
            .counts
            .insert(term.to_string(), count);
    }

    /// Raw query strings received, in order.
    pub fn queries(&self) -> Vec<String> {
        self.inner.lock().unwrap().queries.clone()
    }
}

/// The articles the blog has for `term`.
pub fn articles(term: &str, count: usize) -> Vec<serde_json::Value> {
    (1..=count)
        .map(|i| json!({"title": format!("{term} article {i}"), "url": format!("https://blog.example/{i}/")}))
        .collect()
}

async fn search(State(inner): State<Arc<Mutex<Inner>>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let term = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "tag")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (mode, count) = {
        let mut inner = inner.lock().unwrap();
        inner.queries.push(query.clone());
        (
            inner.mode.clone(),
            inner.counts.get(&term).copied().unwrap_or(3),
        )
    };
    match mode {
        BlogMode::Normal => axum::Json(articles(&term, count)).into_response(),
        BlogMode::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            "<html>Internal Server Error</html>",
        )
            .into_response(),
        BlogMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            axum::Json(articles(&term, count)).into_response()
        }
        BlogMode::NotJson => {
            (StatusCode::OK, "<html><body>WordPress error</body></html>").into_response()
        }
        BlogMode::WrongShape => axum::Json(json!({"posts": [{"name": "x"}]})).into_response(),
        BlogMode::Raw(value) => axum::Json(value).into_response(),
    }
}
