//! Every way the emulated HipChat says no, seen from outside: bad
//! credentials, scopes the descriptor did not declare, oversized or invalid
//! notifications, rate limits, and descriptors that cannot be installed.

mod support;

use serde_json::{Value, json};
use support::emulate::addon::ScriptedAddon;
use support::emulate::{Emulator, access_token, free_port, notify, request_token};

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or("").to_owned()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn refuses_tokens_to_bad_credentials_and_revoked_ones() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);

    let (status, body) =
        request_token(&emulator, &client, "not-the-secret", "send_notification").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["message"], "Invalid OAuth session");
    assert_eq!(body["error"]["type"], "Unauthorized");

    let (status, _) =
        request_token(&emulator, "no-such-client", &secret, "send_notification").await;
    assert_eq!(status, 401);

    let token = access_token(&emulator, &client, &secret).await;
    let (status, _) = control
        .post(&format!("/installs/{oauth_id}/revoke"), json!({}))
        .await;
    assert_eq!(status, 204);
    let (status, _) = request_token(&emulator, &client, &secret, "send_notification").await;
    assert_eq!(status, 401, "a revoked secret still gets tokens");
    let response = notify(&emulator, 1, &token, json!({"message": "hi"})).await;
    assert_eq!(
        response.status(),
        401,
        "a revoked install's token still works"
    );

    let response = notify(&emulator, 1, "made-up-token", json!({"message": "hi"})).await;
    assert_eq!(response.status(), 401);
    let response = support::emulate::http_client()
        .post(emulator.at("/v2/room/1/notification"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("an error envelope");
    assert!(message(&body).contains("auth_token"), "{body}");
}

#[tokio::test]
async fn refuses_scopes_the_descriptor_did_not_declare() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);

    let (status, body) = request_token(&emulator, &client, &secret, "admin_room").await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("admin_room"), "{body}");
    assert!(message(&body).contains("send_notification"), "{body}");

    // An add-on that declared only view_room gets a token, but not the right
    // to notify.
    let viewer = control.install(&addon.descriptor_url("viewer"), 1).await;
    let (client, secret) = addon.credentials(&viewer);
    let (status, body) = request_token(&emulator, &client, &secret, "view_room").await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    let response = notify(&emulator, 1, &token, json!({"message": "hi"})).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("an error envelope");
    assert!(message(&body).contains("send_notification"), "{body}");
}

#[tokio::test]
async fn refuses_oversized_and_malformed_notifications() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);
    let token = access_token(&emulator, &client, &secret).await;

    let longest = "x".repeat(10_000);
    let response = notify(
        &emulator,
        1,
        &token,
        json!({"message": longest, "message_format": "text"}),
    )
    .await;
    assert_eq!(response.status(), 204, "10,000 characters are allowed");
    assert!(header(&response, "x-ratelimit-remaining").is_some());

    let too_long = "x".repeat(10_001);
    for (body, names) in [
        (json!({"message": too_long}), "10000"),
        (json!({"message": ""}), "message"),
        (json!({"message": "hi", "color": "blue"}), "color"),
        (
            json!({"message": "hi", "message_format": "markdown"}),
            "message_format",
        ),
    ] {
        let response = notify(&emulator, 1, &token, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.expect("an error envelope");
        assert!(message(&answer).contains(names), "{body} -> {answer}");
    }

    let response = notify(&emulator, 99, &token, json!({"message": "hi"})).await;
    assert!(
        matches!(response.status().as_u16(), 403 | 404),
        "{}",
        response.status()
    );

    // What a user types is held to the same limit.
    let (status, body) = control
        .post("/rooms/1/messages", json!({"message": "y".repeat(10_001)}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("10000"), "{body}");

    // Only the 10,000-character notification made it to the room.
    let (_, messages) = control.get("/rooms/1/messages").await;
    let posted: Vec<_> = messages
        .as_array()
        .map(|m| m.iter().filter(|m| m["kind"] == "notification").collect())
        .unwrap_or_default();
    assert_eq!(posted.len(), 1, "{messages}");
}

#[tokio::test]
async fn answers_429_with_retry_after_over_hipchats_limits() {
    let emulator =
        Emulator::start(&["--messages-per-room", "2", "--requests-per-token", "4"]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);
    let token = access_token(&emulator, &client, &secret).await;

    for n in 1..=2 {
        let response = notify(&emulator, 1, &token, json!({"message": format!("n{n}")})).await;
        assert_eq!(response.status(), 204, "notification {n}");
        assert_eq!(
            header(&response, "x-floodcontrol-limit").as_deref(),
            Some("2")
        );
    }
    let flooded = notify(&emulator, 1, &token, json!({"message": "n3"})).await;
    assert_eq!(flooded.status(), 429);
    assert!(
        header(&flooded, "retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
    );
    assert_eq!(
        header(&flooded, "x-floodcontrol-remaining").as_deref(),
        Some("0")
    );

    // The fourth call is still flooded and uses the token's last request;
    // the fifth is over the token's own limit.
    let fourth = notify(&emulator, 1, &token, json!({"message": "n4"})).await;
    assert_eq!(fourth.status(), 429);
    let over = notify(&emulator, 1, &token, json!({"message": "n5"})).await;
    assert_eq!(over.status(), 429);
    assert_eq!(header(&over, "x-ratelimit-limit").as_deref(), Some("4"));
    assert_eq!(header(&over, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(header(&over, "x-ratelimit-reset").is_some());
    assert!(header(&over, "retry-after").is_some());
    let body: Value = over.json().await.expect("an error envelope");
    assert_eq!(body["error"]["code"], 429);
}

#[tokio::test]
async fn the_control_api_can_force_the_next_calls_to_be_rate_limited() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let oauth_id = control.install(&addon.descriptor_url("good"), 1).await;
    let (client, secret) = addon.credentials(&oauth_id);
    let token = access_token(&emulator, &client, &secret).await;

    let (status, _) = control.post("/rate-limit", json!({"next": 1})).await;
    assert_eq!(status, 204);
    let limited = notify(&emulator, 1, &token, json!({"message": "first"})).await;
    assert_eq!(limited.status(), 429);
    assert!(header(&limited, "retry-after").is_some());
    let fine = notify(&emulator, 1, &token, json!({"message": "second"})).await;
    assert_eq!(fine.status(), 204);
}

#[tokio::test]
async fn explains_why_a_descriptor_cannot_be_installed() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    let closed = format!("http://127.0.0.1:{}/atlassian-connect.json", free_port());
    let cases = [
        (addon.descriptor_url("missing"), 502, "404"),
        (addon.descriptor_url("notjson"), 422, "JSON"),
        (addon.descriptor_url("nokey"), 422, "key"),
        (addon.descriptor_url("badpattern"), 422, "pattern"),
        (addon.descriptor_url("refuses"), 502, "500"),
        (closed, 502, "cannot fetch"),
        (
            "ftp://example.com/atlassian-connect.json".to_owned(),
            400,
            "http",
        ),
        ("atlassian-connect.json".to_owned(), 400, "absolute"),
    ];
    for (url, status, names) in cases {
        let (got, body) = control
            .post("/install", json!({"descriptorUrl": url, "roomId": 1}))
            .await;
        assert_eq!(got, status, "{url}: {body}");
        assert!(message(&body).contains(names), "{url}: {body}");
    }
    let (_, installs) = control.get("/installs").await;
    assert_eq!(installs, json!([]), "a failed install left a record");

    control.install(&addon.descriptor_url("good"), 1).await;
    let (status, body) = control
        .post(
            "/install",
            json!({"descriptorUrl": addon.descriptor_url("good"), "roomId": 1}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(message(&body).contains("uninstall it first"), "{body}");
}
