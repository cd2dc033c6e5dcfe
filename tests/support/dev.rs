//! Driving `connect dev` as a real process: a project made by `connect
//! new`, the process with its output collected line by line, HTTP over a
//! plain socket, and checks on /proc. Every process started here is killed
//! on drop, with its process group, even when a test fails.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

pub use super::connect_binary as connect;
pub use super::free_port;

/// The fake ngrok executable.
pub fn fake_ngrok() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-ngrok")
}

/// A fresh project made by `connect new`, removed on drop.
pub struct Project {
    _tmp: tempfile::TempDir,
    /// The project folder.
    pub dir: PathBuf,
}

impl Project {
    /// Scaffolds `addon` in a temporary folder.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temporary folder");
        let status = Command::new(connect())
            .args(["new", "-y", "--no-git", "addon"])
            .current_dir(tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .expect("run connect new");
        assert!(status.success(), "connect new failed");
        let dir = tmp
            .path()
            .join("addon")
            .canonicalize()
            .expect("project folder");
        Self { _tmp: tmp, dir }
    }

    /// A file of the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes a file of the project (creating folders).
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Appends to a file of the project.
    pub fn append(&self, rel: &str, text: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path(rel))
            .expect("open for appending");
        file.write_all(text.as_bytes()).expect("append");
    }

    /// Sets the descriptor's description.
    pub fn set_description(&self, text: &str) {
        let path = self.path("atlassian-connect.json");
        let raw = std::fs::read_to_string(&path).expect("descriptor");
        let mut doc: serde_json::Value = serde_json::from_str(&raw).expect("descriptor JSON");
        doc["description"] = serde_json::Value::String(text.into());
        std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    }
}

type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running `connect dev`.
pub struct Dev {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines,
    exited: Option<ExitStatus>,
}

impl Dev {
    /// Starts `connect dev ARGS` in `dir` with extra environment variables.
    pub fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::start_to(dir, args, envs, None)
    }

    /// Like [`Dev::start`], with stdout and stderr redirected to `file`
    /// (as `connect dev > file 2>&1`), which is then read for the lines.
    pub fn start_to(dir: &Path, args: &[&str], envs: &[(&str, &str)], file: Option<&Path>) -> Self {
        let mut command = Command::new(connect());
        command
            .arg("dev")
            .args(args)
            .current_dir(dir)
            .envs(envs.iter().copied())
            .env("NO_COLOR", "1")
            .env_remove("CONNECT_NGROK")
            .env_remove("PORT")
            .stdin(Stdio::piped());
        match file {
            Some(file) => {
                let out = std::fs::File::create(file).expect("create the output file");
                command
                    .stdout(out.try_clone().expect("clone the output file"))
                    .stderr(out);
            }
            None => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }
        let mut child = command.spawn().expect("start connect dev");
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        match file {
            Some(file) => follow(file.to_path_buf(), lines.clone()),
            None => {
                collect(child.stdout.take().expect("stdout"), lines.clone());
                collect(child.stderr.take().expect("stderr"), lines.clone());
            }
        }
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            exited: None,
        }
    }

    /// The pid of `connect dev`.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        lock(&self.lines.0).join("\n")
    }

    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        let lines = lock(&self.lines.0);
        lines.iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until `n` lines contain `needle`; returns the last such line.
    pub fn wait_for_nth(&self, needle: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.lines;
        let mut lines = self::lock(lock);
        loop {
            let found: Vec<&String> = lines.iter().filter(|l| l.contains(needle)).collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "no {n}. line with {needle:?} within {timeout:?}; output:\n{}",
                    lines.join("\n")
                );
            }
            lines = cvar
                .wait_timeout(lines, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Waits for a line containing `needle`.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_nth(needle, 1, Duration::from_secs(20))
    }

    /// The port from the "started ... on http://localhost:PORT" line.
    pub fn port(&self) -> u16 {
        let line = self.wait_for_nth("dev: started ", 1, Duration::from_secs(30));
        let after = line
            .rsplit("localhost:")
            .next()
            .expect("port in the started line");
        after
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a port number")
    }

    /// The pids of every add-on process started so far ("(pid N)"),
    /// oldest first, each once.
    pub fn child_pids(&self) -> Vec<i32> {
        let lines = lock(&self.lines.0);
        let mut pids: Vec<i32> = Vec::new();
        for pid in lines
            .iter()
            .filter(|l| l.contains(" dev: "))
            .filter_map(|l| l.split("(pid ").nth(1))
            .filter_map(|rest| rest.split(')').next()?.parse().ok())
        {
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Types a line on its stdin.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Sends a signal to `connect dev` alone.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signal connect dev");
    }

    /// Waits for `connect dev` to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(status);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "connect dev did not exit within {timeout:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        for pid in self.child_pids() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Locks the collected lines, even after a panicking test poisoned them.
fn lock(lines: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn collect(stream: impl Read + Send + 'static, lines: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let (lock, cvar) = &*lines;
            self::lock(lock).push(line);
            cvar.notify_all();
        }
    });
}

/// Reads lines appended to `file` (by a process writing to it) as they come.
fn follow(file: PathBuf, lines: Lines) {
    std::thread::spawn(move || {
        let mut offset = 0usize;
        let mut partial = String::new();
        loop {
            let Ok(text) = std::fs::read(&file) else {
                return;
            };
            if text.len() > offset {
                partial.push_str(&String::from_utf8_lossy(&text[offset..]));
                offset = text.len();
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    let (lock, cvar) = &*lines;
                    self::lock(lock).push(line.trim_end().to_string());
                    cvar.notify_all();
                }
            }
            if Arc::strong_count(&lines) == 1 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

/// `GET path` on 127.0.0.1:port with a fresh connection: status and body.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    get_accepting(port, path, "application/json")
}

/// Like [`get`], with this `Accept` header.
pub fn get_accepting(port: u16, path: &str, accept: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP reply: {reply:?}")))?;
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `GET path` until the body contains `needle`.
pub fn poll_until(port: u16, path: &str, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok((200, body)) = get(port, path) {
            if body.contains(needle) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{path} never contained {needle:?} within {timeout:?}; last body: {last}");
}

/// Whether `pid` is a live process (a zombie counts as dead).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// Live processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1.trim_start().to_string();
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    // state ppid pgrp ...
                    Some(fields.first()? != &"Z" && fields.get(2)?.parse::<i32>().ok()? == pgid)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Waits until neither `pid` nor any member of its group is alive.
pub fn assert_gone(pid: i32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while alive(pid) || !group_members(pid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "process {pid} (or its group: {:?}) is still alive after {timeout:?}",
            group_members(pid)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the port can be bound again (on every interface, like the add-on).
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok()
}

/// The local addresses listening on TCP `port` (from /proc/net/tcp and
/// tcp6), e.g. `["127.0.0.1"]`.
pub fn listening_addresses(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((ip, p)) = local.split_once(':') else {
                continue;
            };
            if *state != "0A" || u16::from_str_radix(p, 16).ok() != Some(port) {
                continue;
            }
            if v6 {
                found.push(if ip.chars().all(|c| c == '0') {
                    "::".into()
                } else {
                    ip.to_string()
                });
            } else if let Ok(n) = u32::from_str_radix(ip, 16) {
                found.push(std::net::Ipv4Addr::from(n.swap_bytes()).to_string());
            }
        }
    }
    found
}

/// A copy of the 2015 Node add-on (`tests/fixtures/node-addon`) in a
/// temporary folder, its `node_modules` linked.
pub fn node_fixture() -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-addon");
    assert!(
        fixture.join("node_modules").is_dir(),
        "the Node fixture's modules are missing: run ./install.sh --test-deps"
    );
    let dir = tempfile::tempdir().expect("a folder");
    for name in [
        "app.js",
        "atlassian-connect.json",
        "config.json",
        "package.json",
    ] {
        std::fs::copy(fixture.join(name), dir.path().join(name)).expect("copy the fixture");
    }
    for sub in ["lib", "routes"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(fixture.join(sub)).expect("read the fixture") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name()))
                .expect("copy");
        }
    }
    std::os::unix::fs::symlink(
        fixture.join("node_modules"),
        dir.path().join("node_modules"),
    )
    .expect("link node_modules");
    dir
}
