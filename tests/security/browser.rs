//! A hostile page in Chromium: after a DNS rebind it reaches our ports as
//! its own origin, and from another site it posts what a browser sends
//! without asking and frames the emulator. It can neither read nor change
//! anything.

use serde_json::{Value, json};

use crate::support::browser::{chromium, drive_script};
use crate::support::dev::{Dev, Project as Scaffold};
use crate::support::emulate::{Blog, Emulator, free_port, new_project, serve};

fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .expect("a URL with a port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_page_in_chromium_can_neither_read_nor_change_anything() {
    let chromium = chromium();
    let blog = Blog::start().await;
    let work = tempfile::tempdir().expect("a temp dir");
    let addon_port = free_port();
    let project = new_project(work.path(), &blog, addon_port);
    let _addon = serve(&project, addon_port).await;
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let descriptor = format!("http://127.0.0.1:{addon_port}/atlassian-connect.json");
    let id = control.install(&descriptor, 1).await;
    // Its "installed" notice first, so the room is quiet from here on.
    control
        .wait_for_notification(1, |m| m.to_string().contains("installed"))
        .await;
    let scaffold = Scaffold::new();
    let dev = tokio::task::spawn_blocking(move || {
        let dev = Dev::start(&scaffold.dir, &["--port", "0"], &[]);
        let port = dev.port();
        (dev, port, scaffold)
    })
    .await
    .expect("connect dev started");
    let (_dev, dev_port, _scaffold) = dev;
    let emulator_port = port_of(&emulator.url);
    let (_, before_installs) = control.get("/installs").await;
    let (_, before_messages) = control.get("/rooms/1/messages").await;
    let profile = tempfile::tempdir().expect("a browser profile");

    let report = drive_script(
        "attack.mjs",
        json!({
            "rebindHost": "rebind.test",
            "targets": [
                {
                    "name": "connect emulate",
                    "port": emulator_port,
                    "reads": ["/", "/_emulator/installs", format!("/_emulator/installs/{id}"), "/_emulator/exchanges", "/_emulator/rooms/1/messages"],
                    "writes": [
                        {"path": format!("/_emulator/installs/{id}/call"), "body": {"call": "auth.withToken"}},
                        {"path": "/_emulator/rooms/1/messages", "body": {"message": "/hascode pwned"}},
                        {"path": "/_emulator/install", "body": {"descriptorUrl": "http://127.0.0.1:1/internal", "roomId": 1}},
                        {"path": format!("/_emulator/installs/{id}"), "method": "DELETE"}
                    ]
                },
                {
                    "name": "connect serve",
                    "port": addon_port,
                    "reads": ["/atlassian-connect.json", "/healthz"],
                    "writes": [{"path": "/installable", "body": {"oauthId": "evil", "oauthSecret": "chosen", "capabilitiesUrl": "http://127.0.0.1:1/", "groupId": 1}}]
                },
                {
                    "name": "connect dev",
                    "port": dev_port,
                    "reads": ["/atlassian-connect.json"],
                    "writes": [{"path": "/installable", "body": {"oauthId": "evil", "oauthSecret": "chosen", "capabilitiesUrl": "http://127.0.0.1:1/", "groupId": 1}}]
                }
            ],
            "crossSite": {
                "origin": "http://evil.test:4321",
                "posts": [
                    {"url": format!("http://127.0.0.1:{emulator_port}/_emulator/rooms/1/messages"), "body": {"message": "/hascode from a form"}},
                    {"url": format!("http://127.0.0.1:{emulator_port}/_emulator/rooms"), "body": {"name": "Owned"}},
                    {"url": format!("http://127.0.0.1:{emulator_port}/_emulator/installs/{id}/revoke"), "body": {"x": 1}},
                    {"url": format!("http://localhost:{addon_port}/installable"), "body": {"oauthId": "evil", "oauthSecret": "chosen", "capabilitiesUrl": format!("http://127.0.0.1:{emulator_port}/v2/capabilities"), "groupId": 1}}
                ],
                "frame": emulator.url.clone()
            },
            "userDataDir": profile.path(),
            "chromium": chromium,
        }),
    )
    .await;

    // After the rebind: every read and every write was refused, and no
    // answer carried anything but the refusal.
    let targets = report["rebinding"].as_array().cloned().unwrap_or_default();
    assert_eq!(targets.len(), 3, "{report:#}");
    for target in &targets {
        for outcome in target["outcomes"].as_array().into_iter().flatten() {
            assert_eq!(outcome["status"], 403, "{}: {outcome:#}", target["name"]);
            let body = outcome["body"].as_str().unwrap_or("");
            assert!(body.contains("DNS rebinding"), "{body}");
            for secret in ["oauthSecret", "signed_request", "access_token", &id] {
                assert!(
                    !body.contains(secret),
                    "{} leaked {secret}: {body}",
                    target["name"]
                );
            }
        }
    }
    // From another site: the frame was refused, nothing was posted.
    let frame = &report["crossSite"];
    assert!(
        frame["frameRefusal"]
            .as_str()
            .is_some_and(|m| m.contains("frame-ancestors")),
        "the emulator's page was framed by another site: {frame:#}"
    );
    let framed = frame["framedText"].as_str().unwrap_or("");
    assert!(
        !framed.contains("Integrations"),
        "the emulator's page showed in the frame: {frame:#}"
    );
    let (_, installs) = control.get("/installs").await;
    let (_, messages) = control.get("/rooms/1/messages").await;
    let (_, rooms) = control.get("/rooms").await;
    assert_eq!(installs, before_installs, "an install changed");
    assert_eq!(messages, before_messages, "a message was posted");
    assert_eq!(
        rooms.as_array().map(Vec::len),
        Some(1),
        "a room was created: {rooms}"
    );
    // The installation still works: its credentials were not revoked.
    let (status, _) = control
        .post("/rooms/1/messages", json!({"message": "/hascode rust"}))
        .await;
    assert_eq!(status, 201);
    let answer: Value = control
        .wait_for_notification(1, |m| m.to_string().contains("rust"))
        .await;
    assert!(answer.to_string().contains("Article"), "{answer}");
}
