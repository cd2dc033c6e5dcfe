//! What add-ons call: capabilities, tokens, notifications, limits and the
//! room API.

use std::time::Duration;

use connect::hipchat::host::{
    Author, CapabilitiesFault, HostOptions, InstallError, RateLimits, User,
};
use connect::hipchat::notification::MessageFormat;
use connect::hipchat::token::basic_authorization;
use serde_json::{Value, json};

use super::addon::{self, Behaviour, Reply};
use super::{access_token, client, installed, notify, start_host, token};

#[tokio::test]
async fn serves_a_capabilities_document_whose_self_link_is_its_url() {
    let host = start_host(HostOptions::default()).await;
    let doc: Value = client()
        .get(host.capabilities_url())
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["links"]["self"], json!(host.capabilities_url()));
    assert_eq!(
        doc["links"]["api"],
        json!(format!("{}/v2", host.base_url()))
    );
    assert_eq!(
        doc["capabilities"]["hipchatApiProvider"]["url"],
        json!(format!("{}/v2/", host.base_url()))
    );
}

#[tokio::test]
async fn grants_a_token_for_form_and_json_requests_with_the_configured_lifetime() {
    let options = HostOptions {
        token_lifetime: Duration::from_secs(120),
        ..HostOptions::default()
    };
    let (host, _addon, id) = installed(options, Reply::Empty).await;
    let secret = host.host().credentials(&id).expect("creds").oauth_secret;
    let form = token(
        &host,
        &id,
        &secret,
        "grant_type=client_credentials&scope=send_notification",
    )
    .await;
    assert_eq!(form.status(), 200);
    let body: Value = form.json().await.expect("json");
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["scope"], "send_notification");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["group_id"], 1);
    let json_answer = client()
        .post(format!("{}/v2/oauth/token", host.base_url()))
        .header("authorization", basic_authorization(&id, &secret))
        .json(&json!({"grant_type": "client_credentials", "scope": "send_notification"}))
        .send()
        .await
        .expect("token");
    assert_eq!(json_answer.status(), 200);
    // The add-on's own token request during the install counts too.
    assert_eq!(host.host().token_requests(&id), 3);
    assert_eq!(host.host().tokens_granted(&id), 3);
}

#[tokio::test]
async fn answers_401_with_hipchats_envelope_for_bad_or_revoked_credentials() {
    let (host, _addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let secret = host.host().credentials(&id).expect("creds").oauth_secret;
    let wrong = token(
        &host,
        &id,
        "not-the-secret",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": {"code": 401, "message": "Invalid OAuth session", "type": "Unauthorized"}})
    );
    let unknown = token(&host, "nobody", "x", "grant_type=client_credentials").await;
    assert_eq!(unknown.status(), 401);
    let good = access_token(&host, &id).await;
    assert!(host.host().revoke(&id));
    let revoked = token(&host, &id, &secret, "grant_type=client_credentials").await;
    assert_eq!(revoked.status(), 401);
    let after = notify(&host, 1, &good, json!({"message": "hi"})).await;
    assert_eq!(after.status(), 401, "tokens die with their credentials");
}

#[tokio::test]
async fn refuses_scopes_the_descriptor_did_not_declare_and_other_grants() {
    let (host, _addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let secret = host.host().credentials(&id).expect("creds").oauth_secret;
    let scoped = token(
        &host,
        &id,
        &secret,
        "grant_type=client_credentials&scope=send_notification+admin_room",
    )
    .await;
    assert_eq!(scoped.status(), 400);
    let body: Value = scoped.json().await.expect("json");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("admin_room"), "{message}");
    let grant = token(&host, &id, &secret, "grant_type=password").await;
    assert_eq!(grant.status(), 400);
}

#[tokio::test]
async fn validates_notifications_and_answers_204_with_rate_limit_headers() {
    let (host, _addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let token = access_token(&host, &id).await;
    let ok = notify(
        &host,
        1,
        &token,
        json!({"message": "<b>hi</b><script>x()</script>", "color": "green"}),
    )
    .await;
    assert_eq!(ok.status(), 204);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(ok.headers().contains_key(name), "{name}");
    }
    assert_eq!(ok.headers()["x-ratelimit-limit"], "100");
    let by_query = client()
        .post(format!(
            "{}/v2/room/1/notification?auth_token={token}",
            host.base_url()
        ))
        .json(&json!({"message": "plain", "message_format": "text"}))
        .send()
        .await
        .expect("post");
    assert_eq!(by_query.status(), 204);

    for (body, needle) in [
        (json!({"message": ""}), "message"),
        (json!({"message": "a".repeat(10_001)}), "10001"),
        (json!({"message": "x", "color": "blue"}), "color"),
        (
            json!({"message": "x", "message_format": "markdown"}),
            "message_format",
        ),
        (json!({"color": "red"}), "message"),
    ] {
        let answer = notify(&host, 1, &token, body).await;
        assert_eq!(answer.status(), 400);
        let envelope: Value = answer.json().await.expect("json");
        let message = envelope["error"]["message"].as_str().expect("message");
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(
        notify(&host, 1, "bogus", json!({"message": "x"}))
            .await
            .status(),
        401
    );
    assert_eq!(
        notify(&host, 999, &token, json!({"message": "x"}))
            .await
            .status(),
        404
    );

    let entries = host.host().room_messages(1);
    let html = entries
        .iter()
        .find(|e| e.message_format == MessageFormat::Html)
        .expect("html entry");
    assert_eq!(html.message, "<b>hi</b>", "sanitised to HipChat's tags");
    assert!(matches!(&html.author, Author::AddOn { name, .. } if name == "Blog"));
    assert_eq!(host.host().notification_count(1), 2);
}

#[tokio::test]
async fn refuses_notifications_to_a_room_the_add_on_is_not_installed_in() {
    let (host, _addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    host.host().ensure_room(2);
    let token = access_token(&host, &id).await;
    assert_eq!(
        notify(&host, 2, &token, json!({"message": "x"}))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn answers_429_with_retry_after_over_the_room_limit() {
    let options = HostOptions {
        limits: RateLimits {
            messages_per_room: 2,
            ..RateLimits::default()
        },
        ..HostOptions::default()
    };
    let (host, _addon, id) = installed(options, Reply::Empty).await;
    let token = access_token(&host, &id).await;
    for _ in 0..2 {
        assert_eq!(
            notify(&host, 1, &token, json!({"message": "x"}))
                .await
                .status(),
            204
        );
    }
    let refused = notify(&host, 1, &token, json!({"message": "x"})).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.headers()["x-floodcontrol-remaining"], "0");
    assert_eq!(host.host().notification_count(1), 2);
}

#[tokio::test]
async fn answers_429_over_the_per_token_limit_and_when_forced() {
    let options = HostOptions {
        limits: RateLimits {
            requests_per_token: 2,
            forced_retry_after: Duration::from_secs(3),
            ..RateLimits::default()
        },
        ..HostOptions::default()
    };
    let (host, _addon, id) = installed(options, Reply::Empty).await;
    let first = access_token(&host, &id).await;
    host.host().force_rate_limit(1);
    let forced = notify(&host, 1, &first, json!({"message": "x"})).await;
    assert_eq!(forced.status(), 429);
    assert_eq!(forced.headers()["retry-after"], "3");
    for _ in 0..2 {
        assert_eq!(
            notify(&host, 1, &first, json!({"message": "x"}))
                .await
                .status(),
            204
        );
    }
    let over = notify(&host, 1, &first, json!({"message": "x"})).await;
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["x-ratelimit-remaining"], "0");
    let second = access_token(&host, &id).await;
    assert_eq!(
        notify(&host, 1, &second, json!({"message": "x"}))
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn manages_room_webhooks_through_the_rest_api() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(
        |_, d| {
            d["capabilities"]["hipchatApiConsumer"]["scopes"] =
                json!(["send_notification", "admin_room", "view_room"])
        },
        Behaviour::default(),
    )
    .await;
    let id = host
        .host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install")
        .oauth_id;
    let token = access_token(&host, &id).await;
    let base = format!("{}/v2/room/1/webhook", host.base_url());
    let created = client()
        .post(&base)
        .bearer_auth(&token)
        .json(&json!({"url": format!("{}/webhook", addon.base), "event": "room_message", "pattern": "^!ping"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let hook_id = created.json::<Value>().await.expect("json")["id"]
        .as_u64()
        .expect("id");
    let list: Value = client()
        .get(&base)
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let posted = host
        .host()
        .post_message(1, &User::default(), "!ping")
        .await
        .expect("post");
    assert_eq!(posted.deliveries.len(), 1);
    assert_eq!(posted.deliveries[0].webhook_id, hook_id);
    let bad = client()
        .post(&base)
        .bearer_auth(&token)
        .json(&json!({"event": "room_message"}))
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 400);
    let removed = client()
        .delete(format!("{base}/{hook_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 204);
    let again = client()
        .delete(format!("{base}/{hook_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status(), 404);
    let room: Value = client()
        .get(format!("{}/v2/room/1", host.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("room")
        .json()
        .await
        .expect("json");
    assert_eq!(room["id"], 1);
    assert_eq!(room["name"], "General");
}

#[tokio::test]
async fn refuses_an_expired_access_token() {
    let options = HostOptions {
        token_lifetime: Duration::from_secs(1),
        ..HostOptions::default()
    };
    let (host, _addon, id) = installed(options, Reply::Empty).await;
    let token = access_token(&host, &id).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = notify(&host, 1, &token, json!({"message": "late"})).await;
    assert_eq!(answer.status(), 401);
    let envelope: Value = answer.json().await.expect("json");
    assert_eq!(envelope["error"]["message"], "OAuth token expired");
}

#[tokio::test]
async fn breaks_the_capabilities_document_on_demand() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(|_, _| {}, Behaviour::default()).await;
    for fault in [
        CapabilitiesFault::WrongSelf,
        CapabilitiesFault::NotJson,
        CapabilitiesFault::Status(503),
    ] {
        host.host().set_capabilities_fault(Some(fault));
        let err = host
            .host()
            .install(&addon.descriptor_url(), Some(1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, InstallError::Rejected { status: 502, .. }),
            "{fault:?}: {err}"
        );
    }
    host.host().set_capabilities_fault(None);
    assert!(
        host.host()
            .install(&addon.descriptor_url(), Some(1))
            .await
            .is_ok()
    );
}
