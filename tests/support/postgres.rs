//! A real PostgreSQL server for tests: `initdb` into a temporary directory,
//! `postgres` on a free loopback port with its socket in that directory;
//! stopped (SIGKILL, as in a crash) and restarted on the same port to
//! simulate an outage; killed when dropped, even if the test fails.
//!
//! As root (CI), the server runs as the `postgres` user Debian's package
//! creates, since PostgreSQL refuses to run as root. Debian keeps the server
//! programs in /usr/lib/postgresql/VERSION/bin, off the PATH; they are
//! looked for there and on the PATH.

use super::free_port;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::TestCerts;

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running (or stopped) PostgreSQL server owned by a test.
pub struct PostgresServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    uid: Option<u32>,
    tls: Option<TestCerts>,
}

impl PostgresServer {
    /// A new cluster on a free port; panics with the server's log if it
    /// cannot start.
    pub fn start() -> PostgresServer {
        PostgresServer::start_with(None)
    }

    /// Like [`PostgresServer::start`], with `ssl=on` and a certificate from
    /// a throwaway CA ([`PostgresServer::ca_file`]).
    pub fn start_tls() -> PostgresServer {
        PostgresServer::start_with(Some(TestCerts::new))
    }

    /// Like [`PostgresServer::start_tls`], with a self-signed certificate
    /// marked as a CA, as `openssl req -x509` makes it
    /// ([`PostgresServer::ca_file`] is that certificate).
    pub fn start_tls_self_signed() -> PostgresServer {
        PostgresServer::start_with(Some(TestCerts::self_signed))
    }

    fn start_with(tls: Option<fn() -> TestCerts>) -> PostgresServer {
        let dir = tempfile::tempdir().expect("a directory for PostgreSQL");
        let uid = server_user();
        let tls = tls.map(|make| make());
        if let Some(uid) = uid {
            std::os::unix::fs::chown(dir.path(), Some(uid), None)
                .expect("chown the data directory");
            if let Some(certs) = &tls {
                certs.give_to(uid);
            }
        }
        let mut server = PostgresServer {
            port: 0,
            dir,
            child: None,
            uid,
            tls,
        };
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run initdb ({e}); install PostgreSQL (apt-get install postgresql)")
            });
        assert!(
            initdb.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
        let mut failures = Vec::new();
        // The free port can be taken between probing and binding; try another.
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("postgres did not start:\n{}", failures.join("\n---\n"));
    }

    /// Its port (kept across [`PostgresServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `postgres` as user `postgres` (no password: the
    /// test cluster trusts local connections), with `query` appended.
    pub fn url_with(&self, query: &str) -> String {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        }
    }

    /// The URL of database `postgres`, TLS left to the client's default.
    pub fn url(&self) -> String {
        self.url_with("")
    }

    /// The CA that signed the server's certificate ([`PostgresServer::start_tls`] only).
    pub fn ca_file(&self) -> PathBuf {
        self.tls
            .as_ref()
            .expect("a server started with start_tls")
            .ca()
    }

    /// Runs one SQL statement with `psql` and returns its output (unaligned,
    /// tuples only); `None` if it fails.
    pub fn sql(&self, statement: &str) -> Option<String> {
        let output = Command::new(program("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(statement)
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "3")
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Kills the server and its backends (SIGKILL, as in a crash of its
    /// machine) and waits for it to exit: no backend keeps answering a
    /// connection opened before.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let backends: Vec<u32> = family(child.id()).into_iter().skip(1).collect();
            let _ = child.kill();
            for pid in &backends {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.wait();
            let deadline = Instant::now() + Duration::from_secs(5);
            while backends.iter().any(|pid| running(*pid)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Starts the server again on the same port, with its data.
    pub fn restart(&mut self) {
        self.stop();
        // A killed postmaster leaves its pid file and shared memory; the new
        // one checks and removes them itself.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(why) if Instant::now() > deadline => panic!("postgres did not restart: {why}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Suspends the server (SIGSTOP): it keeps its port but answers nothing.
    pub fn freeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Resumes a server suspended by [`PostgresServer::freeze`].
    pub fn thaw(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let child = self.child.as_ref().expect("postgres is not running");
        // The postmaster and every backend (each backend is a process group
        // of its own, so killpg would miss them).
        for pid in family(child.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(program(name));
        if let Some(uid) = self.uid {
            command.uid(uid).gid(gid_of(uid));
        }
        command
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.log()).map_err(|e| e.to_string())?;
        if let Some(uid) = self.uid {
            let _ = std::os::unix::fs::chown(self.log(), Some(uid), None);
        }
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=60",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0);
        if let Some(certs) = &self.tls {
            command
                .args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", certs.cert().display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", certs.key().display()));
        }
        let child = command.spawn().map_err(|e| {
            format!("cannot run postgres ({e}); install PostgreSQL (apt-get install postgresql)")
        })?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "postgres on port {} exited with {status}:\n{}",
                    self.port,
                    std::fs::read_to_string(self.log()).unwrap_or_default()
                ));
            }
            if self.sql("SELECT 1").as_deref() == Some("1") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop();
        Err(format!(
            "postgres on port {} did not answer within {START_TIMEOUT:?}",
            self.port
        ))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // SIGKILL ends a frozen server too; backends exit when they see
            // the postmaster gone, but do not wait for them to notice.
            for pid in family(child.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        self.stop();
    }
}

/// Whether `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|s| s != "Z"))
        })
        .unwrap_or(false)
}

/// `pid` and its children (read from /proc).
fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            pids.push(child);
        }
    }
    pids
}

/// The uid to run the server as: `postgres` when we are root, else none
/// (run as ourselves).
pub fn server_user() -> Option<u32> {
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .expect("running as root, PostgreSQL needs the `postgres` user: install PostgreSQL (apt-get install postgresql)");
    Some(user.uid.as_raw())
}

pub fn gid_of(uid: u32) -> u32 {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or(uid, |u| u.gid.as_raw())
}

/// A PostgreSQL program: from the newest /usr/lib/postgresql/*/bin, else
/// the PATH.
pub fn program(name: &str) -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let path = entry.path().join("bin").join(name);
            path.exists().then_some((version, path))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, path)| path)
        .unwrap_or_else(|| Path::new(name).to_path_buf())
}
