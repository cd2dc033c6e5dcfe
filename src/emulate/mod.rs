//! `connect emulate`: a local HipChat for trying and testing add-ons.
//!
//! One port serves the HipChat host double ([`crate::hipchat::host`]: the
//! capabilities document, OAuth2 tokens, the REST API add-ons call), the
//! chat page at `/`, and the control API under `/_emulator/` that the page
//! and CI scripts use. See `src/emulate/README.md` for the control API.

mod control;
mod error;
mod events;
mod faults;
mod forward;
mod health;
mod history;
mod server;
mod ui;
mod views;
mod web;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::logging::LogFormat;

pub use server::{Emulator, EmulatorOptions, Reinstalled, RunningEmulator, reinstall};

/// Arguments of `connect emulate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  connect emulate\n  connect emulate --port 0 --room Ops --room Support\n  \
     curl -s localhost:8080/_emulator/install -H 'content-type: application/json' \\\n    \
     -d '{\"descriptorUrl\": \"http://localhost:3000/atlassian-connect.json\", \"roomId\": 1}'"
)]
pub struct EmulateArgs {
    /// Port to listen on; 0 picks a free one (the URL is printed).
    #[arg(long, short, env = "CONNECT_EMULATE_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on (0.0.0.0 lets add-ons in containers or VMs reach it).
    #[arg(long, env = "CONNECT_EMULATE_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The URL add-ons use to reach the emulator, when it differs from
    /// http://HOST:PORT (e.g. behind a proxy or from a container).
    #[arg(long, env = "CONNECT_EMULATE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<url::Url>,
    /// A room to create at start (repeatable); default: one room, "Development".
    #[arg(long = "room", value_name = "NAME")]
    pub rooms: Vec<String>,
    /// REST API calls one access token may make per 5 minutes before 429
    /// (HipChat: 100, later 500).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub requests_per_token: u32,
    /// Notifications one room accepts per minute before 429 (HipChat: 30).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub messages_per_room: u32,
    /// Send capabilities documents and token answers with only the fields
    /// an add-on needs, as some HipChat Server installations did, to check
    /// that an add-on does not depend on the others.
    #[arg(long)]
    pub lean_documents: bool,
    /// Also answer requests for this host name (repeatable, or a comma
    /// list; `*.example.com` patterns too). Always answered: IP addresses,
    /// localhost, *.localhost and --public-url's host; any other `Host`
    /// gets 403 (a guard against DNS rebinding).
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "CONNECT_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// How log lines are written.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub timeouts: crate::net::TimeoutArgs,
}

/// Runs `connect emulate` until Ctrl-C or SIGTERM.
pub fn run(args: EmulateArgs) -> anyhow::Result<()> {
    crate::logging::init(args.log_format);
    crate::tls::install_crypto_provider();
    let options = EmulatorOptions::from_args(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let emulator = Emulator::bind(addr, options).await?;
        println!("HipChat emulator running.");
        println!("  Chat:         {}", emulator.chat_url());
        println!("  Capabilities: {}", emulator.capabilities_url());
        println!("  Control API:  {}_emulator/", emulator.chat_url());
        emulator.serve_until(shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
