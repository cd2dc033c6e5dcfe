//! The stop signals: SIGTERM (Heroku, systemd, `connect dev`) and SIGINT
//! (Ctrl-C). What happens next is in [`super::server`].

use tokio::signal::unix::{SignalKind, signal};

/// Installs the SIGTERM and SIGINT handlers now and returns a future that
/// resolves when either arrives (saying so, unless `quiet`).
pub fn handlers(quiet: bool) -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        if !quiet {
            tracing::info!(
                signal = name,
                "stopping: no new connections, finishing requests in flight"
            );
        }
    })
}
