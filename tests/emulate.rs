//! `connect emulate` through its control API and page, with a scripted
//! add-on double: install, delivery, inline answers, uninstall, live events.

mod support;

use serde_json::json;
use support::emulate::addon::ScriptedAddon;
use support::emulate::{Emulator, access_token, http_client, request_token};

#[tokio::test]
async fn prints_its_urls_and_serves_the_page_and_the_capabilities_document() {
    let emulator = Emulator::start(&[]).await;
    assert!(
        emulator.url.starts_with("http://127.0.0.1:"),
        "{}",
        emulator.url
    );
    assert_eq!(emulator.capabilities_url, emulator.at("/v2/capabilities"));

    let http = http_client();
    let page = http.get(&emulator.url).send().await.expect("the page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("id=\"messages\""), "{html}");
    for asset in [
        "/_emulator/assets/app.js",
        "/_emulator/assets/inspector.js",
        "/_emulator/assets/app.css",
    ] {
        let response = http.get(emulator.at(asset)).send().await.expect("an asset");
        assert_eq!(response.status(), 200, "{asset}");
    }

    let caps: serde_json::Value = http
        .get(&emulator.capabilities_url)
        .send()
        .await
        .expect("capabilities")
        .json()
        .await
        .expect("json");
    assert_eq!(caps["links"]["self"], emulator.capabilities_url);
    assert_eq!(
        caps["capabilities"]["oauth2Provider"]["tokenUrl"],
        emulator.at("/v2/oauth/token")
    );

    let (status, info) = emulator.control().get("").await;
    assert_eq!(status, 200);
    assert_eq!(info["capabilitiesUrl"], emulator.capabilities_url);
}

#[tokio::test]
async fn creates_the_rooms_named_on_the_command_line() {
    let emulator = Emulator::start(&["--room", "Ops", "--room", "Support"]).await;
    let control = emulator.control();
    let (_, rooms) = control.get("/rooms").await;
    assert_eq!(
        rooms,
        json!([{"id": 1, "name": "Ops"}, {"id": 2, "name": "Support"}])
    );
    let (status, created) = control.post("/rooms", json!({"name": "Later"})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], 3);
}

#[tokio::test]
async fn installs_an_addon_and_delivers_matching_messages_signed_with_jwt() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let room = control.first_room().await;
    let oauth_id = control.install(&addon.descriptor_url("good"), room).await;

    let installs = addon.installs();
    assert_eq!(installs.len(), 1);
    assert_eq!(installs[0]["capabilitiesUrl"], emulator.capabilities_url);
    assert_eq!(installs[0]["roomId"], room);
    assert_eq!(installs[0]["oauthSecret"].as_str().map(str::len), Some(40));

    let (_, listed) = control.get("/installs").await;
    assert_eq!(listed[0]["oauthId"], oauth_id);
    assert_eq!(listed[0]["key"], "com.example.scripted-good");

    // HipChat's `(?i)` flag: the pattern `(?i)^/ping` matches `/PING`.
    let (status, posted) = control
        .post(
            &format!("/rooms/{room}/messages"),
            json!({"message": "/PING now", "from": "Alice"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let delivery = &posted["deliveries"][0];
    assert_eq!(delivery["oauthId"], oauth_id);
    assert_eq!(delivery["status"], 200);
    assert_eq!(delivery["posted"], true, "{delivery}");
    assert_eq!(
        addon.webhooks()[0]["item"]["message"]["message"],
        "/PING now"
    );
    assert_eq!(
        addon.webhooks()[0]["item"]["message"]["from"]["name"],
        "Alice"
    );

    // The inline answer is in the room, as text, escaped for display.
    let (_, messages) = control.get(&format!("/rooms/{room}/messages")).await;
    let reply = messages
        .as_array()
        .and_then(|m| m.iter().find(|m| m["kind"] == "notification"))
        .cloned()
        .unwrap_or_else(|| panic!("no notification in {messages}"));
    assert_eq!(reply["sender"], "Scripted");
    assert_eq!(reply["color"], "purple");
    assert_eq!(reply["format"], "text");
    assert_eq!(reply["message"], "pong <script>x</script>");
    assert!(
        !reply["html"].as_str().unwrap_or("<").contains('<'),
        "{reply}"
    );

    // The inspector shows the delivery with its JWT decoded, and no secret.
    let (_, exchanges) = control.get(&format!("/exchanges?oauthId={oauth_id}")).await;
    let webhook = exchanges
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "webhook"))
        .cloned()
        .unwrap_or_else(|| panic!("no webhook exchange in {exchanges}"));
    assert_eq!(webhook["jwtClaims"]["iss"], oauth_id);
    assert_eq!(webhook["jwtClaims"]["context"]["room_id"], room);
    let secret = installs[0]["oauthSecret"].as_str().unwrap_or("none");
    assert!(
        !exchanges.to_string().contains(secret),
        "the inspector leaks the oauthSecret"
    );

    // A message no pattern matches goes to nobody.
    let (_, quiet) = control
        .post(
            &format!("/rooms/{room}/messages"),
            json!({"message": "hello"}),
        )
        .await;
    assert_eq!(quiet["deliveries"], json!([]));
    assert_eq!(addon.webhooks().len(), 1);
}

#[tokio::test]
async fn a_room_install_hears_only_its_room_and_a_global_one_hears_every_room() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    // Installing into an unknown room id creates that room, as HipChat's
    // ids are the user's to choose here.
    let in_room = control
        .install(&addon.descriptor_url("good"), 2589171)
        .await;
    let (_, rooms) = control.get("/rooms").await;
    assert!(
        rooms
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["id"] == 2589171)),
        "{rooms}"
    );
    let (status, global) = control
        .post(
            "/install",
            json!({"descriptorUrl": addon.descriptor_url("viewer")}),
        )
        .await;
    assert_eq!(status, 201, "{global}");
    assert_eq!(global["roomId"], serde_json::Value::Null);

    let reached = |posted: &serde_json::Value| -> Vec<String> {
        posted["deliveries"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|d| d["oauthId"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, in_its_room) = control
        .post("/rooms/2589171/messages", json!({"message": "/ping"}))
        .await;
    let mut expected = vec![
        in_room.clone(),
        global["oauthId"].as_str().unwrap_or("").to_owned(),
    ];
    let mut got = reached(&in_its_room);
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let (_, elsewhere) = control
        .post("/rooms/1/messages", json!({"message": "/ping"}))
        .await;
    assert_eq!(
        reached(&elsewhere),
        vec![global["oauthId"].as_str().unwrap_or("").to_owned()]
    );
}

#[tokio::test]
async fn uninstalling_revokes_the_credentials_then_tells_the_addon() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);
    access_token(&emulator, &client, &secret).await;

    let (status, gone) = control.delete(&format!("/installs/{oauth_id}")).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["status"], 204);
    let (_, installs) = control.get("/installs").await;
    assert_eq!(installs, json!([]));
    let (status, _) = request_token(&emulator, &client, &secret, "send_notification").await;
    assert_eq!(status, 401);

    let (_, exchanges) = control.get("/exchanges").await;
    let delete = exchanges
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "uninstall"))
        .cloned()
        .unwrap_or_else(|| panic!("no uninstall exchange in {exchanges}"));
    assert_eq!(delete["method"], "DELETE");
    assert_eq!(
        delete["url"],
        format!("{}/good/installable/{oauth_id}", addon.url)
    );

    let (status, again) = control.delete(&format!("/installs/{oauth_id}")).await;
    assert_eq!(status, 404, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(&oauth_id)
    );
}

#[tokio::test]
async fn control_api_mistakes_get_json_errors_that_say_how_to_fix_them() {
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let message =
        |body: &serde_json::Value| body["error"]["message"].as_str().unwrap_or("").to_owned();

    let (status, body) = control.get("/rooms/42/messages").await;
    assert_eq!(status, 404);
    assert!(message(&body).contains("GET /_emulator/rooms"), "{body}");

    let (status, body) = control.get("/rooms/general/messages").await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("not a number"), "{body}");

    let (status, body) = control
        .post("/rooms/1/messages", json!({"text": "hi"}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("message"), "{body}");

    let (status, body) = control
        .post("/install", json!({"descriptorURL": "x"}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("descriptorURL"), "{body}");

    let (status, body) = control
        .post("/rooms/1/messages", json!({"message": ""}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("empty"), "{body}");

    let (status, body) = control.get("/nothing-here").await;
    assert_eq!(status, 404);
    assert!(message(&body).contains("POST /_emulator/install"), "{body}");

    let response = http_client()
        .put(emulator.at("/_emulator/install"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert!(
        message(&body).contains("PUT is not a control API call"),
        "{body}"
    );

    let response = http_client()
        .post(emulator.at("/_emulator/install"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert!(
        message(&body).contains("Content-Type: application/json"),
        "{body}"
    );
}

#[test]
fn says_which_port_is_taken_and_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to occupy");
    let port = taken.local_addr().expect("an address").port().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect"))
        .args(["emulate", "--port", &port])
        .output()
        .expect("connect runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--port (0 picks a free one)"), "{stderr}");
}

#[test]
fn refuses_flags_that_cannot_work_with_a_usage_error() {
    for args in [
        vec!["emulate", "--messages-per-room", "0"],
        vec!["emulate", "--public-url", "ftp://example.com"],
        vec!["emulate", "--room", " "],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect"))
            .args(&args)
            .output()
            .expect("connect runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
    }
}
