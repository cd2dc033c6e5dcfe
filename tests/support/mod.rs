//! The one support module of the integration tests (`mod support;` in each
//! test crate): the `connect` processes, the servers they talk to (Redis,
//! PostgreSQL, HipChat and blog doubles, add-ons), certificates. Every
//! process started here is stopped when its guard drops, even when a test
//! fails. Each test crate uses only some of it.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod dev;
pub mod emulate;
pub mod pgbouncer;
pub mod postgres;
pub mod redis;
pub mod relay;
pub mod serve;
pub mod tls;
pub mod wire;

use std::path::{Path, PathBuf};

/// The `connect` binary under test.
pub fn connect_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_connect"))
}

/// The crate's root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// Like [`require_tool`], also looking in `places` (Debian keeps some
/// servers in /usr/sbin, off a user's PATH).
pub fn require_tool_at(tool: &str, places: &[&str], install: &str) {
    if places.iter().any(|p| Path::new(p).is_file()) {
        return;
    }
    require_tool(tool, install);
}

/// Makes sure `dir/node_modules` holds what `dir/package-lock.json` says,
/// running `npm ci --ignore-scripts` when it is missing or older than the
/// lock file.
pub fn ensure_npm_modules(dir: &Path) {
    require_tool("node", "apt-get install -y nodejs npm");
    require_tool("npm", "apt-get install -y npm");
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    let wanted = modified(dir.join("package-lock.json"));
    if installed.is_some() && installed >= wanted {
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
