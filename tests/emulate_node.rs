//! Fidelity against code nobody here wrote: an add-on built on the 2015
//! Node libraries (atlassian-connect-express 1.0.14 and
//! atlassian-connect-express-hipchat 0.2.5, tests/fixtures/node-addon),
//! run unmodified, installs into the emulator and answers `/hascode rust`.
//! Needs `node` and `npm` (CI installs them; this test fails without them).

mod support;

use serde_json::json;
use support::emulate::{Blog, Emulator, NodeAddon};

#[tokio::test]
async fn an_addon_written_with_the_2015_node_libraries_gets_its_reply_into_the_room() {
    let blog = Blog::start().await;
    let addon = NodeAddon::start(&blog).await;
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let room = control.first_room().await;

    // The install runs the library's own flow: capabilities (links.self
    // checked), a token with the add-on's credentials, then the template's
    // "installed" notice through the REST API.
    let oauth_id = control.install(&addon.descriptor_url(), room).await;
    control
        .wait_for_notification(room, |m| {
            m["message"] == "The HasCode (Node) add-on has been installed in this room"
        })
        .await;

    let (status, posted) = control
        .post(
            &format!("/rooms/{room}/messages"),
            json!({"message": "/hascode rust"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let delivery = &posted["deliveries"][0];
    assert_eq!(delivery["oauthId"], oauth_id);
    // The library verified our JWT: a bad one gets 400/401 from it.
    assert_eq!(delivery["status"], 204, "{delivery}");

    let reply = control
        .wait_for_notification(room, |m| {
            m["message"]
                .as_str()
                .is_some_and(|s| s.contains("tagged <b>rust</b>"))
        })
        .await;
    assert_eq!(reply["sender"], "HasCode");
    assert_eq!(reply["color"], "green");
    assert_eq!(reply["format"], "html");
    assert_eq!(reply["oauthId"], oauth_id);
    let html = reply["html"].as_str().unwrap_or_default();
    assert!(html.contains("Found 12 articles"), "{html}");
    // The add-on shows its first 10 hits, each a link into the blog.
    assert_eq!(html.matches("<a ").count(), 10, "{html}");
    assert!(
        html.contains(&format!("href=\"{}/rust-article-1/\"", blog.url)),
        "{html}"
    );

    // Every step of the exchange was the library's own doing, and recorded
    // (capabilities fetches carry no credentials, so no oauthId filter).
    let (_, exchanges) = control.get("/exchanges").await;
    let kinds: Vec<String> = exchanges
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|e| e["status"].as_u64().is_some_and(|s| s < 300))
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    for kind in [
        "install",
        "capabilities",
        "token",
        "webhook",
        "notification",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no successful {kind} exchange in {kinds:?}"
        );
    }

    // Uninstall reaches the library's DELETE handler.
    let (status, gone) = control.delete(&format!("/installs/{oauth_id}")).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["status"], 204, "{gone}");
}
