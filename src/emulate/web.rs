//! The web page: `/` and its assets, embedded in the binary (plain HTML,
//! CSS and JavaScript: nothing to build).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const INSPECTOR_JS: &str = include_str!("assets/inspector.js");
const APP_CSS: &str = include_str!("assets/app.css");
const HOST_JS: &str = include_str!("assets/host.js");
const ALL_JS: &str = include_str!("assets/all.js");
const ALL_CSS: &str = include_str!("assets/all.css");

/// The file names of HipChat's API under `/atlassian-connect/`.
pub fn hipchat_api_file(name: &str) -> Option<&'static str> {
    match name {
        "all.js" => Some("all.js"),
        "all-debug.js" => Some("all-debug.js"),
        "all.css" => Some("all.css"),
        "all-debug.css" => Some("all-debug.css"),
        _ => None,
    }
}

/// HipChat's JavaScript API for add-on pages (`all-debug.js` is the same
/// script; it was HipChat's unminified build).
pub fn hipchat_api_response(file: &str) -> axum::response::Response {
    let (kind, body) = if file.ends_with(".css") {
        ("text/css; charset=utf-8", ALL_CSS)
    } else {
        ("text/javascript; charset=utf-8", ALL_JS)
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            // Pages of any origin may load it, as hipchat.com allowed.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

/// Middleware for the emulator's own answers (not the add-on pages of
/// forwarding origins): no page of any origin may frame them, so no site
/// can overlay the emulator's buttons with its own (clickjacking).
pub async fn never_framed(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    response
}

/// Routes of the page and its assets; stateless, so it merges into any router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/_emulator/assets/app.js", get(|| script(APP_JS)))
        .route(
            "/_emulator/assets/inspector.js",
            get(|| script(INSPECTOR_JS)),
        )
        .route("/_emulator/assets/app.css", get(app_css))
        .route("/_emulator/assets/host.js", get(|| script(HOST_JS)))
        .route(
            "/atlassian-connect/{file}",
            get(
                |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    match hipchat_api_file(&file) {
                        Some(file) => hipchat_api_response(file),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            "HipChat's API is /atlassian-connect/all.js (or all-debug.js, all.css)",
                        )
                            .into_response(),
                    }
                },
            ),
        )
}

// `no-cache` so a page left open picks up a new binary's assets on reload.
async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
}

async fn script(source: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        source,
    )
}

async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_CSS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_exactly_the_assets_that_are_served() {
        assert!(INDEX_HTML.contains(r#"src="/_emulator/assets/app.js""#));
        assert!(INDEX_HTML.contains(r#"src="/_emulator/assets/inspector.js""#));
        assert!(INDEX_HTML.contains(r#"src="/_emulator/assets/host.js""#));
        assert!(INDEX_HTML.contains(r#"href="/_emulator/assets/app.css""#));
    }

    #[test]
    fn the_script_finds_every_element_it_uses_in_the_page() {
        let ids = regex::Regex::new(r#"\$\("([a-z-]+)"\)"#).expect("valid regex");
        for found in ids.captures_iter(&format!("{APP_JS}{INSPECTOR_JS}{HOST_JS}")) {
            let id = &found[1];
            assert!(
                INDEX_HTML.contains(&format!(r#"id="{id}""#)),
                "app.js uses #{id}, which index.html lacks"
            );
        }
    }
}
