//! The public port: `connect dev` listens on it itself and forwards each
//! request to the add-on generation that is serving (on a private port of
//! its own). A restart starts the next generation beside the current one
//! and switches the route only once it answers; the old one finishes what
//! it was sent, then stops. So no request is refused or cut during a
//! restart, whatever the add-on is written in and however long it takes to
//! start.
//!
//! When no generation serves (the first start failed, or the add-on
//! crashed) the port still answers at once: 503 with what went wrong and
//! the add-on's last output lines, as a short HTML page for browsers and as
//! HipChat's JSON error envelope otherwise. During the very first start a
//! request waits (bounded) for the add-on instead.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::watch;

/// How long a request made during the very first start may wait for it.
pub const FIRST_START_WAIT: Duration = Duration::from_secs(30);

/// A generation of the add-on the proxy can send requests to.
///
/// Each has a connection pool of its own: once the last clone is dropped
/// (the route moved on, its requests are done), its idle connections
/// close, so a retired add-on is not kept waiting by them while it stops.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Its private address.
    pub addr: SocketAddr,
    /// Requests sent to it whose answers are not complete yet.
    pub inflight: Arc<AtomicUsize>,
    client: Client<HttpConnector, Incoming>,
}

impl Backend {
    /// A backend on 127.0.0.1:`port`.
    pub fn local(port: u16) -> Self {
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .retry_canceled_requests(true)
            .set_host(false);
        Backend {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            inflight: Arc::default(),
            client: builder.build_http(),
        }
    }

    /// How many requests it is still answering.
    pub fn busy(&self) -> usize {
        self.inflight.load(Ordering::Acquire)
    }
}

/// Why no add-on serves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Down {
    /// What happened, one sentence (`connect serve exited with code 2 before it was ready`).
    pub what: String,
    /// What to do.
    pub hint: String,
    /// The add-on's last output lines.
    pub output: Vec<String>,
}

/// Where requests go.
#[derive(Clone, Debug)]
pub enum Route {
    /// The first start is in progress: requests wait for its outcome.
    Starting,
    /// This generation serves.
    To(Backend),
    /// Nothing serves: 503 at once.
    Down(Down),
}

type ProxyBody = Either<Counted, Full<Bytes>>;

struct Shared {
    route: watch::Sender<Route>,
}

/// The proxy: cheap to clone, shared by the accept loop and the dev loop.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts serving `listener` on the current runtime, routing to
    /// nothing yet ([`Route::Starting`]).
    pub fn start(listener: std::net::TcpListener) -> anyhow::Result<Proxy> {
        listener
            .set_nonblocking(true)
            .context("cannot make the public socket non-blocking")?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .context("cannot hand the public socket to the runtime")?;
        let (route, _) = watch::channel(Route::Starting);
        let proxy = Proxy {
            shared: Arc::new(Shared { route }),
        };
        let accepting = proxy.clone();
        tokio::spawn(async move { accepting.accept(listener).await });
        Ok(proxy)
    }

    /// Sends every new request to `route` from now on.
    pub fn set(&self, route: Route) {
        self.shared.route.send_replace(route);
    }

    async fn accept(self, listener: tokio::net::TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::debug!("accept: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let proxy = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, std::convert::Infallible>(proxy.handle(request, peer).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(60))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<ProxyBody> {
        let mut routes = self.shared.route.subscribe();
        let route = {
            let waited = tokio::time::timeout(
                FIRST_START_WAIT,
                routes.wait_for(|r| !matches!(r, Route::Starting)),
            )
            .await;
            match waited {
                Ok(Ok(route)) => route.clone(),
                _ => Route::Down(Down {
                    what: format!(
                        "the add-on did not start within {} s",
                        FIRST_START_WAIT.as_secs()
                    ),
                    hint: "see connect dev's output".into(),
                    output: Vec::new(),
                }),
            }
        };
        match route {
            Route::To(backend) => self.forward(request, peer, backend).await,
            Route::Down(down) => unavailable(&request, &down),
            Route::Starting => unreachable_route(),
        }
    }

    async fn forward(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
        backend: Backend,
    ) -> Response<ProxyBody> {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let Ok(uri) = format!("http://{}{path}", backend.addr).parse() else {
            return plain(
                StatusCode::BAD_REQUEST,
                "a request target connect dev cannot forward",
            );
        };
        *request.uri_mut() = uri;
        // What an error page needs of the request, which the client takes.
        let mut asked = HeaderMap::new();
        for name in [header::ACCEPT, HeaderName::from_static("x-forwarded-for")] {
            if let Some(value) = request.headers().get(&name) {
                asked.insert(name, value.clone());
            }
        }
        strip_hop_by_hop(request.headers_mut());
        append_forwarded_for(request.headers_mut(), peer);
        backend.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = Guard(backend.inflight.clone());
        let outcome = backend.client.request(request).await;
        drop(backend);
        match outcome {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(
                    parts,
                    Either::Left(Counted {
                        body,
                        _guard: guard,
                    }),
                )
            }
            Err(err) => {
                drop(guard);
                // Refused: it is gone (connect dev will notice in a moment);
                // anything else: it broke off its answer.
                let (status, what) = if err.is_connect() {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the add-on is not running".to_string(),
                    )
                } else {
                    (
                        StatusCode::BAD_GATEWAY,
                        format!("the add-on did not answer ({})", cause(&err)),
                    )
                };
                let down = Down {
                    what,
                    hint: "it may have crashed: see connect dev's output".into(),
                    output: Vec::new(),
                };
                unavailable_with(&asked, &down, status)
            }
        }
    }
}

fn unreachable_route() -> Response<ProxyBody> {
    plain(StatusCode::SERVICE_UNAVAILABLE, "the add-on is not ready")
}

fn cause(err: &hyper_util::client::legacy::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Decrements a backend's in-flight count when the answer is done (its
/// body fully sent, or the client gone).
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The add-on's answer body, holding the in-flight guard until it ends.
pub struct Counted {
    body: Incoming,
    _guard: Guard,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {ip}"),
        None => ip,
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert("x-forwarded-for", value);
    }
}

/// The 503 answer for a request when no add-on serves.
fn unavailable(request: &Request<Incoming>, down: &Down) -> Response<ProxyBody> {
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

fn plain(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message.to_string()))));
    *response.status_mut() = status;
    response
}

/// Reads a whole answer body (for tests and the probe).
pub async fn collect(body: ProxyBody) -> Vec<u8> {
    body.collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default()
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
        String::from_utf8(collect(response.into_body()).await).unwrap()
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

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-private"),
        );
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("JWT x"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::AUTHORIZATION));
    }
}
