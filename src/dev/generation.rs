//! One generation of the add-on: a process on a private port of its own,
//! its output shown line by line in `connect dev`'s style (and its last
//! lines kept to explain a failure), and the backend the proxy sends
//! requests to once it is ready.

use std::collections::VecDeque;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::listener;
use super::proxy::Backend;
use super::render::render_line;
use super::status::Status;
use super::supervisor::{self, ChildSpec, Running, Stopped};

/// How many of its last output lines a generation keeps.
pub const KEPT_LINES: usize = 12;

/// Its last output lines (shared with the tasks that read them).
#[derive(Clone, Debug, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// A started generation.
pub struct Generation {
    /// Its process (and process group) id.
    pub pid: u32,
    /// Where the proxy reaches it (dropped before it stops, see [`Backend`]).
    backend: Option<Backend>,
    /// When it was started.
    pub started: Instant,
    /// Its private port.
    pub port: u16,
    /// Its last output lines.
    pub tail: Tail,
    running: Running,
    kill_timeout: Duration,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Generation {
    /// Starts one: for a child that takes its socket, a private socket is
    /// bound first and lent as fd 3; otherwise a free port is found for it
    /// to bind. `label` prefixes its output lines.
    pub fn start(
        spec: &ChildSpec,
        base_url: &str,
        extra_env: &[(String, String)],
        label: &str,
        status: Status,
    ) -> std::io::Result<Generation> {
        let socket = listener::private()?;
        let port = socket.local_addr()?.port();
        let mut running = if spec.takes_socket {
            // The child gets its own copy; ours closes once it is started.
            supervisor::spawn(spec, port, base_url, extra_env, Some(&socket))?
        } else {
            // It binds the port itself; another process taking a fresh
            // loopback port in between is unlikely.
            drop(socket);
            supervisor::spawn(spec, port, base_url, extra_env, None)?
        };
        let partial = Self::watch(&mut running, port, spec, label, status);
        Ok(partial.with(running))
    }

    fn watch(
        running: &mut Running,
        port: u16,
        spec: &ChildSpec,
        label: &str,
        status: Status,
    ) -> Partial {
        let tail = Tail::default();
        let (stdout, stderr) = supervisor::take_output(running);
        let mut readers = Vec::new();
        if let Some(out) = stdout {
            readers.push(tokio::spawn(pump(
                out,
                label.to_string(),
                tail.clone(),
                status,
            )));
        }
        if let Some(err) = stderr {
            readers.push(tokio::spawn(pump(
                err,
                label.to_string(),
                tail.clone(),
                status,
            )));
        }
        Partial {
            port,
            tail,
            readers,
            kill_timeout: spec.kill_timeout,
        }
    }

    /// Where the proxy reaches it.
    pub fn backend(&self) -> Backend {
        self.backend
            .clone()
            .unwrap_or_else(|| Backend::local(self.port))
    }

    /// Its process group, whose members' open files are checked.
    pub fn group(&self) -> i32 {
        self.running.pgid().as_raw()
    }

    /// Resolves when it exits by itself (what is left of its group is
    /// cleared up), after its last output lines have been read.
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.running.exited(self.kill_timeout).await;
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_millis(200), reader).await;
        }
        status
    }

    /// Stops it and its whole group (SIGTERM, SIGKILL after the timeout).
    pub async fn stop(mut self) -> Stopped {
        // Our idle connections to it close now, not at its shutdown grace.
        drop(self.backend.take());
        let stopped = self.running.terminate(self.kill_timeout).await;
        for reader in self.readers {
            let _ = tokio::time::timeout(Duration::from_millis(200), reader).await;
        }
        stopped
    }

    /// Stops it once the proxy has nothing more in flight to it (at most
    /// `patience`; a long poll may keep a request open forever).
    pub async fn retire(self, patience: Duration) -> Stopped {
        let deadline = Instant::now() + patience;
        while self.backend.as_ref().is_some_and(|b| b.busy() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.stop().await
    }
}

/// A generation whose process is about to be attached.
struct Partial {
    port: u16,
    tail: Tail,
    readers: Vec<tokio::task::JoinHandle<()>>,
    kill_timeout: Duration,
}

impl Partial {
    fn with(self, running: Running) -> Generation {
        Generation {
            pid: running.pgid().as_raw() as u32,
            backend: Some(Backend::local(self.port)),
            started: Instant::now(),
            port: self.port,
            tail: self.tail,
            running,
            kill_timeout: self.kill_timeout,
            readers: self.readers,
        }
    }
}

/// Shows each line of `stream` as the add-on's and keeps it in `tail`
/// (bytes that are not UTF-8 are shown replaced).
async fn pump(stream: impl AsyncRead + Unpin, label: String, tail: Tail, status: Status) {
    let mut segments = BufReader::new(stream).split(b'\n');
    while let Ok(Some(bytes)) = segments.next_segment().await {
        let line = String::from_utf8_lossy(&bytes);
        let (level, text) = render_line(&line);
        if text.trim().is_empty() {
            continue;
        }
        status.from(&label, level, &text);
        tail.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_only() {
        let tail = Tail::default();
        for i in 0..20 {
            tail.push(format!("line {i}"));
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), KEPT_LINES);
        assert_eq!(lines.last().unwrap(), "line 19");
        assert_eq!(lines[0], format!("line {}", 20 - KEPT_LINES));
    }
}
