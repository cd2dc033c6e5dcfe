//! The emulator's page in a real browser: Debian's headless Chromium, driven
//! by playwright-core (tests/fixtures/browser/drive.mjs), installs our own
//! add-on (`connect new` + `connect serve` on a blog double) from its
//! descriptor URL, types `/hascode rust` and sees the linked results arrive
//! live. The screenshot is kept as a test artifact.
//! Needs `chromium`, `node` and `npm` (CI installs them; this test fails
//! without them).

mod emulate_support;

use std::path::PathBuf;
use std::time::Duration;

use emulate_support::{
    Blog, Emulator, ensure_npm_modules, free_port, new_project, repo_root, require_tool, serve,
};
use serde_json::{Value, json};

/// Where screenshots go: `$CONNECT_TEST_ARTIFACTS` or the target's tmp dir.
fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("CONNECT_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulate_browser"));
    std::fs::create_dir_all(&dir).expect("an artifacts directory");
    dir
}

/// Runs drive.mjs with `options` and returns what it reported.
async fn drive(options: Value) -> Value {
    let dir = repo_root().join("tests/fixtures/browser");
    ensure_npm_modules(&dir);
    let run = tokio::process::Command::new("node")
        .arg("drive.mjs")
        .arg(options.to_string())
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser run finished within 2 minutes")
        .expect("node runs drive.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| {
            panic!("drive.mjs reported nothing\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    assert!(
        output.status.success() && report["ok"] == true,
        "the browser run failed: {report:#}\nstderr:\n{stderr}"
    );
    report
}

#[tokio::test]
async fn a_person_installs_an_addon_in_the_page_and_sees_linked_results_arrive_live() {
    require_tool(
        "chromium",
        "apt-get install -y chromium (or ./install.sh --test-deps)",
    );
    let blog = Blog::start().await;
    let work = tempfile::tempdir().expect("a temp dir");
    let port = free_port();
    let project = new_project(work.path(), &blog, port);
    let _addon = serve(&project, port).await;
    let emulator = Emulator::start(&[]).await;
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let screenshot = artifacts_dir().join("emulator-page.png");
    let _ = std::fs::remove_file(&screenshot);

    let report = drive(json!({
        "pageUrl": emulator.url,
        "descriptorUrl": format!("http://127.0.0.1:{port}/atlassian-connect.json"),
        "message": "/hascode rust",
        "screenshot": screenshot,
        "userDataDir": profile.path(),
        "chromium": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    }))
    .await;
    eprintln!("screenshot: {}", screenshot.display());

    assert!(
        report["installStatus"]
            .as_str()
            .unwrap_or("")
            .starts_with("Installed"),
        "{report:#}"
    );
    assert_eq!(report["messages"], json!(["/hascode rust"]), "{report:#}");
    // Under the typed message: the add-on it reached and its answer.
    let deliveries = report["deliveries"].as_array().cloned().unwrap_or_default();
    assert_eq!(deliveries.len(), 1, "{report:#}");
    assert!(
        deliveries[0]
            .as_str()
            .is_some_and(|d| d.starts_with("com.example.blogsearch: HTTP 2")),
        "{report:#}"
    );
    let results = report["notifications"]
        .as_array()
        .and_then(|list| {
            list.iter().find(|n| {
                n["links"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|a| a["text"] == "Article 1 about rust"))
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("no search results on the page: {report:#}"));
    let hrefs: Vec<&str> = results["links"]
        .as_array()
        .map(|l| l.iter().filter_map(|a| a["href"].as_str()).collect())
        .unwrap_or_default();
    for n in 1..=10 {
        let article = format!("{}/rust-article-{n}/", blog.url);
        assert!(
            hrefs.contains(&article.as_str()),
            "{article} not linked: {hrefs:?}"
        );
    }
    let tag_page = format!("{}/tag/rust/", blog.url);
    assert!(
        hrefs.contains(&tag_page.as_str()),
        "no link to all results: {hrefs:?}"
    );

    // The inspector showed the signed webhook with its claims decoded.
    // The page said "Installed (oauthId X)."; the claims name X as issuer.
    let oauth_id = report["installStatus"]
        .as_str()
        .and_then(|s| s.strip_prefix("Installed (oauthId "))
        .and_then(|s| s.strip_suffix(")."))
        .unwrap_or_else(|| panic!("no oauthId in {report:#}"))
        .to_owned();
    let claims = report["jwtClaims"].as_str().unwrap_or("");
    assert!(claims.contains(&oauth_id), "claims shown: {claims}");
    assert!(
        report["exchanges"].as_array().is_some_and(|e| e.len() >= 5),
        "{report:#}"
    );
    assert_eq!(report["consoleErrors"], json!([]), "the page logged errors");

    assert_eq!(report["uninstallStatus"], "Uninstalled.", "{report:#}");
    let (_, installs) = emulator.control().get("/installs").await;
    assert_eq!(
        installs,
        json!([]),
        "the page's Uninstall left the add-on installed"
    );

    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG"),
        "not a PNG: {}",
        screenshot.display()
    );
}
