//! Graceful shutdown: on SIGTERM or SIGINT stop accepting, let in-flight
//! requests finish for a bounded time, then exit 0.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

/// How long in-flight requests may take to finish after a stop signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Resolves when SIGTERM or SIGINT arrives (or at once if the handlers
/// cannot be installed, which only happens when the runtime is broken).
pub async fn signalled() {
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "stopping: no new connections, finishing requests in flight"
            );
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "cannot listen for stop signals; stopping");
        }
    }
}
