//! The emulator's other half through `connect emulate` itself: signed URLs
//! of add-on pages and their forwarding origins (HipChat's script swapped,
//! links kept on the origin, exchanges recorded), the JavaScript API's host
//! calls, glances, users, participants, topics and the inspector's clear.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use connect::hipchat::jwt::{self, VerifyOptions};
use serde_json::json;
use support::emulate::addon::ScriptedAddon;
use support::emulate::{Emulator, http_client, request_token};

/// A client that reaches `host` (a `*.localhost` name) at the emulator's
/// address, as a browser does by itself.
fn browser(emulator: &Emulator, host: &str) -> reqwest::Client {
    let addr: SocketAddr = emulator
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the emulator's address");
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, addr)
        .build()
        .expect("a client")
}

async fn setup(variant: &str) -> (Emulator, ScriptedAddon, String) {
    let addon = ScriptedAddon::start().await;
    let emulator = Emulator::start(&[]).await;
    let oauth_id = emulator
        .control()
        .install(&addon.descriptor_url(variant), 1)
        .await;
    (emulator, addon, oauth_id)
}

#[tokio::test]
async fn a_modules_page_is_signed_and_served_through_a_forwarding_origin() {
    let (emulator, addon, oauth_id) = setup("ui").await;
    let control = emulator.control();
    let (status, signed) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.sidebar/url"),
            json!({"userId": 2, "theme": "dark"}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let url = url::Url::parse(signed["url"].as_str().expect("a url")).expect("a URL");
    let host = url.host_str().expect("a host").to_owned();
    assert_eq!(host, "com-example-scripted-ui.localhost", "{signed}");
    assert_eq!(url.path(), "/ui/page");
    assert!(
        signed["directUrl"]
            .as_str()
            .is_some_and(|d| d.starts_with(&format!("{}/ui/page?", addon.url))),
        "{signed}"
    );
    let params: std::collections::HashMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(params["theme"], "dark");
    assert_eq!(params["xdmhost"], emulator.url.trim_end_matches('/'));
    let (_, secret) = addon.credentials(&oauth_id);
    let claims = jwt::verify(
        &params["signed_request"],
        secret.as_bytes(),
        &VerifyOptions::now(Duration::from_secs(900)),
    )
    .expect("signed with the install's secret")
    .claims;
    assert_eq!(claims.sub.as_deref(), Some("2"));
    assert_eq!(signed["kind"], "webPanel");

    // Through the forwarding origin: HipChat's script becomes the
    // emulator's, the add-on's own absolute URLs stay on the origin.
    let client = browser(&emulator, &host);
    let page = client.get(url.as_str()).send().await.expect("the page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("HTML");
    let origin = signed["origin"].as_str().expect("an origin");
    assert!(
        html.contains(&format!(
            r#"<script src="{origin}/atlassian-connect/all.js"></script>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"src="{origin}/ui/addon.js""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"action="{origin}/ui/save""#)),
        "{html}"
    );
    assert!(!html.contains("hipchat.com"), "{html}");

    let script = client
        .get(format!("{origin}/atlassian-connect/all.js"))
        .send()
        .await
        .expect("the script");
    assert_eq!(script.status(), 200);
    assert!(
        script
            .text()
            .await
            .expect("text")
            .contains("window.HipChat = api")
    );

    let redirect = client
        .get(format!("{origin}/ui/elsewhere"))
        .send()
        .await
        .expect("a redirect");
    assert_eq!(redirect.status(), 302);
    assert_eq!(
        redirect.headers()["location"],
        format!("{origin}/ui/page?from=redirect").as_str()
    );

    let (_, exchanges) = control.get(&format!("/exchanges?oauthId={oauth_id}")).await;
    let page_exchange = exchanges
        .as_array()
        .and_then(|list| {
            list.iter().find(|e| {
                e["kind"] == "page" && e["url"].as_str().is_some_and(|u| u.contains("/ui/page?"))
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("no page exchange: {exchanges:#}"));
    assert_eq!(page_exchange["status"], 200);
    assert!(
        page_exchange["url"]
            .as_str()
            .is_some_and(|u| u.contains("signed_request=%3Credacted%3E")),
        "{page_exchange:#}"
    );
    assert_eq!(page_exchange["jwtClaims"]["iss"], json!(oauth_id));
    assert!(
        page_exchange["note"]
            .as_str()
            .is_some_and(|n| n.contains(origin)),
        "{page_exchange:#}"
    );
}

#[tokio::test]
async fn forwarding_fails_clearly_for_unknown_names_and_add_ons_that_are_down() {
    let (emulator, addon, oauth_id) = setup("ui").await;
    let control = emulator.control();
    let client = browser(&emulator, "nobody.localhost");
    let port = url::Url::parse(&emulator.url)
        .expect("a URL")
        .port()
        .expect("a port");
    let unknown = client
        .get(format!("http://nobody.localhost:{port}/x"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown
            .text()
            .await
            .expect("text")
            .contains("Open the add-on again")
    );

    let (_, signed) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.dialog/url"),
            json!({}),
        )
        .await;
    let url = signed["url"].as_str().expect("a url").to_owned();
    let host = url::Url::parse(&url)
        .expect("a URL")
        .host_str()
        .expect("a host")
        .to_owned();
    drop(addon);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let down = browser(&emulator, &host)
        .get(&url)
        .send()
        .await
        .expect("an answer");
    assert_eq!(down.status(), 502);
    let text = down.text().await.expect("text");
    assert!(
        text.contains("does not answer") && text.contains("Is the add-on running?"),
        "{text}"
    );
    let (_, installs) = control.get("/installs").await;
    assert_eq!(installs[0]["health"]["up"], false, "{installs:#}");
}

#[tokio::test]
async fn module_urls_name_what_is_wrong() {
    let (emulator, _addon, oauth_id) = setup("ui").await;
    let control = emulator.control();
    let (status, body) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.nothing/url"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(
            |m| m.contains("configurable, ui.glance, ui.sidebar, ui.dialog, ui.action")
        ),
        "{body}"
    );
    let (status, body) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.action/url"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is an action")),
        "{body}"
    );
    let (status, body) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.sidebar/url"),
            json!({"roomId": 2}),
        )
        .await;
    assert_eq!(status, 400, "a room install seen from another room: {body}");
    let (status, _) = control
        .post("/installs/nobody/modules/ui.sidebar/url", json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, body) = control
        .post(
            &format!("/installs/{oauth_id}/modules/ui.sidebar/url"),
            json!({"userId": 77}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_javascript_apis_host_calls_honour_the_view_room_scope() {
    let (emulator, addon, oauth_id) = setup("ui").await;
    let control = emulator.control();
    let (status, token) = control
        .post(
            &format!("/installs/{oauth_id}/call"),
            json!({"call": "auth.withToken", "userId": 3}),
        )
        .await;
    assert_eq!(status, 200, "{token}");
    let (_, secret) = addon.credentials(&oauth_id);
    let claims = jwt::verify(
        token["result"].as_str().expect("a token"),
        secret.as_bytes(),
        &VerifyOptions::now(Duration::from_secs(900)),
    )
    .expect("a valid JWT")
    .claims;
    assert_eq!(claims.sub.as_deref(), Some("3"));
    assert_eq!(claims.context.and_then(|c| c.room_id), Some(1));

    let (_, refused) = control
        .post(
            &format!("/installs/{oauth_id}/call"),
            json!({"call": "room.getRoomDetails"}),
        )
        .await;
    assert_eq!(
        refused["error"],
        "Error executing API method - insufficient scopes, needed view_room have send_notification"
    );

    let viewer = emulator
        .control()
        .install(&addon.descriptor_url("uiviewer"), 1)
        .await;
    let (_, details) = control
        .post(
            &format!("/installs/{viewer}/call"),
            json!({"call": "room.getRoomDetails"}),
        )
        .await;
    assert_eq!(details["result"]["id"], 1, "{details}");
    assert_eq!(details["result"]["privacy"], "public");
    let (_, people) = control
        .post(
            &format!("/installs/{viewer}/call"),
            json!({"call": "room.getParticipants"}),
        )
        .await;
    let members: Vec<&str> = people["result"]["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|u| u["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(members, vec!["Local User", "Room Member"], "{people}");
    assert_eq!(people["result"]["guests"], json!([]));
    let (_, me) = control
        .post(
            &format!("/installs/{viewer}/call"),
            json!({"call": "user.getCurrentUser", "userId": 3}),
        )
        .await;
    assert_eq!(me["result"]["is_guest"], true, "{me}");
    assert_eq!(me["result"]["mention_name"], "Guest");
    let (status, body) = control
        .post(
            &format!("/installs/{viewer}/call"),
            json!({"call": "room.explode"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn glances_are_queried_by_the_emulator_or_taken_from_pushes() {
    let (emulator, addon, oauth_id) = setup("uiviewer").await;
    let control = emulator.control();
    let (status, glances) = control
        .get(&format!("/installs/{oauth_id}/glances?userId=2"))
        .await;
    assert_eq!(status, 200, "{glances}");
    assert_eq!(glances[0]["key"], "ui.glance");
    assert_eq!(glances[0]["source"], "query");
    assert_eq!(glances[0]["content"]["labelHtml"], "<b>2</b> open");
    assert_eq!(glances[0]["content"]["status"]["value"]["label"], "NEW");
    let (_, pushed) = control.get("/glances?roomId=1").await;
    assert_eq!(pushed, json!([]));

    let (id, secret) = addon.credentials(&oauth_id);
    let (status, granted) = request_token(&emulator, &id, &secret, "view_room").await;
    assert_eq!(status, 200, "{granted}");
    let token = granted["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let push = http_client()
        .post(emulator.at("/v2/addon/ui/room/1"))
        .bearer_auth(&token)
        .json(&json!({"glance": [{"key": "ui.glance", "content": {"label": {"type": "html", "value": "<em>pushed</em>"}}}]}))
        .send()
        .await
        .expect("a push");
    assert_eq!(push.status(), 204);
    let (_, pushed) = control.get("/glances?roomId=1&userId=1").await;
    assert_eq!(
        pushed[0]["content"]["labelHtml"], "<em>pushed</em>",
        "{pushed}"
    );
    assert_eq!(pushed[0]["scope"], json!({"kind": "room", "id": 1}));
    let (_, glances) = control.get(&format!("/installs/{oauth_id}/glances")).await;
    assert_eq!(glances[0]["source"], "push");
}

#[tokio::test]
async fn users_enter_and_leave_rooms_and_set_topics_through_the_control_api() {
    let (emulator, addon, _oauth_id) = setup("good").await;
    let control = emulator.control();
    let (_, users) = control.get("/users").await;
    let names: Vec<&str> = users
        .as_array()
        .map(|u| u.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["Local User", "Room Member", "Visiting Guest"]);
    assert_eq!(users[0]["isAdmin"], true);
    assert_eq!(users[2]["isGuest"], true);

    let (status, entered) = control
        .post("/rooms/1/participants", json!({"userId": 3}))
        .await;
    assert_eq!(status, 200, "{entered}");
    assert_eq!(
        entered["deliveries"],
        json!([]),
        "the good add-on has no room_enter webhook"
    );
    let (_, room) = control.get("/rooms/1").await;
    let ids: Vec<u64> = room["participants"]
        .as_array()
        .map(|p| p.iter().filter_map(|u| u["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![1, 2, 3]);
    let (status, _) = control.delete("/rooms/1/participants/3").await;
    assert_eq!(status, 200);
    let (status, body) = control
        .post("/rooms/1/participants", json!({"userId": 99}))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = control
        .put("/rooms/1/topic", json!({"topic": "Ship it", "userId": 2}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, room) = control.get("/rooms/1").await;
    assert_eq!(room["topic"], "Ship it");
    let (status, body) = control
        .put("/rooms/1/topic", json!({"topic": "x".repeat(251)}))
        .await;
    assert_eq!(status, 400, "{body}");

    // Messages may be sent as any user; what the add-ons made of them
    // survives a reload of the history.
    let (status, sent) = control
        .post(
            "/rooms/1/messages",
            json!({"message": "/ping", "userId": 2}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["message"]["sender"], "Room Member");
    assert_eq!(addon.webhooks()[0]["item"]["message"]["from"]["id"], 2);
    let (_, history) = control.get("/rooms/1/messages?kind=message").await;
    assert_eq!(history[0]["deliveries"][0]["status"], 200, "{history:#}");
    let (status, body) = control
        .post(
            "/rooms/1/messages",
            json!({"message": "x", "userId": 1, "from": "Someone"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = control.delete("/exchanges").await;
    assert_eq!(status, 204);
    let (_, exchanges) = control.get("/exchanges").await;
    assert_eq!(exchanges, json!([]));
}

#[tokio::test]
async fn the_page_and_hipchats_script_are_served() {
    let emulator = Emulator::start(&[]).await;
    for (path, needle) in [
        ("/atlassian-connect/all.js", "window.HipChat = api"),
        ("/atlassian-connect/all-debug.js", "event_query"),
        ("/atlassian-connect/all.css", "aui-lozenge"),
        ("/_emulator/assets/host.js", "dialog-button-click"),
    ] {
        let response = http_client()
            .get(emulator.at(path))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200, "{path}");
        if path.starts_with("/atlassian-connect/") {
            assert_eq!(
                response.headers()["access-control-allow-origin"],
                "*",
                "{path}"
            );
        }
        let text = response.text().await.expect("text");
        assert!(text.contains(needle), "{path}");
    }
    let missing = http_client()
        .get(emulator.at("/atlassian-connect/other.js"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(missing.status(), 404);
}
