//! The dev loop: one single-threaded runtime on the main thread (so every
//! child is forked by a thread that lives as long as the process; see
//! `supervisor`), fed by the watcher, `rs` on stdin, signals, the add-on's
//! generations and the tunnel (whose handling is in `tunnel_phase`).
//!
//! At most two generations run: the current one, which the proxy sends
//! requests to, and a candidate that is starting. A candidate that answers
//! becomes current and the old one retires once its requests are done; one
//! that exits or does not answer in time is stopped and reported, and the
//! current one keeps serving.

mod generations;
mod tunnel_phase;

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use super::emulate::DevEmulator;
use super::generation::Generation;
use super::loops::LoopGuard;
use super::proxy::Proxy;
use super::status::Status;
use super::tunnel::Tunnel;
use super::writers::{self, FileId};
use super::{Settings, filter, listener, local_base_url, watcher};
use generations::Candidate;

/// Something from outside the loop's own tasks.
enum Input {
    /// A file-system event.
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

/// Changes waiting for the burst to settle.
#[derive(Debug)]
struct Burst {
    files: BTreeSet<PathBuf>,
    first: Instant,
    last: Instant,
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
    runtime.block_on(async { Session::new(settings)?.run().await })
}

struct Session {
    s: Settings,
    status: Status,
    proxy: Proxy,
    port: u16,
    local_url: String,
    /// The generation requests go to.
    current: Option<Generation>,
    /// A generation that is starting.
    candidate: Option<Candidate>,
    /// Stops of replaced generations still in progress.
    retiring: Vec<tokio::task::JoinHandle<()>>,
    /// Whether the ready block was printed.
    announced_ready: bool,
    tunnel: Option<Tunnel>,
    phase: Phase,
    attempts: u32,
    last_lines: VecDeque<String>,
    last_code: Option<u32>,
    spinner: Option<indicatif::ProgressBar>,
    pending: Option<Burst>,
    loops: LoopGuard,
    /// When the current generation answered.
    ready_at: Option<Instant>,
    /// Where our own stdout and stderr go, if to files.
    own_outputs: HashSet<FileId>,
    /// The public URL the add-on was last started with.
    announced: Option<String>,
    /// The HipChat emulator (--emulate).
    emulator: Option<DevEmulator>,
}

impl Session {
    fn new(s: Settings) -> anyhow::Result<Self> {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        let public = listener::bind(s.host, s.port)?;
        let port = public
            .local_addr()
            .context("cannot read the listening address")?
            .port();
        let guard = crate::net::Guard::with_checks(
            crate::net::Policy {
                server: "connect dev",
                hosts: s.allowed_hosts.clone(),
                how_to_allow: "--allow-host NAME".into(),
            },
            // Beyond the Host, what the add-on takes is the add-on's call.
            |_, _, _| crate::net::Checks {
                origin: false,
                json: false,
            },
        );
        let proxy = Proxy::start(public, guard, s.timeouts)?;
        let configured = s.peek.base_url_for(port, &s.env);
        let mut local_url = local_base_url(configured.as_ref(), s.explicit_url, port);
        if !(s.host.is_loopback() || s.host.is_unspecified() || s.explicit_url) {
            local_url = local_url.replacen("localhost", &s.host.to_string(), 1);
        }
        let tunnel = s.tunnel.clone().map(|mut spec| {
            spec.port = port;
            Tunnel::new(spec)
        });
        Ok(Self {
            status: Status::new(colour),
            proxy,
            port,
            local_url,
            current: None,
            candidate: None,
            retiring: Vec::new(),
            announced_ready: false,
            tunnel,
            phase: Phase::Off,
            attempts: 0,
            last_lines: VecDeque::new(),
            last_code: None,
            spinner: None,
            pending: None,
            loops: LoopGuard::default(),
            ready_at: None,
            own_outputs: writers::own_outputs(),
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
            self.emulator = Some(
                DevEmulator::start(
                    port,
                    self.status,
                    self.s.forgets_installs,
                    &self.s.allow_host_names,
                    self.s.timeouts,
                )
                .await?,
            );
        }

        if self.tunnel.is_some() {
            self.start_tunnel(true)?;
        } else {
            self.start(None, Instant::now());
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
                status = generations::exited(&mut self.current) => self.on_crash(status),
                outcome = generations::outcome(&mut self.candidate) => self.on_outcome(outcome),
                Some(input) = inputs.recv() => match input {
                    Input::Change(event, at) => self.on_change(&event, at),
                    Input::WatchError(err) => self.status.warn(&format!("watcher: {err}")),
                    Input::Restart => {
                        self.loops.reset();
                        if self.s.rules.unmute() {
                            self.status.info("watching every file again");
                        }
                        self.pending = None;
                        self.restart("rs".into(), Instant::now());
                    }
                },
                event = tunnel_phase::next_event(&mut self.tunnel) => {
                    if let Err(err) = self.on_tunnel(event).await {
                        break Err(err);
                    }
                }
                () = sleep_until(settle_at.unwrap_or_else(Instant::now).into()), if settle_at.is_some() => {
                    self.on_settled();
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
        let mut stopped = false;
        // Release the proxy's hold on the add-on's connections first.
        self.proxy
            .set(super::proxy::Route::Down(super::proxy::Down {
                what: "connect dev is stopping".into(),
                hint: "start it again".into(),
                output: Vec::new(),
            }));
        if let Some(candidate) = self.candidate.take() {
            candidate.generation.stop().await;
        }
        if let Some(current) = self.current.take() {
            stopped = true;
            current.stop().await;
        }
        for task in self.retiring.drain(..) {
            let _ = task.await;
        }
        if let Some(t) = self.tunnel.as_mut() {
            t.stop().await;
        }
        if outcome.is_ok() {
            let what = if stopped { "add-on stopped, " } else { "" };
            self.status
                .info(&format!("{what}port {} free; bye", self.port));
        }
        outcome.map(|_| ())
    }

    /// The base URL the add-on should announce.
    fn base_url(&self) -> String {
        match &self.phase {
            Phase::Up { url, .. } => format!("{url}{}", self.base_path()),
            _ => self.local_url.clone(),
        }
    }

    fn base_path(&self) -> String {
        url::Url::parse(&self.local_url)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    fn on_change(&mut self, event: &notify::Event, at: Instant) {
        let since = self.current.as_ref().map(|g| g.started);
        let verdict = watcher::classify(&self.s.rules, event, at, since, Path::is_dir);
        if verdict.gitignore_changed {
            let (gitignore, warning) = filter::load_gitignore(&self.s.project);
            self.s.rules.set_gitignore(gitignore);
            if let Some(w) = warning {
                self.status.warn(&w);
            }
        }
        let Some(path) = verdict.trigger else {
            return;
        };
        if self.written_by_us(&path) {
            return;
        }
        let burst = self.pending.get_or_insert(Burst {
            files: BTreeSet::new(),
            first: at,
            last: at,
        });
        burst.files.insert(path);
        burst.last = at;
    }

    /// Whether `path` is our own redirected output, or a file a process of
    /// the add-on has open for writing.
    fn written_by_us(&self, path: &Path) -> bool {
        let Some(id) = writers::id_of(path) else {
            return false;
        };
        if self.own_outputs.contains(&id) {
            return true;
        }
        let groups: Vec<i32> = self
            .current
            .iter()
            .map(Generation::group)
            .chain(self.candidate.iter().map(|c| c.generation.group()))
            .collect();
        writers::written_by(&groups).contains(&id)
    }

    /// When a pending restart happens: once no relevant change has arrived
    /// for `--delay` (a burst of saves, an editor's rename, a checkout),
    /// but no later than `MAX_HOLD` after the first change; and not while
    /// a start is in progress (the next one follows it, so a file the
    /// starting add-on writes is seen as its own, see `loops`).
    fn settle_at(&self) -> Option<Instant> {
        if self.candidate.is_some() {
            return None;
        }
        let burst = self.pending.as_ref()?;
        Some((burst.last + self.s.delay).min(burst.first + MAX_HOLD))
    }

    fn on_settled(&mut self) {
        let Some(burst) = self.pending.take() else {
            return;
        };
        // An editor's atomic save writes a temporary file and renames it:
        // name the files that are there now (or, for deletions, all).
        let mut files: BTreeSet<PathBuf> =
            burst.files.iter().filter(|p| p.exists()).cloned().collect();
        if files.is_empty() {
            files = burst.files.clone();
        }
        let window =
            self.current
                .as_ref()
                .zip(self.ready_at)
                .map(|(g, ready)| super::loops::Window {
                    started: g.started,
                    ready,
                });
        if let Some(looping) = self.loops.restart(&files, burst.first, window) {
            self.s.rules.mute(&looping);
            let names: Vec<String> = looping.iter().map(|p| self.shown(p)).collect();
            let it = if names.len() == 1 { "it" } else { "them" };
            self.status.warn(&format!(
                "{} changed again with each of the last {} starts of the add-on, faster than a person edits: \
                 something the add-on runs keeps writing {it} (a log? a cache?). connect dev no longer \
                 restarts for {it}; add {it} to .gitignore (or --ignore), or type rs + Enter to restart and watch {it} again",
                names.join(", "),
                super::loops::RESTARTS,
            ));
            files.retain(|f| !looping.contains(f));
            if files.is_empty() {
                return;
            }
        }
        let shown: Vec<String> = files.iter().map(|p| self.shown(p)).collect();
        let reason = match shown.as_slice() {
            [one] => format!("{one} changed"),
            many if many.len() <= 3 => format!("{} changed", many.join(", ")),
            many => format!(
                "{} files changed ({}, ...)",
                many.len(),
                many[..3].join(", ")
            ),
        };
        self.restart(reason, burst.last);
    }

    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.s.project)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn ready_block(&self, public: Option<&str>) {
        let mut lines = vec![
            String::new(),
            format!("  {} is ready", self.s.command.describe()),
        ];
        lines.push(format!("    local:       {}", self.local_url));
        let descriptor_base = match public {
            Some(url) => {
                lines.push(format!("    public:      {url}{}", self.base_path()));
                format!("{url}{}", self.base_path())
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
        lines.push("    (edit a file, or type rs + Enter, to restart; Ctrl-C stops)".into());
        lines.push(String::new());
        self.status.block(&lines);
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
