//! Headless Chromium driven by playwright-core: the scripts in
//! tests/fixtures/browser, each printing one JSON line of what it saw.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{ensure_npm_modules, repo_root, require_tool};

/// Debian's Chromium, or `$CHROMIUM`; fails with the install command when
/// it is missing.
pub fn chromium() -> String {
    require_tool(
        "chromium",
        "apt-get install -y chromium (or ./install.sh --test-deps)",
    );
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Where screenshots go: `$CONNECT_TEST_ARTIFACTS` or the target's tmp dir.
pub fn artifacts_dir(name: &str) -> PathBuf {
    let dir = std::env::var_os("CONNECT_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name));
    std::fs::create_dir_all(&dir).expect("an artifacts directory");
    dir
}

/// Runs a driver script of tests/fixtures/browser with `options`.
pub async fn drive_script(script: &str, options: Value) -> Value {
    let dir = repo_root().join("tests/fixtures/browser");
    ensure_npm_modules(&dir);
    let run = tokio::process::Command::new("node")
        .arg(script)
        .arg(options.to_string())
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser run finished within 2 minutes")
        .expect("node runs the driver");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| {
            panic!("{script} reported nothing\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    assert!(
        output.status.success() && report["ok"] == true,
        "the browser run failed: {report:#}\nstderr:\n{stderr}"
    );
    report
}
