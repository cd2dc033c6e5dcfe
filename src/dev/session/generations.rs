//! Starting generations of the add-on, promoting the one that answers,
//! and explaining the ones that do not.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::Session;
use crate::dev::dotenv;
use crate::dev::emulate::descriptor_url;
use crate::dev::generation::Generation;
use crate::dev::probe;
use crate::dev::proxy::{Down, Route};
use crate::dev::supervisor::describe_exit;

/// A generation that is starting.
pub(super) struct Candidate {
    pub(super) generation: Generation,
    probe: JoinHandle<u16>,
    /// Why it was started (`templates/reply.html changed`), or `None` for
    /// the first start.
    reason: Option<String>,
    /// The change it answers to, for the time to ready.
    since: Instant,
    deadline: Instant,
}

/// How a candidate's start ended.
pub(super) enum Outcome {
    /// It answered HTTP.
    Ready,
    /// It exited first.
    Exited(std::io::Result<ExitStatus>),
    /// It did not answer in time.
    TimedOut,
}

/// The current generation's exit (never resolves without one).
pub(super) async fn exited(current: &mut Option<Generation>) -> std::io::Result<ExitStatus> {
    match current {
        Some(generation) => generation.exited().await,
        None => std::future::pending().await,
    }
}

/// How the candidate's start ends (never resolves without one).
pub(super) async fn outcome(candidate: &mut Option<Candidate>) -> Outcome {
    let Some(c) = candidate else {
        return std::future::pending().await;
    };
    tokio::select! {
        status = c.generation.exited() => Outcome::Exited(status),
        _ = &mut c.probe => Outcome::Ready,
        () = tokio::time::sleep_until(c.deadline.into()) => Outcome::TimedOut,
    }
}

impl Session {
    /// Starts a generation (the first when `reason` is `None`).
    pub(super) fn start(&mut self, reason: Option<String>, since: Instant) {
        if let Some(old) = self.candidate.take() {
            // A newer version replaces one that has not answered yet.
            self.retiring.push(tokio::spawn(async move {
                old.generation.stop().await;
            }));
        }
        let extra = match dotenv::load(&self.s.project, |k| self.s.env.get(k).is_some()) {
            Ok(vars) => vars,
            Err(err) => {
                self.fail_to_start(
                    reason.as_deref(),
                    &format!("{err}; fix it and save"),
                    Vec::new(),
                );
                return;
            }
        };
        let base = self.base_url();
        let generation = match Generation::start(
            &self.s.child,
            &base,
            &extra,
            &self.s.child_label,
            self.status,
        ) {
            Ok(generation) => generation,
            Err(err) => {
                self.fail_to_start(
                    reason.as_deref(),
                    &format!("cannot start {}: {err}", self.s.command.describe()),
                    Vec::new(),
                );
                return;
            }
        };
        if reason.is_none() {
            // The first start may take a while (npm, a slow boot): say so now.
            self.status.info(&format!(
                "starting {} (pid {})",
                self.s.command.describe(),
                generation.pid
            ));
        }
        let path = format!("{}/atlassian-connect.json", self.base_path());
        let host = format!("localhost:{}", self.port);
        let port = generation.port;
        let probe = tokio::spawn(async move { probe::until_ready(port, &path, &host).await });
        self.candidate = Some(Candidate {
            generation,
            probe,
            reason,
            since,
            deadline: Instant::now() + self.s.ready_timeout,
        });
    }

    /// Starts the next generation for `reason`.
    pub(super) fn restart(&mut self, reason: String, since: Instant) {
        if matches!(self.phase, super::Phase::Waiting { first: true, .. }) {
            // The add-on starts once the tunnel has a URL.
            return;
        }
        self.start(Some(reason), since);
    }

    pub(super) fn on_outcome(&mut self, outcome: Outcome) {
        let Some(candidate) = self.candidate.take() else {
            return;
        };
        match outcome {
            Outcome::Ready => self.promote(candidate),
            Outcome::Exited(status) => {
                let how = status.map_or_else(
                    |e| format!("could not be waited for ({e})"),
                    |s| describe_exit(&s),
                );
                let what = format!("{} {how} before it answered", self.s.command.name());
                let tail = candidate.generation.tail.lines();
                self.fail_to_start(candidate.reason.as_deref(), &what, tail);
            }
            Outcome::TimedOut => {
                let what = format!(
                    "{} did not answer on its port {} within {} s (does it listen on $PORT? connect dev gives each start a port of its own there; raise --ready-timeout if it needs longer)",
                    self.s.command.name(),
                    candidate.generation.port,
                    self.s.ready_timeout.as_secs()
                );
                let tail = candidate.generation.tail.lines();
                self.retiring.push(tokio::spawn(async move {
                    candidate.generation.stop().await;
                }));
                self.fail_to_start(candidate.reason.as_deref(), &what, tail);
            }
        }
    }

    fn promote(&mut self, candidate: Candidate) {
        let took = candidate.since.elapsed();
        let pid = candidate.generation.pid;
        self.proxy.set(Route::To(candidate.generation.backend()));
        self.ready_at = Some(Instant::now());
        if let Some(old) = self.current.replace(candidate.generation) {
            let patience = self.s.child.kill_timeout.max(Duration::from_secs(10));
            let (status, label, kill) = (
                self.status,
                self.s.child_label.clone(),
                self.s.child.kill_timeout,
            );
            self.retiring.retain(|t| !t.is_finished());
            self.retiring.push(tokio::spawn(async move {
                if old.retire(patience).await.escalated {
                    status.warn(&format!(
                        "the replaced {label} did not stop within {} ms of SIGTERM; killed it",
                        kill.as_millis()
                    ));
                }
            }));
        }
        match &candidate.reason {
            Some(reason) => self.status.good(&format!(
                "{reason}: restarted in {} ms (pid {pid})",
                took.as_millis()
            )),
            None => self.status.good(&format!(
                "started {} (pid {pid}) in {} ms on {}",
                self.s.command.name(),
                took.as_millis(),
                self.local_url
            )),
        }
        if !self.announced_ready {
            self.announced_ready = true;
            let public = match &self.phase {
                super::Phase::Up { url, .. } => Some(url.clone()),
                _ => None,
            };
            self.ready_block(public.as_deref());
        }
        if let Some(emulator) = &self.emulator {
            emulator.started(descriptor_url(&self.local_url));
        }
    }

    /// Reports a start that failed (its output is right above, so it is not
    /// repeated); the current generation, if any, keeps serving, else the
    /// port answers 503 with the reason and those last lines.
    fn fail_to_start(&mut self, reason: Option<&str>, what: &str, tail: Vec<String>) {
        let output = if tail.is_empty() {
            ""
        } else {
            " (its output is above)"
        };
        let prefix = reason.map(|r| format!("{r}: ")).unwrap_or_default();
        match &self.current {
            Some(current) => self.status.error(&format!(
                "{prefix}{what}{output}; still serving the previous version (pid {}); save again to retry",
                current.pid
            )),
            None => {
                self.status.error(&format!(
                    "{prefix}{what}{output}; port {} answers 503 until a start succeeds: fix it and save (or type rs + Enter)",
                    self.port
                ));
                self.proxy.set(Route::Down(Down {
                    what: what.to_string(),
                    hint: "fix it and save a file (or type rs + Enter in connect dev); it starts again".into(),
                    output: tail,
                }));
            }
        }
    }

    /// The current generation exited by itself.
    pub(super) fn on_crash(&mut self, status: std::io::Result<ExitStatus>) {
        let Some(gone) = self.current.take() else {
            return;
        };
        let how = status.map_or_else(
            |e| format!("could not be waited for ({e})"),
            |s| describe_exit(&s),
        );
        let what = format!("{} (pid {}) {how}", self.s.command.name(), gone.pid);
        let tail = gone.tail.lines();
        if self.candidate.is_some() {
            self.status
                .error(&format!("{what}; its successor is starting"));
        } else {
            self.status.error(&format!(
                "{what}; port {} answers 503 until it starts again: save a file or type rs + Enter",
                self.port
            ));
        }
        self.proxy.set(Route::Down(Down {
            what,
            hint: "save a file (or type rs + Enter in connect dev) to start it again".into(),
            output: tail,
        }));
    }
}
