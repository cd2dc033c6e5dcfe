//! A real `redis-server` for tests: on a free loopback port, in a temporary
//! directory, without persistence; stopped and restarted on the same port to
//! simulate an outage; killed when dropped, even if the test fails. With
//! [`RedisServer::start_tls`] it also listens for TLS on a second port, with
//! a certificate from a throwaway CA.

use super::free_port;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running (or stopped) `redis-server` owned by a test.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    password: Option<String>,
    tls: Option<(u16, super::tls::TestCerts)>,
}

// Stands for "a self-signed certificate" where names are expected.
const SELF_SIGNED: &str = "<self-signed>";

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it
    /// answers. Panics (with the server's log) if it cannot.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None, None)
    }

    /// Like [`RedisServer::start`], requiring `password` (`--requirepass`)
    /// when one is given.
    pub fn start_with_password(password: Option<&str>) -> RedisServer {
        RedisServer::start_with(password, None)
    }

    /// Starts a server that also speaks TLS (see [`RedisServer::tls_url`]).
    pub fn start_tls() -> RedisServer {
        RedisServer::start_with(None, Some(&["localhost", "127.0.0.1"]))
    }

    /// Like [`RedisServer::start_tls`], its certificate valid for `names` only.
    pub fn start_tls_for(names: &[&str]) -> RedisServer {
        RedisServer::start_with(None, Some(names))
    }

    /// Like [`RedisServer::start_tls`], with a self-signed certificate
    /// marked as a CA, as `openssl req -x509` makes it
    /// ([`RedisServer::ca_file`] is that certificate).
    pub fn start_tls_self_signed() -> RedisServer {
        RedisServer::start_with(None, Some(&[SELF_SIGNED]))
    }

    fn start_with(password: Option<&str>, tls: Option<&[&str]>) -> RedisServer {
        let mut failures = Vec::new();
        // The free port can be taken between probing and binding; try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("create a temporary directory for redis-server");
            let mut server = RedisServer {
                port: free_port(),
                dir,
                child: None,
                password: password.map(str::to_owned),
                tls: tls.map(|names| {
                    let certs = if names == [SELF_SIGNED] {
                        super::tls::TestCerts::self_signed()
                    } else {
                        super::tls::TestCerts::for_names(names)
                    };
                    (free_port(), certs)
                }),
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("redis-server did not start:\n{}", failures.join("\n---\n"));
    }

    /// The port it listens on (kept across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL, `redis://[:PASSWORD@]127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Its TLS URL, `rediss://127.0.0.1:TLS_PORT/0` (servers from
    /// [`RedisServer::start_tls`] only).
    pub fn tls_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("a server started with start_tls");
        format!("rediss://127.0.0.1:{port}/0")
    }

    /// The CA that signed its TLS certificate (servers from
    /// [`RedisServer::start_tls`] only).
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.tls
            .as_ref()
            .expect("a server started with start_tls")
            .1
            .ca()
    }

    /// The server's working directory (holds `redis.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the server (SIGKILL, as in a crash) and waits for it to exit.
    /// Its data is lost: it runs without persistence.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Suspends the server (SIGSTOP): it keeps its port and connections but
    /// answers nothing, like a hung or overloaded server.
    pub fn freeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Resumes a server suspended by [`RedisServer::freeze`] (SIGCONT).
    pub fn thaw(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let child = self.child.as_ref().expect("redis-server is not running");
        let pid = i32::try_from(child.id()).expect("a pid fits in i32");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
            .unwrap_or_else(|e| panic!("cannot send {signal} to redis-server: {e}"));
    }

    /// Starts the server again on the same port, with an empty data set.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return,
                // The old socket may linger a moment; the port is ours to retry.
                Err(why) if Instant::now() > deadline => {
                    panic!("redis-server did not restart: {why}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Sends one command (space-separated words, no quoting) and returns the
    /// raw reply, e.g. `+PONG\r\n`; `None` if the server does not answer.
    pub fn command(&self, command: &str) -> Option<String> {
        send(self.port, self.password.as_deref(), command)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(
                self.password
                    .iter()
                    .flat_map(|p| ["--requirepass", p.as_str()]),
            )
            .args(self.tls.iter().flat_map(|(port, certs)| {
                vec![
                    "--tls-port".into(),
                    port.to_string().into(),
                    "--tls-cert-file".into(),
                    certs.cert().into_os_string(),
                    "--tls-key-file".into(),
                    certs.key().into_os_string(),
                    "--tls-ca-cert-file".into(),
                    certs.ca().into_os_string(),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]
            }))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot run redis-server ({e}); install it (apt-get install redis-server)")
            })?;
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {} exited:\n{text}",
                    self.port
                ));
            }
            // Check it is our process answering, not another server that
            // happened to hold the port.
            if let Some(info) = self.command("INFO server")
                && info.contains(&format!("process_id:{pid}\r\n"))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(format!(
            "redis-server on port {} did not answer within {START_TIMEOUT:?}",
            self.port
        ))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a frozen (stopped) process too.
        self.stop();
    }
}

// One inline command (after AUTH if needed), one reply, returned raw (RESP),
// arrays included.
fn send(port: u16, password: Option<&str>, command: &str) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let auth = password
        .map(|p| format!("AUTH {p}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(format!("{auth}{command}\r\n").as_bytes())
        .ok()?;
    let mut reader = BufReader::new(stream);
    if password.is_some() {
        let mut ok = String::new();
        read_reply(&mut reader, &mut ok)?;
    }
    let mut reply = String::new();
    read_reply(&mut reader, &mut reply)?;
    Some(reply)
}

fn read_reply(reader: &mut impl BufRead, out: &mut String) -> Option<()> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    out.push_str(&line);
    let count = |prefix| {
        line.strip_prefix(prefix)
            .and_then(|n: &str| n.trim().parse::<usize>().ok())
    };
    if let Some(len) = count('$') {
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body).ok()?;
        out.push_str(&String::from_utf8_lossy(&body));
    } else if let Some(items) = count('*') {
        for _ in 0..items {
            read_reply(reader, out)?;
        }
    }
    Some(())
}
