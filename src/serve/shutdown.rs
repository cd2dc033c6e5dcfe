//! Graceful shutdown: on SIGTERM or SIGINT stop accepting, let in-flight
//! requests finish for a bounded time, then exit 0.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

/// How long in-flight requests may take to finish after a stop signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Installs the SIGTERM and SIGINT handlers now and returns a future that
/// resolves when either arrives.
pub fn handlers() -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(
            signal = name,
            "stopping: no new connections, finishing requests in flight"
        );
    })
}
