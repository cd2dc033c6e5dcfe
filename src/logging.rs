//! Logging set-up shared by the long-running verbs: human-readable lines in
//! development, one JSON object a line in production.
//!
//! The filter comes from `CONNECT_LOG` (then `RUST_LOG`), e.g.
//! `CONNECT_LOG=connect=debug`; the default is `info`.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Human,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Installs the global tracing subscriber writing to stderr. Calling it
/// twice is harmless (the second call does nothing).
pub fn init(format: LogFormat) {
    let filter = std::env::var("CONNECT_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
