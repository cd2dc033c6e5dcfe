//! The answers connect dev gives itself when no add-on can: 503 while
//! nothing serves, 502 when the add-on broke off, as a short HTML page for
//! browsers and as HipChat's JSON error envelope otherwise.

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::{Down, ProxyBody};

/// The 503 answer for a request when no add-on serves.
pub(super) fn unavailable(request: &Request<Incoming>, down: &Down) -> Response<ProxyBody> {
    unavailable_with(request.headers(), down, StatusCode::SERVICE_UNAVAILABLE)
}

/// The error answer (pure in what it says): HTML when the client accepts
/// it, HipChat's error envelope otherwise. The add-on's output is left out
/// for requests that came through another proxy (the tunnel): it is for
/// the developer at this machine, not for the internet.
pub fn unavailable_with(
    headers: &HeaderMap,
    down: &Down,
    status: StatusCode,
) -> Response<ProxyBody> {
    let remote = headers.contains_key("x-forwarded-for");
    let output: &[String] = if remote { &[] } else { &down.output };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let (content_type, body) = if wants_html {
        ("text/html; charset=utf-8", html_page(status, down, output))
    } else {
        let body = serde_json::json!({
            "error": {
                "code": status.as_u16(),
                "message": format!("{}; {}", down.what, down.hint),
                "type": status.canonical_reason().unwrap_or("Error"),
            },
            "output": output,
        });
        ("application/json", body.to_string())
    };
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // A browser reloads the page by itself until the add-on is back.
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}

fn html_page(status: StatusCode, down: &Down, output: &[String]) -> String {
    let escape = tera::escape_html;
    let lines = if output.is_empty() {
        String::new()
    } else {
        format!(
            "<p>Its last output:</p>\n<pre>{}</pre>\n",
            escape(&output.join("\n"))
        )
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">\
         <title>{code} - the add-on is not running</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:3em auto;max-width:50em;padding:0 1em}}\
         pre{{background:#f4f5f7;padding:1em;overflow:auto}}</style></head>\n<body>\n\
         <h1>The add-on is not running</h1>\n<p><b>{what}</b>. {hint}.</p>\n{lines}\
         <p><small>connect dev answers here until the add-on serves again; this page reloads by itself.</small></p>\n\
         </body></html>\n",
        code = status.as_u16(),
        what = escape(&capitalized(&down.what)),
        hint = escape(&capitalized(&down.hint)),
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn plain(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message.to_string()))));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> Down {
        Down {
            what: "connect serve exited with code 2 before it was ready".into(),
            hint: "fix it and save; connect dev tries again".into(),
            output: vec!["error: reply template `reply.html`: <bad> & worse".into()],
        }
    }

    async fn text(response: Response<ProxyBody>) -> String {
        String::from_utf8(super::super::collect(response.into_body()).await).unwrap()
    }

    #[tokio::test]
    async fn a_browser_gets_an_html_page_with_the_escaped_output() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        let response = unavailable_with(&headers, &down(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let page = text(response).await;
        assert!(
            page.contains("exited with code 2 before it was ready"),
            "{page}"
        );
        assert!(page.contains("&lt;bad&gt; &amp; worse"), "{page}");
    }

    #[tokio::test]
    async fn hipchat_gets_its_error_envelope() {
        let response =
            unavailable_with(&HeaderMap::new(), &down(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(body["error"]["code"], 503);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("tries again")
        );
        assert_eq!(
            body["output"][0],
            "error: reply template `reply.html`: <bad> & worse"
        );
    }

    #[tokio::test]
    async fn a_request_through_the_tunnel_does_not_see_the_output() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let body = text(unavailable_with(
            &headers,
            &down(),
            StatusCode::SERVICE_UNAVAILABLE,
        ))
        .await;
        assert!(!body.contains("reply.html"), "{body}");
    }
}
