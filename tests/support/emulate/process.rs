//! Guarded child processes: `connect emulate` on a free port (with a
//! control API client) and any other command. Each is killed on drop and
//! its output printed when the test is failing.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::http_client;

/// A child process that is killed on drop, with its output kept for the
/// failure message.
pub struct Process {
    name: String,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Kills the process and waits for it to exit (its port is free after).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Lines the process wrote so far (stdout and stderr interleaved).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("---- output of {} ----", self.name);
            for line in self.output() {
                eprintln!("{line}");
            }
        }
    }
}

fn drain(
    stream: impl AsyncRead + Unpin + Send + 'static,
    output: Arc<Mutex<Vec<String>>>,
    lines_tx: Option<tokio::sync::mpsc::UnboundedSender<String>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(tx) = &lines_tx {
                let _ = tx.send(line.clone());
            }
            if let Ok(mut out) = output.lock() {
                out.push(line);
            }
        }
    });
}

/// Spawns `command` with piped output; `lines` receives its stdout lines.
pub fn spawn(
    name: &str,
    mut command: Command,
) -> (Process, tokio::sync::mpsc::UnboundedReceiver<String>) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let output = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        drain(stdout, output.clone(), Some(tx));
    }
    if let Some(stderr) = child.stderr.take() {
        drain(stderr, output.clone(), None);
    }
    (
        Process {
            name: name.to_owned(),
            child,
            output,
        },
        rx,
    )
}

/// `connect emulate` running on a free port.
pub struct Emulator {
    /// The chat page's URL, e.g. `http://127.0.0.1:40123/`.
    pub url: String,
    /// The capabilities document's URL.
    pub capabilities_url: String,
    /// The process.
    pub process: Process,
}

impl Emulator {
    /// Starts `connect emulate --port 0 ARGS` and waits for it to print its URLs.
    pub async fn start(args: &[&str]) -> Emulator {
        let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
        command.args(["emulate", "--port", "0"]).args(args);
        let (process, mut lines) = spawn("connect emulate", command);
        let mut url = None;
        let mut capabilities_url = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while url.is_none() || capabilities_url.is_none() {
            let line = tokio::time::timeout_at(deadline, lines.recv())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    panic!(
                        "connect emulate did not print its URLs; output:\n{}",
                        process.output().join("\n")
                    )
                });
            if let Some(rest) = line.trim().strip_prefix("Chat:") {
                url = Some(rest.trim().to_owned());
            } else if let Some(rest) = line.trim().strip_prefix("Capabilities:") {
                capabilities_url = Some(rest.trim().to_owned());
            }
        }
        Emulator {
            url: url.unwrap_or_default(),
            capabilities_url: capabilities_url.unwrap_or_default(),
            process,
        }
    }

    /// `{chat URL}{path}` with `path` starting with `/`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url.trim_end_matches('/'), path)
    }

    /// The control API's base, `.../_emulator`.
    pub fn control(&self) -> Control {
        Control {
            base: self.at("/_emulator"),
            http: http_client(),
        }
    }
}

/// A thin client of the control API: each call returns `(status, body)`.
pub struct Control {
    /// `http://127.0.0.1:PORT/_emulator`.
    pub base: String,
    http: reqwest::Client,
}

impl Control {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("the emulator answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, body)
    }

    /// GET `{base}{path}`.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// POST JSON to `{base}{path}`.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// PUT JSON to `{base}{path}`.
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// DELETE `{base}{path}`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Installs from `descriptor_url` into `room_id`; panics unless it worked.
    pub async fn install(&self, descriptor_url: &str, room_id: u64) -> String {
        let (status, body) = self
            .post(
                "/install",
                json!({"descriptorUrl": descriptor_url, "roomId": room_id}),
            )
            .await;
        assert_eq!(status, 201, "install failed: {body}");
        body["oauthId"]
            .as_str()
            .unwrap_or_else(|| panic!("no oauthId in {body}"))
            .to_owned()
    }

    /// The first room's id.
    pub async fn first_room(&self) -> u64 {
        let (status, rooms) = self.get("/rooms").await;
        assert_eq!(status, 200, "{rooms}");
        rooms[0]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no room in {rooms}"))
    }

    /// Waits up to 15 s for a notification in `room_id` satisfying `pred`.
    pub async fn wait_for_notification(
        &self,
        room_id: u64,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let (_, messages) = self.get(&format!("/rooms/{room_id}/messages")).await;
            if let Some(found) = messages.as_array().and_then(|list| {
                list.iter()
                    .find(|m| m["kind"] == "notification" && pred(m))
                    .cloned()
            }) {
                return found;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("no matching notification in room {room_id}; messages: {messages:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Starts any command as a guarded process (for `connect serve`).
pub fn start_process(name: &str, command: Command) -> Process {
    spawn(name, command).0
}
