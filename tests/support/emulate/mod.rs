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
pub use super::{ensure_npm_modules, free_port, repo_root, require_tool};
#[allow(unused_imports)]
pub use doubles::{
    Blog, NodeAddon, UiAddon, blog_articles, new_project, serve, serve_node_project,
};
#[allow(unused_imports)]
pub use process::{Control, Emulator, Process, start_process};

/// A reqwest client for loopback.
pub fn http_client() -> reqwest::Client {
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("a reqwest client")
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
