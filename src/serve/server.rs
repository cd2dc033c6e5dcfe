//! The accept loop and the shutdown that cuts nothing.
//!
//! hyper's graceful shutdown closes at once every connection that has not
//! finished sending a request head, including one accepted a moment before
//! the stop signal whose request is on its way (hyper #2730). Heroku sends
//! SIGTERM on every deploy and daily restart, so on a stop signal:
//!
//! 1. the listening socket stops completing new handshakes (a socket filter
//!    drops new SYNs, so clients retry elsewhere instead of being reset),
//!    the connections already in its accept queue are accepted, then it is
//!    closed;
//! 2. each connection that is in the middle of a request finishes it (with
//!    `Connection: close`); one that has sent nothing gets up to
//!    [`UNREAD_GRACE`] to send its request, which is then served; one that
//!    has sent part of a request gets the time to send the rest;
//! 3. the process exits once every connection is done, or at the deadline
//!    (`--shutdown-timeout`), whichever comes first.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

/// How long an open connection that has sent nothing yet may take to send
/// its request once a stop signal has arrived.
pub const UNREAD_GRACE: Duration = Duration::from_secs(2);
/// After a stop signal, how much longer than [`UNREAD_GRACE`] a connection
/// that has sent part of a request may take to send the rest.
pub const PARTIAL_GRACE: Duration = Duration::from_secs(10);
/// A request head must arrive within this (slow clients, idle probes).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How a stop went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Connections still open when the deadline passed (0: a clean stop).
    pub abandoned: u64,
}

/// What one connection has done so far, shared by its I/O, its service and
/// its task.
#[derive(Default)]
struct Activity {
    bytes_read: AtomicU64,
    bytes_when_idle: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    changed: Notify,
}

impl Activity {
    fn in_request(&self) -> bool {
        self.started.load(Ordering::Acquire) > self.finished.load(Ordering::Acquire)
    }

    // Bytes arrived since the last response that have not made a request yet.
    fn has_partial_request(&self) -> bool {
        self.bytes_read.load(Ordering::Acquire) > self.bytes_when_idle.load(Ordering::Acquire)
    }
}

/// Serves `router` on `listener` until `stop` resolves, then stops as the
/// module describes, waiting at most `deadline` for open connections.
/// `own_socket` is false for a socket another process lent us (`connect
/// dev`): it keeps accepting after we stop, so it is not filtered.
pub async fn serve(
    listener: std::net::TcpListener,
    own_socket: bool,
    router: Router,
    stop: impl Future<Output = ()>,
    deadline: Duration,
) -> io::Result<Stopped> {
    let listener = TcpListener::from_std(listener)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, recv() ends.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let open = Arc::new(AtomicU64::new(0));
    let service = TowerToHyperService::new(router);
    let spawn = |stream: TcpStream| {
        let _ = stream.set_nodelay(true);
        let (service, shutdown, alive, open) = (
            service.clone(),
            shutdown_rx.clone(),
            alive_tx.clone(),
            open.clone(),
        );
        open.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            connection(stream, service, shutdown).await;
            open.fetch_sub(1, Ordering::AcqRel);
            drop(alive);
        });
    };

    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => spawn(stream),
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
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                spawn(TcpStream::from_std(stream)?);
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

async fn connection(
    stream: TcpStream,
    service: TowerToHyperService<Router>,
    mut shutdown: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Counting {
        inner: stream,
        activity: activity.clone(),
    });
    let counted = Counted {
        inner: service,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(io, counted);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.wait_for(|stopping| *stopping) => {}
    }
    let grace_ends = Instant::now() + UNREAD_GRACE;
    loop {
        let notified = activity.changed.notified();
        if activity.in_request() {
            break;
        }
        // A request on its way gets longer than a connection with nothing.
        let until = if activity.has_partial_request() {
            grace_ends + PARTIAL_GRACE
        } else {
            grace_ends
        };
        if Instant::now() >= until {
            break;
        }
        tokio::select! {
            _ = conn.as_mut() => return,
            () = notified => {}
            () = tokio::time::sleep_until(until) => {}
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
            self.activity
                .bytes_read
                .fetch_add(read as u64, Ordering::AcqRel);
            self.activity.changed.notify_waiters();
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

/// The router as a hyper service, counting requests started and finished.
#[derive(Clone)]
struct Counted {
    inner: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Counted {
    type Response = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<Incoming>,
    >>::Response;
    type Error =
        <TowerToHyperService<Router> as hyper::service::Service<hyper::Request<Incoming>>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let activity = self.activity.clone();
        activity.started.fetch_add(1, Ordering::AcqRel);
        activity.changed.notify_waiters();
        let response = self.inner.call(request);
        Box::pin(async move {
            let outcome = response.await;
            let read = activity.bytes_read.load(Ordering::Acquire);
            activity.bytes_when_idle.store(read, Ordering::Release);
            activity.finished.fetch_add(1, Ordering::AcqRel);
            activity.changed.notify_waiters();
            outcome
        })
    }
}
