//! The dev loop: one single-threaded runtime on the main thread (so every
//! child is forked by a thread that lives as long as the process; see
//! `supervisor`), fed by the watcher, `rs` on stdin, signals, the child's
//! exit and the tunnel (whose handling is in `tunnel_phase`).

mod tunnel_phase;

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use super::emulate::{DevEmulator, descriptor_url};
use super::handoff::{self, SocketPair};
use super::status::Status;
use super::supervisor::{Running, Supervisor, describe_exit};
use super::tunnel::Tunnel;
use super::{Settings, filter, listener, local_base_url, watcher};

/// Something from outside the loop's own tasks.
enum Input {
    /// A debounced batch of file-system events.
    Change(notify::Event, Instant),
    /// The watcher failed.
    WatchError(notify::Error),
    /// `rs` + Enter.
    Restart,
}

/// The longest a restart waits for a never-ending stream of changes.
const MAX_HOLD: Duration = Duration::from_secs(1);

/// Where the tunnel is.
#[derive(Debug)]
enum Phase {
    /// No tunnel asked for.
    Off,
    /// ngrok runs; no URL yet.
    Waiting { until: Instant, first: bool },
    /// ngrok serves this URL.
    Up { url: String, since: Instant },
    /// ngrok ended; it starts again at `until`.
    Backoff { until: Instant },
}

/// Runs the loop until SIGINT or SIGTERM.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    // Helpers the add-on leaves behind become our children, so they can be
    // reaped even where PID 1 does not reap orphans (containers).
    nix::sys::prctl::set_child_subreaper(true).context("cannot become a child subreaper")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(Session::new(settings)?.run())
}

struct Session {
    s: Settings,
    status: Status,
    supervisor: Supervisor,
    socket: Option<SocketPair>,
    /// Stops of replaced children still in progress.
    retiring: Vec<tokio::task::JoinHandle<()>>,
    port: u16,
    local_url: String,
    tunnel: Option<Tunnel>,
    phase: Phase,
    attempts: u32,
    last_lines: VecDeque<String>,
    last_code: Option<u32>,
    spinner: Option<indicatif::ProgressBar>,
    /// A restart waiting for a burst to settle: the first file, and when.
    pending: Option<(String, Instant)>,
    last_change: Instant,
    /// The public URL the add-on was last started with.
    announced: Option<String>,
    /// The HipChat emulator (--emulate).
    emulator: Option<DevEmulator>,
}

impl Session {
    fn new(s: Settings) -> anyhow::Result<Self> {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        let (socket, port) = if s.lend_socket {
            let pair = SocketPair::bind(s.port)?;
            let port = pair.port().context("cannot read the listening address")?;
            (Some(pair), port)
        } else if s.port == 0 {
            // The command binds by itself; find it a free port.
            let probe = listener::bind(0)?;
            let port = probe
                .local_addr()
                .context("cannot read the listening address")?
                .port();
            (None, port)
        } else {
            (None, s.port)
        };
        let local_url = local_base_url(s.configured_url.as_ref(), s.explicit_url, port);
        let tunnel = s.tunnel.clone().map(|mut spec| {
            spec.port = port;
            Tunnel::new(spec)
        });
        Ok(Self {
            supervisor: Supervisor::new(s.child.clone()),
            status: Status::new(colour),
            socket,
            retiring: Vec::new(),
            port,
            local_url,
            tunnel,
            phase: Phase::Off,
            attempts: 0,
            last_lines: VecDeque::new(),
            last_code: None,
            spinner: None,
            pending: None,
            last_change: Instant::now(),
            announced: None,
            emulator: None,
            s,
        })
    }

    async fn run(mut self) -> anyhow::Result<()> {
        let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        for w in &self.s.warnings {
            self.status.warn(w);
        }
        if self.socket.as_ref().is_some_and(|p| !p.steers()) {
            self.status.warn("this kernel cannot steer connections between sockets (Linux 4.5 or later can); a request that arrives just as the add-on stops may fail");
        }
        let (tx, mut inputs) = mpsc::unbounded_channel();
        let watch_tx = tx.clone();
        let _watcher = watcher::start(&self.s.roots, move |change| {
            let _ = watch_tx.send(match change {
                Ok((event, at)) => Input::Change(event, at),
                Err(err) => Input::WatchError(err),
            });
        })?;
        spawn_stdin_reader(tx);
        if let Some(port) = self.s.emulate {
            self.emulator = Some(DevEmulator::start(port, self.status).await?);
        }

        if self.tunnel.is_some() {
            self.start_tunnel(true)?;
        } else {
            self.start_child(None);
            self.ready(None);
        }
        let outcome = loop {
            let deadline = match self.phase {
                Phase::Waiting { until, .. } | Phase::Backoff { until } => Some(until),
                _ => None,
            };
            let settle_at = self.settle_at();
            tokio::select! {
                _ = sigint.recv() => break Ok("SIGINT"),
                _ = sigterm.recv() => break Ok("SIGTERM"),
                status = self.supervisor.exited() => {
                    let how = status.map_or_else(|e| format!("could not be waited for ({e})"), |s| describe_exit(&s));
                    self.status.error(&format!("{} {how}; waiting for a change (or type rs + Enter)", self.s.child_label));
                }
                Some(input) = inputs.recv() => match input {
                    Input::Change(event, at) => self.on_change(&event, at),
                    Input::WatchError(err) => self.status.warn(&format!("watcher: {err}")),
                    Input::Restart => self.restart("rs").await,
                },
                event = tunnel_phase::next_event(&mut self.tunnel) => {
                    if let Err(err) = self.on_tunnel(event).await {
                        break Err(err);
                    }
                }
                () = sleep_until(settle_at.unwrap_or_else(Instant::now).into()), if settle_at.is_some() => {
                    if let Some((path, _)) = self.pending.take() {
                        self.restart(&format!("change detected: {path}")).await;
                    }
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {
                    if let Err(err) = self.on_deadline().await {
                        break Err(err);
                    }
                }
            }
        };
        if let Ok(signal) = outcome {
            self.status.info(&format!("{signal}: stopping"));
        }
        self.finish_spinner();
        if let Some(emulator) = self.emulator.take() {
            emulator.stop().await;
        }
        let stopped = self.supervisor.stop().await;
        for task in self.retiring.drain(..) {
            let _ = task.await;
        }
        if let Some(t) = self.tunnel.as_mut() {
            t.stop().await;
        }
        drop(self.socket.take());
        if outcome.is_ok() {
            let what = if stopped.is_some() {
                "add-on stopped, "
            } else {
                ""
            };
            self.status
                .info(&format!("{what}port {} free; bye", self.port));
        }
        outcome.map(|_| ())
    }

    /// The base URL the add-on should announce.
    fn base_url(&self) -> String {
        match &self.phase {
            Phase::Up { url, .. } => format!("{url}{}", self.s.base_path),
            _ => self.local_url.clone(),
        }
    }

    fn start_child(&mut self, took_since: Option<Instant>) {
        let base = self.base_url();
        match self.supervisor.start(
            self.port,
            &base,
            self.socket.as_ref().map(SocketPair::active),
        ) {
            Ok(pid) => match took_since {
                Some(t) => self.status.good(&format!(
                    "restarted in {} ms (pid {pid})",
                    t.elapsed().as_millis()
                )),
                None => self.status.good(&format!(
                    "started {} (pid {pid}) on {}",
                    self.s.child_label, self.local_url
                )),
            },
            Err(e) => self.status.error(&format!(
                "cannot start {}: {e}; waiting for a change (or type rs + Enter)",
                self.s.child_label
            )),
        }
        if self.supervisor.is_running()
            && let Some(emulator) = &self.emulator
        {
            emulator.started(descriptor_url(&self.local_url));
        }
    }

    async fn restart(&mut self, reason: &str) {
        if matches!(self.phase, Phase::Waiting { first: true, .. }) {
            // The add-on starts once the tunnel has a URL.
            return;
        }
        let t0 = Instant::now();
        // Whatever was pending is included in this restart.
        self.pending = None;
        self.status
            .info(&format!("{reason}: restarting {}", self.s.child_label));
        // The socket about to become active again must have no child of
        // its own left (only matters for restarts a few ms apart).
        for task in self.retiring.drain(..) {
            let _ = task.await;
        }
        if let Some(pair) = self.socket.as_mut().filter(|p| p.steers())
            && self.supervisor.is_running()
        {
            match pair.switch() {
                Ok(old) => {
                    // The successor starts at once on the other socket; the
                    // old child finishes what it accepted, then stops.
                    let fd = pair.raw(old);
                    let retired = self.supervisor.detach();
                    self.start_child(Some(t0));
                    if let Some(retired) = retired {
                        self.retiring.push(tokio::spawn(retire(
                            retired,
                            fd,
                            self.supervisor.kill_timeout(),
                            self.status,
                            self.s.child_label.clone(),
                        )));
                    }
                    return;
                }
                Err(e) => self.status.warn(&format!(
                    "cannot hand the socket over ({e}); stopping the add-on before starting it again"
                )),
            }
        }
        if let Some(stopped) = self.supervisor.stop().await
            && stopped.escalated
        {
            self.status.warn(&format!(
                "{} did not stop within {} ms of SIGTERM; killed it",
                self.s.child_label,
                self.s.child.kill_timeout.as_millis()
            ));
        }
        self.start_child(Some(t0));
    }

    fn on_change(&mut self, event: &notify::Event, at: Instant) {
        let verdict = watcher::classify(
            &self.s.rules,
            event,
            at,
            self.supervisor.started_at,
            Path::is_dir,
        );
        if verdict.gitignore_changed {
            let (gitignore, warning) = filter::load_gitignore(&self.s.project);
            self.s.rules.set_gitignore(gitignore);
            if let Some(w) = warning {
                self.status.warn(&w);
            }
        }
        if let Some(path) = verdict.trigger {
            self.last_change = at;
            if self.pending.is_none() {
                let shown = path
                    .strip_prefix(&self.s.project)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                self.pending = Some((shown, at));
            }
        }
    }

    /// When a pending restart happens: once no relevant change has arrived
    /// for `--delay` (a burst of saves, an editor's rename, a checkout),
    /// but no later than `MAX_HOLD` after the first change.
    fn settle_at(&self) -> Option<Instant> {
        let (_, first) = self.pending.as_ref()?;
        Some((self.last_change + self.s.delay).min(*first + MAX_HOLD))
    }

    fn ready(&self, public: Option<&str>) {
        let mut lines = vec![String::new(), format!("  {} is ready", self.s.child_label)];
        lines.push(format!("    local:       {}", self.local_url));
        let descriptor_base = match public {
            Some(url) => {
                lines.push(format!("    public:      {url}{}", self.s.base_path));
                format!("{url}{}", self.s.base_path)
            }
            None => self.local_url.clone(),
        };
        lines.push(format!(
            "    descriptor:  {descriptor_base}/atlassian-connect.json"
        ));
        if let Some(t) = &self.tunnel {
            lines.push("                 (HipChat: Integrations > Install an integration from a descriptor URL)".into());
            lines.push(format!("    inspector:   http://{}", t.web_addr()));
        }
        if let Some(emulator) = &self.emulator {
            lines.push(format!("    chat:        {}", emulator.chat_url()));
        }
        lines.push(String::new());
        self.status.block(&lines);
    }
}

/// Stops a replaced child once its socket's accept queue is drained.
async fn retire(
    running: Running,
    fd: std::os::fd::RawFd,
    kill_timeout: Duration,
    status: Status,
    label: String,
) {
    handoff::drained(fd).await;
    if running.terminate(kill_timeout).await.escalated {
        status.warn(&format!(
            "the replaced {label} did not stop within {} ms of SIGTERM; killed it",
            kill_timeout.as_millis()
        ));
    }
}

/// Reads `rs` + Enter from stdin on a thread of its own (it only sends
/// messages; it never spawns anything).
fn spawn_stdin_reader(tx: mpsc::UnboundedSender<Input>) {
    let _ = std::thread::Builder::new()
        .name("dev-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { return };
                if line.trim() == "rs" && tx.send(Input::Restart).is_err() {
                    return;
                }
            }
        });
}
