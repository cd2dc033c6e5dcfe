//! `connect dev`: run the add-on, restart it on change without ever leaving
//! the developer without a server, optionally tunnel it and emulate HipChat.
//!
//! `run` resolves the command line and the project once into [`Settings`]
//! (`project` decides what runs); `session` runs the loop: the watcher
//! (`watcher`, `filter`, `writers`, `loops`), the public port (`proxy`), the
//! add-on's generations (`generation`, `supervisor`, `probe`), the tunnel
//! (`tunnel`), the emulator (`emulate`) and the output (`status`, `render`).

pub mod dotenv;
pub mod emulate;
pub mod filter;
pub mod generation;
pub mod listener;
pub mod loops;
pub mod probe;
pub mod project;
pub mod proxy;
pub mod render;
mod session;
pub mod status;
pub mod supervisor;
pub mod tunnel;
pub mod watcher;
pub mod writers;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::Signal;
use url::Url;

use crate::config::{Env, Peek};
use crate::error::usage;

/// The port when neither `--port`, `PORT` nor config.json names one.
pub const DEFAULT_PORT: u16 = 3000;

/// Arguments of `connect dev`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Runs the add-on and restarts it when a file changes: `--exec CMD` if given,
else the Procfile's `web:` command, else `npm start` for a project with a
package.json, else `connect serve`. `rs` + Enter restarts by hand.

connect dev serves the public port itself and forwards each request to the
add-on, which runs on a private port of its own (in PORT; AC_LOCAL_BASE_URL
is the public URL). A restart starts the new add-on beside the old one and
switches over only once it answers: no request fails, and if the new one
crashes or does not answer within --ready-timeout, the old one keeps
serving. When no add-on runs, the port answers 503 with the reason.

A .env file in the project is loaded into the add-on's environment (the
real environment wins); an edit of it restarts the add-on. Never watched:
.git, target, node_modules, the embedded store's files, editors' swap
files, whatever .gitignore lists, and files connect dev or the add-on
write (redirected output, logs it holds open). A file that changes right
after every restart is reported and ignored from then on.

Ctrl-C or SIGTERM stops the add-on and the tunnel, frees the port and exits
with status 0; if connect dev is killed outright, the add-on and ngrok get a
parent-death signal.

--emulate runs the HipChat emulator (as `connect emulate`) beside the
add-on, installs the add-on into its room 1 from the local descriptor URL,
installs it again when the descriptor it serves changes, and prints the
chat URL to open in a browser.

Examples:
  connect dev --emulate
  connect dev --tunnel
  connect dev --tunnel --url myaddon.ngrok.app
  connect dev --exec 'node app.js' --ext js,json,html
  connect dev --emulate --emulate-port 0 --port 0")]
pub struct DevArgs {
    #[command(flatten)]
    pub project: crate::cli::ProjectArgs,
    /// The public port [default: PORT, else config.json's `port`, else 3000; 0: any free port].
    #[arg(long)]
    pub port: Option<u16>,
    /// The address to serve on (0.0.0.0 opens the add-on to the local network; the tunnel is the way in from outside).
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Run this shell command as the add-on (it must listen on $PORT).
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Watch this path instead of the project folder (repeatable).
    #[arg(long, value_name = "PATH")]
    pub watch: Vec<PathBuf>,
    /// Ignore changes to paths matching this glob, relative to the project (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub ignore: Vec<String>,
    /// Only restart for files with these extensions, e.g. `json,html` (repeatable).
    #[arg(long, value_name = "EXTS")]
    pub ext: Vec<String>,
    /// Milliseconds without changes that end a burst of them (then the add-on restarts).
    #[arg(long, value_name = "MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub delay: u64,
    /// Seconds a new start may take to answer on its port before it counts as failed.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ready_timeout: u64,
    /// Milliseconds a process may take to stop after SIGTERM before it gets SIGKILL.
    #[arg(long, value_name = "MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub kill_timeout: u64,
    /// Expose the add-on on a public https URL through ngrok.
    #[arg(long)]
    pub tunnel: bool,
    /// The ngrok executable [default: ngrok on PATH].
    #[arg(long, value_name = "PATH", env = "CONNECT_NGROK")]
    pub ngrok: Option<PathBuf>,
    /// A reserved ngrok URL to use (`ngrok http --url`), e.g. myaddon.ngrok.app.
    #[arg(
        long,
        value_name = "URL",
        requires = "tunnel",
        conflicts_with = "domain"
    )]
    pub url: Option<String>,
    /// Like --url, for ngrok agents older than 3.16 (`ngrok http --domain`).
    #[arg(long, value_name = "DOMAIN", requires = "tunnel")]
    pub domain: Option<String>,
    /// Seconds to wait for ngrok to report its public URL.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tunnel_timeout: u64,
    /// Run the HipChat emulator beside the add-on, install the add-on into its room 1 (again when its descriptor changes) and print the chat URL.
    #[arg(long)]
    pub emulate: bool,
    /// The emulator's port [default: 8080, or a free port when 8080 is taken; 0: any free port].
    #[arg(long, value_name = "PORT", requires = "emulate")]
    pub emulate_port: Option<u16>,
    /// Also answer requests for this host name (repeatable, or a comma
    /// list; `*.example.com` patterns too), on the public port, the
    /// add-on and the emulator. Always answered: IP addresses, localhost,
    /// *.localhost, the tunnel's host and AC_LOCAL_BASE_URL's; any other
    /// `Host` gets 403 (a guard against DNS rebinding).
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "CONNECT_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    #[command(flatten)]
    pub timeouts: crate::net::TimeoutArgs,
}

/// Everything the dev loop needs, resolved once.
#[derive(Debug)]
pub struct Settings {
    /// The project folder (canonical).
    pub project: PathBuf,
    /// What runs the add-on.
    pub command: project::Command,
    /// How to run it.
    pub child: supervisor::ChildSpec,
    /// A label for its output lines (`serve`, `node`, ...).
    pub child_label: String,
    /// The address of the public port.
    pub host: IpAddr,
    /// The public port (0: pick one).
    pub port: u16,
    /// What config.json says (port, base URL, store).
    pub peek: Peek,
    /// The environment at start.
    pub env: Env,
    /// Whether AC_LOCAL_BASE_URL was set by the user (then kept as is).
    pub explicit_url: bool,
    /// Folders to watch (canonical).
    pub roots: Vec<PathBuf>,
    /// The classifier.
    pub rules: filter::Rules,
    /// Debounce delay.
    pub delay: Duration,
    /// How long a start may take to answer.
    pub ready_timeout: Duration,
    /// The tunnel, if asked for.
    pub tunnel: Option<tunnel::TunnelSpec>,
    /// How long ngrok may take to report its URL.
    pub tunnel_timeout: Duration,
    /// Warnings to show at start.
    pub warnings: Vec<String>,
    /// With --emulate: the emulator's port, if given (`Some(None)`: the default).
    pub emulate: Option<Option<u16>>,
    /// Whether the add-on may forget its installs when it restarts (its
    /// store is in memory, or not known to be durable), so the emulator
    /// sends them again after each restart.
    pub forgets_installs: bool,
    /// The host names answered besides IP addresses and localhost (the
    /// tunnel's is added once known).
    pub allowed_hosts: crate::net::AllowedHosts,
    /// The names given with `--allow-host`, for the emulator.
    pub allow_host_names: Vec<String>,
    /// Time limits on slow clients.
    pub timeouts: crate::net::Timeouts,
}

/// Runs `connect dev` until SIGINT or SIGTERM.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let env = Env::from_process();
    let settings = resolve(args, env)?;
    session::run(settings)
}

fn resolve(args: DevArgs, env: Env) -> anyhow::Result<Settings> {
    let project = args.project.dir.canonicalize().map_err(|e| {
        usage(format!(
            "--dir {}: {e}; pass the folder of a project made by `connect new`",
            args.project.dir.display()
        ))
    })?;
    let home = env.get("HOME").map(PathBuf::from);
    project::check_folder(
        &project,
        home.as_deref(),
        &std::env::temp_dir(),
        !args.watch.is_empty(),
    )
    .map_err(usage)?;
    let mut warnings = Vec::new();
    let peek = Peek::load(&project, args.project.stage.as_deref(), &env);
    let port = args.port.or(peek.port).unwrap_or(DEFAULT_PORT);
    let store = peek.store_file.as_deref().and_then(canonical_file);
    let roots = if args.watch.is_empty() {
        vec![project.clone()]
    } else {
        args.watch
            .iter()
            .map(|p| {
                p.canonicalize().map_err(|e| {
                    usage(format!(
                        "--watch {}: {e}; name an existing file or folder",
                        p.display()
                    ))
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let (gitignore, warning) = filter::load_gitignore(&project);
    warnings.extend(warning);
    let rules = filter::Rules::new(
        &project,
        store.as_deref(),
        &args.ignore,
        &args.ext,
        gitignore,
    )
    .map_err(usage)?;

    if args.exec.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(usage("--exec needs a command, e.g. --exec 'node app.js'"));
    }
    let (procfile, has_package_json) = project::read(&project);
    let command = project::choose(args.exec.as_deref(), procfile.as_deref(), has_package_json);
    let forgets_installs = project::forgets_installs(&command, peek.store_in_memory);
    let kill_timeout = Duration::from_millis(args.kill_timeout);
    let mut child_env = Vec::new();
    let (program, child_args, takes_socket) = match &command {
        project::Command::Shell { line, .. } => (
            PathBuf::from("/bin/sh"),
            vec!["-c".to_string(), supervisor::exec_script(line)],
            false,
        ),
        project::Command::ConnectServe => {
            let exe = std::env::current_exe()
                .context("cannot find this program's own path to run `connect serve`")?;
            let mut a = vec![
                "serve".to_string(),
                "--dir".to_string(),
                project.display().to_string(),
            ];
            if let Some(stage) = &args.project.stage {
                a.extend(["--env".to_string(), stage.clone()]);
            }
            // Lines connect dev shows in its own style, and no banner.
            child_env.push(("CONNECT_DEV".to_string(), "1".to_string()));
            (exe, a, true)
        }
    };
    if let Some(stage) = &args.project.stage {
        child_env.push(("NODE_ENV".to_string(), stage.clone()));
    }
    let names: Vec<String> = args
        .allow_hosts
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    let allowed_hosts =
        crate::net::AllowedHosts::new(&names).map_err(|e| usage(format!("--allow-host: {e}")))?;
    if !names.is_empty() {
        // `connect serve` answers the same names.
        child_env.push(("CONNECT_ALLOWED_HOSTS".to_string(), names.join(",")));
    }
    let allow_host_names = names;
    let url_host = |u: &Url| u.host_str().map(str::to_owned);
    if let Some(explicit) = env
        .get("AC_LOCAL_BASE_URL")
        .and_then(|u| Url::parse(u).ok())
    {
        allowed_hosts.add(&url_host(&explicit).unwrap_or_default());
    }
    if let Some(configured) = peek.base_url_for(port, &env) {
        allowed_hosts.add(&url_host(&configured).unwrap_or_default());
    }
    let tunnel = if args.tunnel {
        let program =
            tunnel::locate(args.ngrok.as_deref(), env.get("PATH")).map_err(anyhow::Error::msg)?;
        let reserved = match (args.url, args.domain) {
            (Some(u), _) => Some(tunnel::Reserved::Url(u)),
            (None, Some(d)) => Some(tunnel::Reserved::Domain(d)),
            (None, None) => None,
        };
        Some(tunnel::TunnelSpec {
            program,
            port,
            reserved,
            kill_timeout,
        })
    } else {
        None
    };
    Ok(Settings {
        child_label: command.label(),
        child: supervisor::ChildSpec {
            program,
            args: child_args,
            env: child_env,
            kill_timeout,
            // `connect serve` is one process: SIGKILL is certain (its store
            // survives it). The shell turns SIGHUP into SIGKILL for its
            // whole group.
            death_signal: if takes_socket {
                Signal::SIGKILL
            } else {
                Signal::SIGHUP
            },
            takes_socket,
        },
        command,
        project,
        host: args.host,
        port,
        explicit_url: env.get("AC_LOCAL_BASE_URL").is_some(),
        peek,
        env,
        roots,
        rules,
        delay: Duration::from_millis(args.delay),
        ready_timeout: Duration::from_secs(args.ready_timeout),
        tunnel,
        tunnel_timeout: Duration::from_secs(args.tunnel_timeout),
        warnings,
        emulate: args.emulate.then_some(args.emulate_port),
        forgets_installs,
        allowed_hosts,
        allow_host_names,
        timeouts: args.timeouts.timeouts(),
    })
}

/// The database path with its folder resolved like the watcher's paths
/// (symbolic links followed), even before the file exists.
fn canonical_file(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?.canonicalize().ok()?;
    Some(parent.join(path.file_name()?))
}

/// The base URL the add-on is reachable at locally (pure): the configured
/// one with its port replaced by the one actually served when it names
/// this machine, unless the user set `AC_LOCAL_BASE_URL` explicitly.
pub fn local_base_url(configured: Option<&Url>, explicit: bool, port: u16) -> String {
    let fallback = || format!("http://localhost:{port}");
    let Some(url) = configured else {
        return fallback();
    };
    let mut url = url.clone();
    let local = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0")
    );
    if !explicit && local && url.set_port(Some(port)).is_err() {
        return fallback();
    }
    url.as_str().trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_url_follows_the_served_port_on_this_machine() {
        let url = Url::parse("http://localhost:3000/addon").expect("url");
        assert_eq!(
            local_base_url(Some(&url), false, 4123),
            "http://localhost:4123/addon"
        );
        assert_eq!(local_base_url(None, false, 4123), "http://localhost:4123");
    }

    #[test]
    fn an_explicit_or_remote_base_url_is_kept() {
        let url = Url::parse("http://localhost:3000").expect("url");
        assert_eq!(
            local_base_url(Some(&url), true, 4123),
            "http://localhost:3000"
        );
        let remote = Url::parse("https://addon.example.com").expect("url");
        assert_eq!(
            local_base_url(Some(&remote), false, 4123),
            "https://addon.example.com"
        );
    }
}
