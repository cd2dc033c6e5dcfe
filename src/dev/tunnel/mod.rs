//! The ngrok tunnel: an external `ngrok` process owned by `connect dev`
//! (not by the add-on, so it and its URL survive add-on restarts).
//!
//! The public URL comes from ngrok's log (`"msg":"started tunnel"`), or,
//! if the log does not say it, from the agent's local API at the address
//! its log names (`starting web service`, by default 127.0.0.1:4040).

pub mod api;
pub mod errors;
pub mod log;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::supervisor::{
    describe_exit, own_group_with_parent_death, signal_group, wait_group_gone,
};
use log::LineInfo;

/// The agent's web service when its log does not name another.
pub const DEFAULT_WEB_ADDR: &str = "127.0.0.1:4040";

/// How the public URL is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// `--url U` (ngrok 3.16 and later).
    Url(String),
    /// `--domain U` (older v3 agents).
    Domain(String),
}

/// How to run ngrok.
#[derive(Debug, Clone)]
pub struct TunnelSpec {
    /// The ngrok executable.
    pub program: PathBuf,
    /// The local port to forward to.
    pub port: u16,
    /// A reserved URL or domain to ask for.
    pub reserved: Option<Reserved>,
    /// How long ngrok may take to stop after SIGTERM.
    pub kill_timeout: Duration,
}

/// Something ngrok did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelEvent {
    /// A line of its output and what it means.
    Line(LineInfo, String),
    /// The public URL, read from the agent API.
    ApiUrl(String),
    /// The process ended (how).
    Exited(String),
}

/// The running (or stopped) ngrok process.
#[derive(Debug)]
pub struct Tunnel {
    spec: TunnelSpec,
    tx: mpsc::UnboundedSender<(u64, TunnelEvent)>,
    rx: mpsc::UnboundedReceiver<(u64, TunnelEvent)>,
    generation: u64,
    pgid: Option<Pid>,
    tasks: Vec<JoinHandle<()>>,
    web_addr: watch::Sender<String>,
}

impl Tunnel {
    /// A tunnel that is not started yet.
    pub fn new(spec: TunnelSpec) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            spec,
            tx,
            rx,
            generation: 0,
            pgid: None,
            tasks: Vec::new(),
            web_addr: watch::Sender::new(DEFAULT_WEB_ADDR.to_string()),
        }
    }

    /// The agent's web service address (`host:port`), for the inspector URL.
    pub fn web_addr(&self) -> String {
        self.web_addr.borrow().clone()
    }

    /// Notes the web service address from a log line.
    pub fn set_web_addr(&self, addr: &str) {
        self.web_addr.send_replace(addr.to_string());
    }

    /// Starts ngrok (call only from the main thread: see `supervisor`).
    pub fn spawn(&mut self) -> std::io::Result<u32> {
        self.generation += 1;
        self.web_addr.send_replace(DEFAULT_WEB_ADDR.to_string());
        let mut cmd = Command::new(&self.spec.program);
        cmd.arg("http").arg(self.spec.port.to_string()).args([
            "--log",
            "stdout",
            "--log-format",
            "json",
        ]);
        match &self.spec.reserved {
            Some(Reserved::Url(u)) => cmd.args(["--url", u]),
            Some(Reserved::Domain(d)) => cmd.args(["--domain", d]),
            None => &mut cmd,
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SIGTERM, not SIGKILL: ngrok then closes its session, so the next
        // start is not refused as a second session (ERR_NGROK_108).
        own_group_with_parent_death(&mut cmd, Signal::SIGTERM);
        let mut child = cmd.spawn()?;
        let pid = child.id().unwrap_or(0);
        self.pgid = Some(Pid::from_raw(pid as i32));
        let generation = self.generation;
        let tx = self.tx.clone();
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        self.tasks.push(tokio::spawn(async move {
            tokio::join!(
                forward_lines(stdout, generation, &tx),
                forward_lines(stderr, generation, &tx)
            );
            let how = match child.wait().await {
                Ok(status) => describe_exit(&status),
                Err(err) => format!("could not be waited for ({err})"),
            };
            let _ = tx.send((generation, TunnelEvent::Exited(how)));
        }));
        self.tasks.push(tokio::spawn(poll_api(
            self.web_addr.subscribe(),
            self.spec.port,
            generation,
            self.tx.clone(),
        )));
        Ok(pid)
    }

    /// The next event of the current ngrok process (never resolves when
    /// none runs).
    pub async fn next(&mut self) -> TunnelEvent {
        loop {
            match self.rx.recv().await {
                Some((g, event)) if g == self.generation => {
                    if matches!(event, TunnelEvent::Exited(_)) {
                        self.pgid = None;
                    }
                    return event;
                }
                Some(_) => {}
                // Cannot happen: `self.tx` keeps the channel open.
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Stops ngrok and waits until its process group is gone.
    pub async fn stop(&mut self) {
        for task in self.tasks.drain(..).rev() {
            if !task.is_finished() {
                task.abort();
            }
        }
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, Signal::SIGTERM);
            wait_group_gone(pgid, self.spec.kill_timeout).await;
        }
        // Events of the stopped process must not be read as the next one's.
        self.generation += 1;
    }
}

async fn forward_lines(
    stream: Option<impl AsyncRead + Unpin>,
    generation: u64,
    tx: &mpsc::UnboundedSender<(u64, TunnelEvent)>,
) {
    let Some(stream) = stream else { return };
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let info = log::parse_line(&line);
        let _ = tx.send((generation, TunnelEvent::Line(info, line)));
    }
}

/// Polls the agent API until it names a URL: the fallback for agents whose
/// log does not carry it.
async fn poll_api(
    web_addr: watch::Receiver<String>,
    port: u16,
    generation: u64,
    tx: mpsc::UnboundedSender<(u64, TunnelEvent)>,
) {
    crate::tls::install_crypto_provider();
    let Ok(client) = reqwest::Client::builder().no_proxy().build() else {
        return;
    };
    // Give the log a head start: it usually names the URL within a second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    loop {
        let addr = web_addr.borrow().clone();
        if let Some(url) = api::fetch(&client, &addr, port).await {
            let _ = tx.send((generation, TunnelEvent::ApiUrl(url)));
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Finds ngrok: `--ngrok PATH` (which clap also fills from the
/// `CONNECT_NGROK` environment variable), else `ngrok` on `PATH`.
pub fn locate(flag: Option<&Path>, path_var: Option<&str>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return executable(p).ok_or_else(|| {
            format!(
                "--ngrok (or CONNECT_NGROK) {} is not an executable file; {}",
                p.display(),
                errors::INSTALL_HELP
            )
        });
    }
    path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .find_map(|dir| executable(&dir.join("ngrok")))
        .ok_or_else(|| {
            format!(
                "ngrok is not installed (not found on PATH); {}",
                errors::INSTALL_HELP
            )
        })
}

fn executable(path: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ngrok_is_explained_with_how_to_install_it() {
        let err = locate(None, Some("/nonexistent-dir")).expect_err("not found");
        assert!(err.contains("not installed"), "{err}");
        assert!(err.contains("https://ngrok.com/download"), "{err}");
        let err = locate(Some(Path::new("/nonexistent/ngrok")), None).expect_err("bad flag");
        assert!(
            err.starts_with("--ngrok (or CONNECT_NGROK) /nonexistent/ngrok"),
            "{err}"
        );
    }

    #[test]
    fn the_flag_wins_over_path() {
        let sh = Path::new("/bin/sh");
        assert_eq!(locate(Some(sh), Some("/nonexistent")), Ok(sh.to_path_buf()));
    }

    #[test]
    fn ngrok_is_found_on_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let ngrok = dir.path().join("ngrok");
        std::fs::copy("/bin/sh", &ngrok).expect("copy");
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(locate(None, Some(&path)), Ok(ngrok));
    }
}
