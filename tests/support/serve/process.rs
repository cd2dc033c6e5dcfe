//! `connect serve` as a child process on a free port (`--port 0`, port read
//! from its startup line), killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to print its startup line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `connect serve`.
pub struct Serve {
    child: Option<Child>,
    port: u16,
    log: std::path::PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Serve {
    /// Starts `connect serve --dir DIR --port 0` with `extra` arguments and
    /// `env` variables (the parent's NODE_ENV, PORT and similar are removed).
    pub fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        Serve::try_start(dir, extra, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Serve::start`], returning the failure (exit status and log) instead.
    pub fn try_start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Result<Serve, String> {
        Serve::try_start_with(dir, extra, env, |_| {})
    }

    /// Like [`Serve::try_start`], letting `customize` adjust the command
    /// (e.g. to pass a listening socket as fd 3).
    pub fn try_start_with(
        dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        customize: impl FnOnce(&mut Command),
    ) -> Result<Serve, String> {
        let log_dir = tempfile::tempdir().expect("log folder");
        let log = log_dir.path().join("serve.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
        command
            .arg("serve")
            .arg("--dir")
            .arg(dir)
            .args(["--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for var in [
            "NODE_ENV",
            "PORT",
            "AC_LOCAL_BASE_URL",
            "AC_HOST_WHITELIST",
            "REDIS_URL",
            "LISTEN_FDS",
            "LISTEN_PID",
            "CONNECT_LOG",
            "RUST_LOG",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        customize(&mut command);
        let mut child = command.spawn().expect("spawn connect serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after start-up so the server never writes to a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut serve = Serve {
            child: Some(child),
            port: 0,
            log,
            _log_dir: log_dir,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(port) = line
                        .rsplit_once("listening on ")
                        .and_then(|(_, a)| a.rsplit_once(':'))
                        .and_then(|(_, p)| p.trim().parse().ok())
                    {
                        serve.port = port;
                        return Ok(serve);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = serve
                        .child
                        .as_mut()
                        .and_then(|c| c.try_wait().ok().flatten())
                    {
                        return Err(format!(
                            "connect serve exited with {status}:\n{}",
                            serve.logs()
                        ));
                    }
                }
                _ => {
                    // Output closed: give an exiting server a moment to finish.
                    let status = serve.child.as_mut().map(|c| {
                        for _ in 0..50 {
                            if let Ok(Some(status)) = c.try_wait() {
                                return format!("exited with {status}");
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        "still running".to_string()
                    });
                    return Err(format!(
                        "connect serve did not start ({}):\n{}",
                        status.unwrap_or_default(),
                        serve.logs()
                    ));
                }
            }
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The webhook URL of the test descriptor.
    pub fn webhook(&self) -> String {
        format!("{}/message", self.url())
    }

    /// Everything it wrote to stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Sends `signal` and waits (up to 20 s) for it to exit.
    pub fn stop_with(&mut self, signal: nix::sys::signal::Signal) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal connect serve");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("connect serve did not exit after {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it with SIGKILL (no chance to clean up).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill9();
    }
}
