//! The accept loop every verb serves HTTP with: time limits on slow
//! clients, and a shutdown that cuts nothing.
//!
//! **Slow clients.** A connection that has sent nothing (or nothing since
//! its last answer) is closed after [`Timeouts::idle`] (the first request:
//! [`Timeouts::header`]); once it starts a request head, the head must be
//! complete within [`Timeouts::header`]. The body's own bound is
//! [`super::body`]'s. hyper's header timeout is not used: it counts the
//! idle time of a kept-alive connection against the head.
//!
//! **Shutdown.** hyper's graceful shutdown closes at once every connection
//! that has not finished sending a request head, including one accepted a
//! moment before the stop signal whose request is on its way (hyper
//! #2730). Heroku sends SIGTERM on every deploy and daily restart, so on a
//! stop signal:
//!
//! 1. the listening socket stops completing new handshakes (a socket filter
//!    drops new SYNs, so clients retry elsewhere instead of being reset),
//!    the connections already in its accept queue are accepted, then it is
//!    closed;
//! 2. each connection that is in the middle of a request finishes it (with
//!    `Connection: close`); one that has sent nothing gets up to
//!    [`UNREAD_GRACE`] to send its request, which is then served; one that
//!    has sent part of a request gets the time to send the rest;
//! 3. the process exits once every connection is done, or at the deadline,
//!    whichever comes first.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::Timeouts;

/// How long an open connection that has sent nothing yet may take to send
/// its request once a stop signal has arrived.
pub const UNREAD_GRACE: Duration = Duration::from_secs(2);
/// After a stop signal, how much longer than [`UNREAD_GRACE`] a connection
/// that has sent part of a request may take to send the rest.
pub const PARTIAL_GRACE: Duration = Duration::from_secs(10);

/// How a stop went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Connections still open when the deadline passed (0: a clean stop).
    pub abandoned: u64,
}

/// What one connection has done so far, shared by its I/O, its service and
/// its task.
struct Activity {
    bytes_read: AtomicU64,
    bytes_when_idle: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    /// When the connection last had nothing to do (opened, or an answer
    /// completed).
    idle_since: Mutex<Instant>,
    /// When the head of the request now arriving began.
    head_since: Mutex<Option<Instant>>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            bytes_read: AtomicU64::new(0),
            bytes_when_idle: AtomicU64::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            idle_since: Mutex::new(Instant::now()),
            head_since: Mutex::new(None),
            changed: Notify::new(),
        }
    }

    fn in_request(&self) -> bool {
        self.started.load(Ordering::Acquire) > self.finished.load(Ordering::Acquire)
    }

    // Bytes arrived since the last response that have not made a request yet.
    fn has_partial_request(&self) -> bool {
        self.bytes_read.load(Ordering::Acquire) > self.bytes_when_idle.load(Ordering::Acquire)
    }

    fn answered_any(&self) -> bool {
        self.finished.load(Ordering::Acquire) > 0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves on `listener` until `stop` resolves, then stops as the module
/// describes, waiting at most `deadline` for open connections. Each
/// connection is answered by `service(peer)`. `own_socket` is false for a
/// socket another process lent us (`connect dev`): it keeps accepting after
/// we stop, so it is not filtered.
pub async fn serve<F, S, B>(
    listener: std::net::TcpListener,
    own_socket: bool,
    service: F,
    stop: impl Future<Output = ()>,
    deadline: Duration,
    timeouts: Timeouts,
) -> io::Result<Stopped>
where
    F: Fn(SocketAddr) -> S,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::from_std(listener)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, recv() ends.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let open = Arc::new(AtomicU64::new(0));
    let spawn = |stream: TcpStream, peer: SocketAddr| {
        let _ = stream.set_nodelay(true);
        let (service, shutdown, alive, open) = (
            service(peer),
            shutdown_rx.clone(),
            alive_tx.clone(),
            open.clone(),
        );
        open.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            connection(stream, service, shutdown, timeouts).await;
            open.fetch_sub(1, Ordering::AcqRel);
            drop(alive);
        });
    };

    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => spawn(stream, peer),
                Err(err) => accept_error(err).await,
            },
            () = &mut stop => break,
        }
    }

    // 1. No new handshakes; take what the kernel already accepted; close.
    if own_socket && let Err(err) = refuse_new_connections(&listener) {
        tracing::debug!("cannot filter new connections while stopping: {err}");
    }
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                stream.set_nonblocking(true)?;
                spawn(TcpStream::from_std(stream)?, peer);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::debug!("accepting while stopping: {err}");
                break;
            }
        }
    }
    drop(listener);

    // 2. and 3.
    let _ = shutdown_tx.send(true);
    drop(alive_tx);
    let finished = tokio::time::timeout(deadline, alive_rx.recv())
        .await
        .is_ok();
    Ok(Stopped {
        abandoned: if finished {
            0
        } else {
            open.load(Ordering::Acquire)
        },
    })
}

// Out of file descriptors and similar: wait a little instead of spinning.
async fn accept_error(err: io::Error) {
    let transient = matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    );
    if !transient {
        tracing::warn!("cannot accept a connection: {err}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes the listening socket drop new SYNs (Linux: a one-instruction
/// socket filter that accepts nothing), so no handshake completes between
/// draining its queue and closing it. Elsewhere this does nothing.
fn refuse_new_connections(listener: &TcpListener) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // BPF_RET | BPF_K with k = 0: keep 0 bytes of every packet.
        const BPF_RET_K: u16 = 0x06;
        let socket = socket2::SockRef::from(listener);
        socket.attach_filter(&[socket2::SockFilter::new(BPF_RET_K, 0, 0, 0)])
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = listener;
        Ok(())
    }
}

async fn connection<S, B>(
    stream: TcpStream,
    service: S,
    mut shutdown: watch::Receiver<bool>,
    timeouts: Timeouts,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Counting {
        inner: stream,
        activity: activity.clone(),
    });
    let counted = Counted {
        inner: service,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = builder.serve_connection(io, counted);
    tokio::pin!(conn);
    let mut grace_ends: Option<Instant> = None;
    loop {
        let notified = activity.changed.notified();
        let until = match grace_ends {
            // Stopping: a request in progress finishes, then the
            // connection closes; one on its way gets longer than nothing.
            Some(_) if activity.in_request() => break,
            Some(grace) if activity.has_partial_request() => Some(grace + PARTIAL_GRACE),
            Some(grace) => Some(grace),
            None if activity.in_request() => None,
            None => Some(match *lock(&activity.head_since) {
                Some(head) => head + timeouts.header,
                None if activity.answered_any() => *lock(&activity.idle_since) + timeouts.idle,
                None => *lock(&activity.idle_since) + timeouts.header,
            }),
        };
        if let Some(until) = until
            && Instant::now() >= until
        {
            if grace_ends.is_some() {
                break;
            }
            // Too slow, or idle too long: close without an answer.
            return;
        }
        let sleep = async {
            match until {
                Some(until) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            () = notified => {}
            () = sleep => {}
            _ = shutdown.wait_for(|stopping| *stopping), if grace_ends.is_none() => {
                grace_ends = Some(Instant::now() + UNREAD_GRACE);
            }
        }
    }
    // In a request: it finishes, then the connection closes. Idle after the
    // grace: it closes now.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// The connection's I/O, counting bytes read.
struct Counting {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            let activity = &self.activity;
            if !activity.in_request() {
                let mut head = lock(&activity.head_since);
                if head.is_none() {
                    *head = Some(Instant::now());
                }
            }
            activity.bytes_read.fetch_add(read as u64, Ordering::AcqRel);
            activity.changed.notify_waiters();
        }
        polled
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The service, counting requests started and answers finished (an answer
/// finishes when its body has been sent, so a stream of events is a
/// request in progress for as long as it runs).
struct Counted<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Counted<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
{
    type Response = Response<Tracked<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let activity = self.activity.clone();
        activity.started.fetch_add(1, Ordering::AcqRel);
        *lock(&activity.head_since) = None;
        activity.changed.notify_waiters();
        let done = Done(Some(activity));
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Tracked { body, _done: done }))
        })
    }
}

/// Marks its request finished when dropped: hyper drops an answer's body
/// once it is sent (or the client went away); a handler that failed drops
/// it at once.
struct Done(Option<Arc<Activity>>);

impl Drop for Done {
    fn drop(&mut self) {
        if let Some(activity) = self.0.take() {
            let read = activity.bytes_read.load(Ordering::Acquire);
            activity.bytes_when_idle.store(read, Ordering::Release);
            *lock(&activity.idle_since) = Instant::now();
            activity.finished.fetch_add(1, Ordering::AcqRel);
            activity.changed.notify_waiters();
        }
    }
}

/// An answer's body, finishing its request when done.
pub struct Tracked<B> {
    body: B,
    _done: Done,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
