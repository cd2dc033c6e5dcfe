//! Shared by the `emulate*` tests: the `connect emulate` binary on a free
//! port, a blog double, the Node add-on fixture, and a control API client.
//! Every process started here is killed when its guard drops, and its
//! output is printed when the test is failing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The crate's root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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
fn spawn(
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

/// A reqwest client for loopback.
pub fn http_client() -> reqwest::Client {
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("a reqwest client")
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

/// A blog double: `GET /wp-content/byTag.php?tag=T` answers a JSON list of
/// `{title, url}`; `rust` has 12 articles, `empty` none, anything else 2.
pub struct Blog {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Blog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The articles the blog double lists for `tag`.
pub fn blog_articles(base: &str, tag: &str) -> Vec<Value> {
    let count = match tag {
        "rust" => 12,
        "empty" => 0,
        _ => 2,
    };
    (1..=count)
        .map(|n| {
            json!({
                "title": format!("Article {n} about {tag}"),
                "url": format!("{base}/{tag}-article-{n}/"),
            })
        })
        .collect()
}

impl Blog {
    /// Serves the blog double on a free loopback port.
    pub async fn start() -> Blog {
        use axum::extract::{Query, State};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let app = axum::Router::new()
            .route(
                "/wp-content/byTag.php",
                axum::routing::get(
                    |State(base): State<String>,
                     Query(query): Query<std::collections::HashMap<String, String>>| async move {
                        let tag = query.get("tag").cloned().unwrap_or_default();
                        axum::Json(blog_articles(&base, &tag))
                    },
                ),
            )
            .with_state(url.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Blog { url, task }
    }
}

/// Picks a free loopback port (bind, read, release).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Fails with the install command unless `tool` is on PATH.
pub fn require_tool(tool: &str, install: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; this test needs it. Install it with: {install} \
         (or run ./install.sh --test-deps)"
    );
}

/// Makes sure `dir/node_modules` exists, running `npm ci --ignore-scripts`
/// when it does not.
pub fn ensure_npm_modules(dir: &Path) {
    require_tool("node", "apt-get install -y nodejs npm");
    require_tool("npm", "apt-get install -y npm");
    if dir.join("node_modules").is_dir() {
        return;
    }
    let status = std::process::Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(dir)
        .status()
        .expect("npm runs");
    assert!(
        status.success(),
        "`npm ci --ignore-scripts` failed in {}",
        dir.display()
    );
}

/// Waits until `url` answers 200, for up to 20 s.
pub async fn wait_until_up(url: &str, process: &Process) {
    let http = http_client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{url} did not come up; output:\n{}",
                process.output().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Node add-on fixture (atlassian-connect-express 1.0.14 + its HipChat
/// layer 0.2.5), unmodified, on a free port, searching `blog`.
pub struct NodeAddon {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process.
    pub process: Process,
}

impl NodeAddon {
    /// Starts `node app.js` and waits for its descriptor.
    pub async fn start(blog: &Blog) -> NodeAddon {
        let dir = repo_root().join("tests/fixtures/node-addon");
        ensure_npm_modules(&dir);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg("app.js")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("AC_LOCAL_BASE_URL", &url)
            .env("SEARCH_HOST", &blog.url)
            .env("NODE_ENV", "development");
        let (process, _lines) = spawn("the Node add-on", command);
        wait_until_up(&format!("{url}/atlassian-connect.json"), &process).await;
        NodeAddon { url, process }
    }

    /// Its descriptor URL.
    pub fn descriptor_url(&self) -> String {
        format!("{}/atlassian-connect.json", self.url)
    }
}

/// Starts any command as a guarded process (for `connect serve`).
pub fn start_process(name: &str, command: Command) -> Process {
    spawn(name, command).0
}

pub mod addon;

/// Asks the host's token endpoint for a token with Basic `client:secret`.
pub async fn request_token(
    emulator: &Emulator,
    client: &str,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    let response = http_client()
        .post(emulator.at("/v2/oauth/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A granted access token, panicking otherwise.
pub async fn access_token(emulator: &Emulator, client: &str, secret: &str) -> String {
    let (status, body) = request_token(emulator, client, secret, "send_notification").await;
    assert_eq!(status, 200, "token refused: {body}");
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {body}"))
        .to_owned()
}

/// POSTs a notification body to room `room` with `token` as Bearer.
pub async fn notify(emulator: &Emulator, room: u64, token: &str, body: Value) -> reqwest::Response {
    http_client()
        .post(emulator.at(&format!("/v2/room/{room}/notification")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the notification endpoint answers")
}

/// `connect new -t hipchat blogsearch --yes --no-git` in `parent`, with the
/// development stage pointed at `blog` and `port`.
pub fn new_project(parent: &Path, blog: &Blog, port: u16) -> std::path::PathBuf {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect"))
        .args(["new", "-t", "hipchat", "blogsearch", "--yes", "--no-git"])
        .current_dir(parent)
        .env_remove("CI")
        .output()
        .expect("connect new runs");
    assert!(
        output.status.success(),
        "connect new failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = parent.join("blogsearch");
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path).expect("config.json");
    let mut config: Value = serde_json::from_str(&text).expect("config.json is JSON");
    let dev = &mut config["development"];
    dev["searchHost"] = json!(blog.url);
    dev["port"] = json!(port);
    dev["localBaseUrl"] = json!(format!("http://127.0.0.1:{port}"));
    std::fs::write(&config_path, config.to_string()).expect("config.json written");
    dir
}

/// `connect serve` on the project, up and serving its descriptor.
pub async fn serve(dir: &Path, port: u16) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
    command
        .args(["serve", "--dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .env_remove("NODE_ENV")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env("AC_LOCAL_BASE_URL", format!("http://127.0.0.1:{port}"));
    let process = start_process("connect serve", command);
    wait_until_up(
        &format!("http://127.0.0.1:{port}/atlassian-connect.json"),
        &process,
    )
    .await;
    process
}
