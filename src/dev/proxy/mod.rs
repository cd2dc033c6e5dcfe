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
//!
//! Every request's `Host` must be a name the developer can have meant (see
//! [`crate::net::hosts`]): a web page cannot reach the add-on through a
//! rebound name. Slow clients are cut as by every server of ours
//! ([`crate::net::server`]); a body still arriving after the body timeout
//! is cut off and answered 408.

mod answers;

pub use answers::unavailable_with;
use answers::{plain, unavailable};

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
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;

use crate::net::{Guard, Timeouts};

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
    client: Client<HttpConnector, Timed>,
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
    guard: Guard,
    timeouts: Timeouts,
}

/// The proxy: cheap to clone, shared by the accept loop and the dev loop.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts serving `listener` on the current runtime, routing to
    /// nothing yet ([`Route::Starting`]). `guard` checks every request's
    /// `Host` (the add-on judges the rest).
    pub fn start(
        listener: std::net::TcpListener,
        guard: Guard,
        timeouts: Timeouts,
    ) -> anyhow::Result<Proxy> {
        listener
            .set_nonblocking(true)
            .context("cannot make the public socket non-blocking")?;
        let (route, _) = watch::channel(Route::Starting);
        let proxy = Proxy {
            shared: Arc::new(Shared {
                route,
                guard,
                timeouts,
            }),
        };
        let serving = proxy.clone();
        tokio::spawn(async move {
            let outcome = crate::net::server::serve(
                listener,
                false,
                |peer| {
                    let proxy = serving.clone();
                    hyper::service::service_fn(move |request| {
                        let proxy = proxy.clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(proxy.handle(request, peer).await)
                        }
                    })
                },
                std::future::pending(),
                Duration::ZERO,
                timeouts,
            )
            .await;
            if let Err(err) = outcome {
                tracing::warn!("the public port stopped serving: {err}");
            }
        });
        Ok(proxy)
    }

    /// Sends every new request to `route` from now on.
    pub fn set(&self, route: Route) {
        self.shared.route.send_replace(route);
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<ProxyBody> {
        if let Err(refusal) =
            self.shared
                .guard
                .check(request.method(), request.uri().path(), request.headers())
        {
            return refused(&refusal);
        }
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
        let late = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let request = request.map(|body| Timed {
            body,
            deadline: Box::pin(tokio::time::sleep(self.shared.timeouts.body)),
            late: late.clone(),
        });
        backend.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(backend.inflight.clone());
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
                        _in_flight: guard,
                    }),
                )
            }
            Err(_) if late.load(Ordering::Acquire) => {
                drop(guard);
                let mut answer = plain(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!(
                        "the request body did not arrive within {} s",
                        self.shared.timeouts.body.as_secs_f64()
                    ),
                );
                answer
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                answer
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
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The add-on's answer body, holding the in-flight guard until it ends.
pub struct Counted {
    body: Incoming,
    _in_flight: InFlight,
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

/// A request body on its way to the add-on, cut off once the body
/// timeout has passed.
struct Timed {
    body: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    late: Arc<std::sync::atomic::AtomicBool>,
}

/// The error a body cut off by its deadline ends with.
#[derive(Debug)]
struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for TooSlow {}

impl hyper::body::Body for Timed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.late.store(true, Ordering::Release);
                    Poll::Ready(Some(Err(Box::new(TooSlow))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The refusal of a request for a name connect dev does not answer.
fn refused(refusal: &crate::net::Refusal) -> Response<ProxyBody> {
    let body = serde_json::to_string(&crate::hipchat::notification::ErrorEnvelope::new(
        refusal.status(),
        refusal.message(),
    ))
    .unwrap_or_default();
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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
