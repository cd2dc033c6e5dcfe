//! Test kit for `connect serve`: the real binary on a free port, a project
//! folder, the crate's HipChat host and a blog double as real HTTP servers
//! on loopback.
//! Every process and server is stopped on drop, even when a test fails.
#![allow(dead_code)]

pub mod blog;
pub mod double;
pub mod host;
pub mod installed;
pub mod process;
pub mod project;
pub mod signed;
pub mod sources;

pub use blog::{Blog, BlogMode};
pub use host::HipChat;
pub use installed::{ID, SECRET, installed, installed_searching};
pub use process::Serve;
pub use project::Project;

/// A reqwest client for talking to the servers under test.
pub fn client() -> reqwest::Client {
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("build a test HTTP client")
}

/// GETs `url` and parses its JSON body, whatever the status.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("a JSON body")
}
