//! Our own add-on end to end in the emulator: a project made by
//! `connect new`, served by `connect serve` against a blog double, installed
//! and messaged through the control API, as a CI job would.

mod support;

use serde_json::json;
use support::emulate::{Blog, Emulator, free_port, new_project, serve};

#[tokio::test]
async fn hosts_our_own_addon_from_connect_new_and_connect_serve_end_to_end() {
    let blog = Blog::start().await;
    let work = tempfile::tempdir().expect("a temp dir");
    let port = free_port();
    let project = new_project(work.path(), &blog, port);
    let _addon = serve(&project, port).await;
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let room = control.first_room().await;

    let descriptor = format!("http://127.0.0.1:{port}/atlassian-connect.json");
    let oauth_id = control.install(&descriptor, room).await;
    let (_, installs) = control.get("/installs").await;
    assert_eq!(installs[0]["key"], "com.example.blogsearch", "{installs}");

    let (status, posted) = control
        .post(
            &format!("/rooms/{room}/messages"),
            json!({"message": "/hascode rust"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let delivery = &posted["deliveries"][0];
    assert_eq!(delivery["oauthId"], oauth_id);
    assert!(
        delivery["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s)),
        "the add-on refused the webhook: {delivery}"
    );

    let reply = control
        .wait_for_notification(room, |m| {
            m["html"]
                .as_str()
                .is_some_and(|h| h.contains("rust-article-1"))
        })
        .await;
    assert_eq!(reply["oauthId"], oauth_id);
    let html = reply["html"].as_str().unwrap_or_default();
    // The first 10 of 12 hits, then a link to the blog's tag page for all.
    for n in 1..=10 {
        assert!(
            html.contains(&format!("{}/rust-article-{n}/", blog.url)),
            "hit {n} missing: {html}"
        );
    }
    assert!(!html.contains("rust-article-11"), "{html}");
    assert!(html.contains(&format!("{}/tag/rust/", blog.url)), "{html}");

    let (status, gone) = control.delete(&format!("/installs/{oauth_id}")).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["status"], 204, "{gone}");
}

#[tokio::test]
async fn our_addon_refuses_an_install_from_a_host_whose_capabilities_lie() {
    let blog = Blog::start().await;
    let work = tempfile::tempdir().expect("a temp dir");
    let port = free_port();
    let project = new_project(work.path(), &blog, port);
    let _addon = serve(&project, port).await;
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let descriptor = format!("http://127.0.0.1:{port}/atlassian-connect.json");

    for fault in [
        json!({"fault": "wrongSelf"}),
        json!({"fault": "notJson"}),
        json!({"fault": "status", "status": 503}),
    ] {
        let (status, _) = control.post("/faults/capabilities", fault.clone()).await;
        assert_eq!(status, 204);
        let (status, body) = control
            .post(
                "/install",
                json!({"descriptorUrl": descriptor, "roomId": 1}),
            )
            .await;
        assert_eq!(status, 502, "{fault}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("refused the install"),
            "{fault}: {message}"
        );
    }
    let (_, installs) = control.get("/installs").await;
    assert_eq!(installs, json!([]));

    let (status, _) = control
        .post("/faults/capabilities", json!({"fault": null}))
        .await;
    assert_eq!(status, 204);
    control.install(&descriptor, 1).await;
}
