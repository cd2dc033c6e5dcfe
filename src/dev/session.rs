//! The dev loop: one single-threaded runtime on the main thread (so every
//! child is forked by a thread that lives as long as the process; see
//! `supervisor`), fed by the watcher, `rs` on stdin, signals, the child's
//! exit and the tunnel.

use std::collections::VecDeque;
use std::io::BufRead;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify_debouncer_full::DebouncedEvent;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use super::status::Status;
use super::supervisor::{Supervisor, describe_exit};
use super::tunnel::{Tunnel, TunnelEvent, errors};
use super::{Settings, filter, listener, local_base_url, watcher};

/// Something from outside the loop's own tasks.
enum Input {
    /// A debounced batch of file-system events.
    Changes(Vec<DebouncedEvent>),
    /// The watcher failed.
    WatchErrors(Vec<notify::Error>),
    /// `rs` + Enter.
    Restart,
}

/// The first and the longest pause between ngrok restarts.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));
/// The longest a restart waits for a never-ending stream of changes.
const MAX_HOLD: Duration = Duration::from_secs(1);
/// How many recent ngrok lines are kept to explain a failure.
const KEPT_LINES: usize = 5;

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
    socket: Option<TcpListener>,
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
}

impl Session {
    fn new(s: Settings) -> anyhow::Result<Self> {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        let (socket, port) = if s.lend_socket {
            let socket = listener::bind(s.port)?;
            let port = socket
                .local_addr()
                .context("cannot read the listening address")?
                .port();
            (Some(socket), port)
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
            s,
        })
    }

    async fn run(mut self) -> anyhow::Result<()> {
        let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        for w in &self.s.warnings {
            self.status.warn(w);
        }
        let (tx, mut inputs) = mpsc::unbounded_channel();
        let watch_tx = tx.clone();
        let _watcher = watcher::start(&self.s.roots, self.s.delay, move |batch| {
            let _ = watch_tx.send(match batch {
                Ok(events) => Input::Changes(events),
                Err(errors) => Input::WatchErrors(errors),
            });
        })?;
        spawn_stdin_reader(tx);

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
                    Input::Changes(events) => self.on_changes(&events).await,
                    Input::WatchErrors(errors) => {
                        for e in errors {
                            self.status.warn(&format!("watcher: {e}"));
                        }
                    }
                    Input::Restart => self.restart("rs").await,
                },
                event = next_tunnel_event(&mut self.tunnel) => {
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
        let stopped = self.supervisor.stop().await;
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
        match self
            .supervisor
            .start(self.port, &base, self.socket.as_ref())
        {
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
    }

    async fn restart(&mut self, reason: &str) {
        if matches!(self.phase, Phase::Waiting { first: true, .. }) {
            // The add-on starts once the tunnel has a URL.
            return;
        }
        let t0 = Instant::now();
        self.status
            .info(&format!("{reason}: restarting {}", self.s.child_label));
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

    async fn on_changes(&mut self, events: &[DebouncedEvent]) {
        let verdict = watcher::classify(
            &self.s.rules,
            events,
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
            let now = Instant::now();
            self.last_change = now;
            if self.pending.is_none() {
                let shown = path
                    .strip_prefix(&self.s.project)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                self.pending = Some((shown, now));
            }
        }
    }

    /// When a pending restart happens: once no relevant batch has arrived
    /// for two debouncer ticks (a burst still going on delivers one every
    /// tick), but no later than `MAX_HOLD` after the first change.
    fn settle_at(&self) -> Option<Instant> {
        let (_, first) = self.pending.as_ref()?;
        let quiet = watcher::tick_for(self.s.delay) * 2;
        Some((self.last_change + quiet).min(*first + MAX_HOLD))
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
        lines.push(String::new());
        self.status.block(&lines);
    }

    fn start_tunnel(&mut self, first: bool) -> anyhow::Result<()> {
        let Some(tunnel) = self.tunnel.as_mut() else {
            return Ok(());
        };
        self.last_lines.clear();
        self.last_code = None;
        self.attempts += 1;
        match tunnel.spawn() {
            Ok(_) => {
                self.phase = Phase::Waiting {
                    until: Instant::now() + self.s.tunnel_timeout,
                    first,
                };
                let message = format!("starting ngrok for port {}", self.port);
                if self.status.is_terminal() {
                    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
                    bar.enable_steady_tick(Duration::from_millis(100));
                    self.spinner = Some(bar);
                } else {
                    self.status.info(&message);
                }
                Ok(())
            }
            Err(e) if first => Err(anyhow::anyhow!(
                "cannot start ngrok: {e}; {}",
                errors::INSTALL_HELP
            )),
            Err(e) => {
                self.status.warn(&format!("cannot start ngrok: {e}"));
                self.back_off();
                Ok(())
            }
        }
    }

    fn finish_spinner(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }

    fn back_off(&mut self) {
        let exp = self.attempts.saturating_sub(1).min(5);
        let pause = (BACKOFF.0 * 2u32.pow(exp)).min(BACKOFF.1);
        self.status.warn(&format!(
            "still serving locally at {}; starting ngrok again in {} s",
            self.local_url,
            pause.as_secs()
        ));
        self.phase = Phase::Backoff {
            until: Instant::now() + pause,
        };
    }

    async fn on_tunnel(&mut self, event: TunnelEvent) -> anyhow::Result<()> {
        let first = matches!(self.phase, Phase::Waiting { first: true, .. });
        match event {
            TunnelEvent::Line(info, raw) => {
                if self.last_lines.len() == KEPT_LINES {
                    self.last_lines.pop_front();
                }
                self.last_lines.push_back(raw);
                if let (Some(addr), Some(t)) = (&info.web_addr, &self.tunnel) {
                    t.set_web_addr(addr);
                }
                if let Some(url) = info.url {
                    self.on_url(url).await;
                }
                if let Some(code) = info.code.filter(|c| self.last_code != Some(*c)) {
                    self.last_code = Some(code);
                    if first && errors::is_fatal(code) {
                        self.finish_spinner();
                        return Err(anyhow::anyhow!(errors::explain(code)));
                    }
                    self.status
                        .warn(&format!("ngrok: {}", errors::explain(code)));
                }
            }
            TunnelEvent::ApiUrl(url) => self.on_url(url).await,
            TunnelEvent::Exited(how) => {
                self.finish_spinner();
                if first {
                    return Err(anyhow::anyhow!(
                        self.failure(&format!("ngrok {how} before reporting a public URL"))
                    ));
                }
                self.status
                    .warn(&format!("ngrok {how}; the public URL is gone"));
                if matches!(self.phase, Phase::Up { since, .. } if since.elapsed() > Duration::from_secs(60))
                {
                    self.attempts = 1;
                }
                if let Some(t) = self.tunnel.as_mut() {
                    t.stop().await;
                }
                self.back_off();
            }
        }
        Ok(())
    }

    async fn on_url(&mut self, url: String) {
        let url = url.trim_end_matches('/').to_string();
        let first = match &self.phase {
            Phase::Waiting { first, .. } => *first,
            Phase::Up { url: current, .. } if *current == url => return,
            Phase::Up { .. } => false,
            _ => return,
        };
        self.finish_spinner();
        self.phase = Phase::Up {
            url: url.clone(),
            since: Instant::now(),
        };
        let changed = self.announced.as_ref() != Some(&url);
        self.announced = Some(url.clone());
        if first {
            self.start_child(None);
        } else if changed && self.supervisor.is_running() {
            // The add-on announces its base URL (descriptor, links): it
            // must learn the new one.
            self.restart(&format!("new public URL {url}")).await;
        } else {
            self.status.good(&format!("tunnel back at {url}"));
        }
        self.ready(Some(&url));
    }

    async fn on_deadline(&mut self) -> anyhow::Result<()> {
        match self.phase {
            Phase::Waiting { first, .. } => {
                self.finish_spinner();
                let message = self.failure(&format!(
                    "ngrok reported no public URL within {} s (offline? ngrok retries forever)",
                    self.s.tunnel_timeout.as_secs()
                ));
                if let Some(t) = self.tunnel.as_mut() {
                    t.stop().await;
                }
                if first {
                    return Err(anyhow::anyhow!(
                        "{message}; check the network, or raise --tunnel-timeout"
                    ));
                }
                self.status.warn(&message);
                self.back_off();
            }
            Phase::Backoff { .. } => self.start_tunnel(false)?,
            _ => {}
        }
        Ok(())
    }

    /// A failure message with the explanation of the last error code, or
    /// ngrok's last lines.
    fn failure(&self, what: &str) -> String {
        match self.last_code {
            Some(code) => format!("{what}: {}", errors::explain(code)),
            None if self.last_lines.is_empty() => what.to_string(),
            None => format!(
                "{what}; its last output:\n  {}",
                self.last_lines
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
        }
    }
}

async fn next_tunnel_event(tunnel: &mut Option<Tunnel>) -> TunnelEvent {
    match tunnel {
        Some(t) => t.next().await,
        None => std::future::pending().await,
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
