//! The emulator's page in a real browser: Debian's headless Chromium, driven
//! by playwright-core (tests/fixtures/browser/drive.mjs), installs our own
//! add-on (`connect new` + `connect serve` on a blog double) from its
//! descriptor URL, types `/hascode rust` and sees the linked results arrive
//! live. The screenshot is kept as a test artifact.
//! Needs `chromium`, `node` and `npm` (CI installs them; this test fails
//! without them).

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::browser::drive_script;
use support::emulate::{Blog, Emulator, UiAddon, free_port, new_project, require_tool, serve};

/// Runs drive.mjs with `options` and returns what it reported.
async fn drive(options: Value) -> Value {
    drive_script("drive.mjs", options).await
}

fn artifacts_dir() -> PathBuf {
    support::browser::artifacts_dir("emulate_browser")
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

/// The other half of HipChat Connect, in a browser that cannot reach
/// hipchat.com, on an add-on written against atlassian-connect-express-
/// hipchat 0.3.x that loads the API from //www.hipchat.com: glance, sidebar
/// and its API calls, the glance push, HipChat.dialog.open from the
/// sidebar, the dialog from the input action and its buttons, the card, a
/// message action, the configuration page, the external page (which takes
/// the API from ?xdmhost=). Screenshots of each are kept as artifacts.
#[tokio::test]
async fn an_addons_glance_sidebar_dialog_actions_and_pages_work_in_a_browser_without_hipchat() {
    require_tool(
        "chromium",
        "apt-get install -y chromium (or ./install.sh --test-deps)",
    );
    let addon = UiAddon::start().await;
    let emulator = Emulator::start(&[]).await;
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let shots = artifacts_dir().join("ui");
    std::fs::create_dir_all(&shots).expect("a screenshot directory");
    let report = drive_script(
        "drive-ui.mjs",
        json!({
            "pageUrl": emulator.url,
            "descriptorUrl": addon.descriptor_url(),
            "shots": shots,
            "userDataDir": profile.path(),
            "chromium": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        }),
    )
    .await;
    eprintln!("screenshots: {}", shots.display());

    assert_eq!(
        report["hipchatRequests"],
        json!([]),
        "nothing may need hipchat.com: {report:#}"
    );
    assert_eq!(report["glanceText"], "3 open items", "{report:#}");
    assert_eq!(report["glanceLozenge"], "NEW", "{report:#}");
    assert_eq!(report["apiStatus"], "HipChat API ready", "{report:#}");
    assert_eq!(report["identity"]["room"], "1", "{report:#}");
    assert_eq!(report["identity"]["user"], "1", "{report:#}");
    assert_eq!(report["roomDetails"]["err"], Value::Null, "{report:#}");
    assert_eq!(report["roomDetails"]["data"]["id"], 1, "{report:#}");
    assert_eq!(
        report["roomDetails"]["data"]["name"], "Development",
        "{report:#}"
    );
    let members = report["participants"]["data"]["members"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(members.len(), 2, "{report:#}");
    assert_eq!(
        report["currentUser"]["data"]["name"], "Local User",
        "{report:#}"
    );
    assert_eq!(
        report["currentUser"]["data"]["is_admin"], true,
        "{report:#}"
    );
    // The token from auth.withToken, checked by the add-on's own library.
    assert_eq!(report["token"]["data"]["roomId"], 1, "{report:#}");
    assert_eq!(report["token"]["data"]["userId"], 1, "{report:#}");
    assert_eq!(report["pushed"]["data"]["status"], 204, "{report:#}");
    assert_eq!(report["pushedLabel"], "Pushed", "{report:#}");
    assert_eq!(
        report["dialogParameters"],
        json!({"from": "sidebar"}),
        "HipChat.dialog.open's parameters: {report:#}"
    );
    assert_eq!(report["dialogTitle"], "Fixture Dialog", "{report:#}");
    assert_eq!(report["actionPayload"], json!({}), "{report:#}");
    assert_eq!(
        report["stillOpen"], true,
        "a page answering false keeps the dialog open"
    );
    assert_eq!(
        report["card"]["title"], "Hello from the dialog",
        "{report:#}"
    );
    assert_eq!(
        report["card"]["description"], "A card from the fixture",
        "{report:#}"
    );
    assert!(
        report["quoted"]
            .as_str()
            .is_some_and(|q| q.contains("a card from the fixture")),
        "{report:#}"
    );
    assert_eq!(report["configTitle"], "Configure UI Fixture", "{report:#}");
    assert_eq!(report["configRoom"], "1", "{report:#}");
    assert_eq!(report["configStatus"], "Saved: weekly digest", "{report:#}");
    assert_eq!(report["external"]["room"], "1", "{report:#}");
    // The external page took the API from ?xdmhost= and reached its opener.
    assert_eq!(
        report["external"]["apiStatus"], "HipChat API ready",
        "{report:#}"
    );
    assert_eq!(report["external"]["userName"], "Local User", "{report:#}");
    assert_eq!(
        report["pageErrors"],
        json!([]),
        "the emulator's page threw: {report:#}"
    );
    assert_eq!(
        report["addonErrors"],
        json!([]),
        "the add-on's pages logged errors: {report:#}"
    );

    // What the page did went through the emulator and is in the inspector.
    let (_, exchanges) = emulator.control().get("/exchanges").await;
    let kinds: Vec<&str> = exchanges
        .as_array()
        .map(|list| list.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    for kind in ["page", "glance", "notification"] {
        assert!(kinds.contains(&kind), "no {kind} exchange in {kinds:?}");
    }
    for name in ["sidebar", "dialog", "card", "config"] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name}.png is not a PNG");
    }
}
