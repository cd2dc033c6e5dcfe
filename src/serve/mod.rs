//! `connect serve`: the blog-search add-on server.
//!
//! `run` resolves the project (config, descriptor, templates, store) once,
//! then serves HTTP until SIGTERM/SIGINT. The HTTP layer is `app`; the
//! protocol work is in `install`, `uninstall`, `webhook`, `notify`.

pub mod app;
pub mod errors;
pub mod health;
pub mod hipchat_client;
pub mod install;
pub mod listener;
pub mod metrics;
pub mod notify;
pub mod reply;
pub mod search;
pub mod shutdown;
mod startup;
pub mod store;
pub mod takeover;
pub mod tenants;
pub mod tokens;
pub mod uninstall;
pub mod webhook;

use crate::logging::LogFormat;

/// Arguments of `connect serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  connect serve\n  connect serve --dir blogsearch --port 8080\n  NODE_ENV=production PORT=8080 REDIS_URL=redis://127.0.0.1:6379 connect serve"
)]
pub struct ServeArgs {
    #[command(flatten)]
    pub project: crate::cli::ProjectArgs,
    /// The port to listen on, overriding config.json and PORT (0: any free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// The address to listen on [default: 0.0.0.0 in production, else 127.0.0.1].
    #[arg(long, value_name = "ADDR")]
    pub host: Option<std::net::IpAddr>,
    /// How log lines are written [default: json in production, human otherwise].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// After SIGTERM or SIGINT, the longest wait for requests in flight
    /// before exiting anyway (Heroku kills a process 30 s after SIGTERM).
    #[arg(long, value_name = "SECS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_timeout: u64,
    /// Also answer requests for this host name (repeatable, or a comma
    /// list; `*.example.com` patterns too). Always answered: IP addresses,
    /// localhost, *.localhost and localBaseUrl's host; any other `Host`
    /// gets 403 (a guard against DNS rebinding).
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "CONNECT_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// Record no metrics, and serve no `/metrics`.
    #[arg(long, env = "CONNECT_NO_METRICS")]
    pub no_metrics: bool,
    /// Serve `/metrics` on this address too, without a token (e.g.
    /// 127.0.0.1:9464, or a private network's address for Prometheus). On
    /// the add-on's own port `/metrics` is open in development and, in
    /// production, needs `Authorization: Bearer $CONNECT_METRICS_TOKEN`.
    #[arg(long, value_name = "ADDR", env = "CONNECT_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub timeouts: crate::net::TimeoutArgs,
}

/// Runs `connect serve` until a stop signal.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    startup::run(args)
}
