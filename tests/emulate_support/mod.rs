//! Shared by the `emulate*` tests: the `connect emulate` binary on a free
//! port, a blog double, the Node add-on fixture, our own add-on, and a
//! control API client. Every process started here is killed when its guard
//! drops, and its output is printed when the test is failing.
#![allow(dead_code)]

pub mod addon;
pub mod doubles;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

// Each test binary uses some of these; the rest would warn.
#[allow(unused_imports)]
pub use doubles::{Blog, NodeAddon, UiAddon, blog_articles, new_project, serve};
#[allow(unused_imports)]
pub use process::{Control, Emulator, Process, start_process};

/// The crate's root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
