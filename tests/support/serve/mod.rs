//! Test kit for `connect serve`: the real binary on a free port, a project
//! folder, and HipChat and blog doubles as real HTTP servers on loopback.
//! Every process and server is stopped on drop, even when a test fails.
#![allow(dead_code)]

pub mod blog;
pub mod double;
pub mod hipchat;
pub mod process;
pub mod project;

pub use blog::{Blog, BlogMode};
pub use hipchat::{CapabilitiesMode, Hipchat};
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
