//! The HipChat host double over real sockets: what add-ons call (token,
//! notifications, limits, room API) and what the host does to add-ons
//! (install, signed webhook delivery, uninstall), against a small add-on
//! served on loopback.

#[path = "hipchat_host_support/addon.rs"]
mod addon;

use std::time::Duration;

use addon::{Behaviour, Reply};
use connect::hipchat::host::{
    Author, CapabilitiesFault, Direction, ExchangeKind, Host, HostEvent, HostOptions, InstallError,
    RateLimits, RunningHost, User,
};
use connect::hipchat::notification::MessageFormat;
use connect::hipchat::token::basic_authorization;
use serde_json::{Value, json};

async fn start_host(options: HostOptions) -> RunningHost {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    Host::new(options)
        .expect("host")
        .start(listener)
        .expect("start")
}

fn client() -> reqwest::Client {
    connect::tls::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A host with the seed add-on installed in room 1; returns its oauthId.
async fn installed(
    options: HostOptions,
    reply: Reply,
) -> (RunningHost, addon::RunningAddOn, String) {
    let host = start_host(options).await;
    let addon = addon::start(
        |_, _| {},
        Behaviour {
            reply,
            ..Behaviour::default()
        },
    )
    .await;
    let install = host
        .host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install");
    (host, addon, install.oauth_id)
}

async fn token(host: &RunningHost, id: &str, secret: &str, body: &str) -> reqwest::Response {
    client()
        .post(format!("{}/v2/oauth/token", host.base_url()))
        .header("authorization", basic_authorization(id, secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("token request")
}

async fn access_token(host: &RunningHost, oauth_id: &str) -> String {
    let secret = host
        .host()
        .credentials(oauth_id)
        .expect("credentials")
        .oauth_secret;
    let response = token(host, oauth_id, &secret, "grant_type=client_credentials").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn notify(host: &RunningHost, room: u64, token: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v2/room/{room}/notification", host.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("notification")
}

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
async fn installs_by_posting_hipchats_body_to_the_callback() {
    let (host, addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let seen = addon.seen();
    assert_eq!(seen.installs.len(), 1);
    let body = &seen.installs[0];
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "capabilitiesUrl",
            "groupId",
            "oauthId",
            "oauthSecret",
            "roomId"
        ]
    );
    assert_eq!(body["oauthId"], json!(id));
    assert_eq!(body["roomId"], 1);
    assert_eq!(body["capabilitiesUrl"], json!(host.capabilities_url()));
    let secret = body["oauthSecret"].as_str().expect("secret");
    assert_eq!(secret.len(), 40);
    assert_eq!(
        seen.install_token_status,
        [200],
        "credentials work during the install"
    );
    let installation = host.host().installation(&id).expect("recorded");
    assert_eq!(installation.key, "com.example.blogsearch");
    assert_eq!(installation.webhooks.len(), 1);
}

#[tokio::test]
async fn delivers_matching_messages_signed_with_the_add_ons_secret_and_posts_the_reply() {
    let reply = Reply::Json(
        json!({"message": "<a href=\"https://blog.example/x\">X</a><img src=x onerror=alert(1)>",
                                   "message_format": "html", "color": "purple"}),
    );
    let (host, addon, id) = installed(HostOptions::default(), reply).await;
    let mut events = host.host().subscribe();
    let user = User {
        id: 2_716_065,
        name: "Achyut Pokhrel".into(),
        mention_name: "AchyutPokhrel".into(),
        timezone: "Europe/Berlin".into(),
    };
    let posted = host
        .host()
        .post_message(1, &user, "/HasCode rust")
        .await
        .expect("post");
    assert_eq!(posted.deliveries.len(), 1, "(?i) pattern matches");
    let delivery = &posted.deliveries[0];
    assert_eq!(delivery.status, Some(200));
    assert_eq!(delivery.error, None);
    let reply = delivery.reply.as_ref().expect("reply posted");
    assert!(
        reply.message.contains("https://blog.example/x"),
        "{}",
        reply.message
    );
    assert!(!reply.message.contains("onerror"), "{}", reply.message);

    let seen = addon.seen();
    let (body, auth, verified) = &seen.webhooks[0];
    assert!(auth.as_deref().is_some_and(|a| a.starts_with("JWT ")));
    let claims = verified
        .as_ref()
        .expect("JWT verifies with the tenant's secret");
    assert_eq!(claims.iss, id);
    assert_eq!(claims.sub.as_deref(), Some("2716065"));
    assert_eq!(claims.exp, claims.iat + 3600);
    assert_eq!(claims.room_id(), Some(1));
    assert_eq!(
        claims.context.as_ref().and_then(|c| c.user_tz.as_deref()),
        Some("Europe/Berlin")
    );
    let event =
        connect::hipchat::webhook::RoomMessageEvent::from_value(body).expect("HipChat shape");
    assert_eq!(event.text(), "/HasCode rust");
    assert_eq!(event.oauth_client_id, id);
    assert_eq!(event.webhook_id, delivery.webhook_id);
    assert_eq!(
        body["item"]["message"]["from"]["mention_name"],
        "AchyutPokhrel"
    );

    let unrelated = host
        .host()
        .post_message(1, &user, "hello /hascode")
        .await
        .expect("post");
    assert!(unrelated.deliveries.is_empty(), "the pattern is anchored");
    let room = host.host().room_messages(1);
    assert_eq!(room.len(), 3, "two messages and one reply");

    let mut kinds = Vec::new();
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        kinds.push(match event {
            HostEvent::Chat { entry } => {
                format!("chat:{}", matches!(entry.author, Author::User { .. }))
            }
            HostEvent::Exchange { exchange } => format!("exchange:{:?}", exchange.kind),
            other => format!("{other:?}"),
        });
    }
    assert!(
        kinds.contains(&"chat:true".to_owned()) && kinds.contains(&"chat:false".to_owned()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"exchange:Webhook".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn records_exchanges_with_decoded_claims_and_no_secret() {
    let (host, addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    host.host()
        .post_message(1, &User::default(), "/hascode x")
        .await
        .expect("post");
    let secret = addon.seen().installs[0]["oauthSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let exchanges = host.host().exchanges();
    let all = serde_json::to_string(&exchanges).expect("json");
    assert!(!all.contains(&secret), "the oauthSecret never appears");
    let kinds: Vec<(Direction, ExchangeKind)> =
        exchanges.iter().map(|e| (e.direction, e.kind)).collect();
    for expected in [
        (Direction::ToAddOn, ExchangeKind::Descriptor),
        (Direction::ToAddOn, ExchangeKind::Install),
        (Direction::FromAddOn, ExchangeKind::Capabilities),
        (Direction::FromAddOn, ExchangeKind::Token),
        (Direction::ToAddOn, ExchangeKind::Webhook),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} in {kinds:?}");
    }
    let webhook = exchanges
        .iter()
        .find(|e| e.kind == ExchangeKind::Webhook)
        .expect("webhook");
    assert_eq!(
        webhook.jwt_claims.as_ref().map(|c| c.iss.as_str()),
        Some(id.as_str())
    );
    assert!(
        webhook
            .request_body
            .starts_with(r#"{"event": "room_message", "item": {"#),
        "HipChat's separators: {}",
        webhook.request_body
    );
    assert!(
        webhook
            .request_headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "JWT <redacted>")
    );
    let token = exchanges
        .iter()
        .find(|e| e.kind == ExchangeKind::Token)
        .expect("token");
    assert_eq!(token.oauth_id.as_deref(), Some(id.as_str()));
    assert!(
        token.response_body.contains("<redacted>"),
        "{}",
        token.response_body
    );
}

#[tokio::test]
async fn uninstall_revokes_the_credentials_before_calling_delete() {
    let (host, addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let gone = host.host().uninstall(&id).await.expect("uninstall");
    assert_eq!(gone.status, Some(204));
    assert_eq!(addon.seen().uninstalls, [(id.clone(), 401)]);
    assert!(host.host().installations().is_empty());
    assert!(host.host().credentials(&id).is_none());
    let none = host
        .host()
        .post_message(1, &User::default(), "/hascode x")
        .await
        .expect("post");
    assert!(none.deliveries.is_empty());
    assert!(host.host().uninstall(&id).await.is_err());
}

#[tokio::test]
async fn survives_add_ons_that_fail_time_out_or_answer_nonsense() {
    let options = HostOptions {
        request_timeout: Duration::from_millis(300),
        ..HostOptions::default()
    };
    for (reply, expect_status) in [
        (Reply::Status(500), Some(500)),
        (Reply::NotJson, Some(200)),
        (Reply::Json(json!({"message": ""})), Some(200)),
        (Reply::Slow(Duration::from_secs(2)), None),
    ] {
        let (host, _addon, _id) = installed(options.clone(), reply.clone()).await;
        let posted = host
            .host()
            .post_message(1, &User::default(), "/hascode x")
            .await
            .expect("post");
        let delivery = &posted.deliveries[0];
        assert_eq!(delivery.status, expect_status, "{reply:?}");
        assert!(delivery.reply.is_none(), "{reply:?}");
        if !matches!(reply, Reply::NotJson) {
            assert!(delivery.error.is_some(), "{reply:?}");
        }
    }
}

#[tokio::test]
async fn reports_bad_descriptors_and_refused_installs_clearly() {
    let host = start_host(HostOptions::default()).await;
    let missing = addon::start(
        |_, d| {
            d["capabilities"]["installable"]
                .as_object_mut()
                .expect("object")
                .remove("callbackUrl");
        },
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&missing.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("capabilities.installable.callbackUrl"),
        "{err}"
    );

    let not_there = format!("{}/nope.json", missing.base);
    let err = host.host().install(&not_there, Some(1)).await.unwrap_err();
    assert!(
        matches!(err, InstallError::DescriptorStatus { status: 404, .. }),
        "{err}"
    );

    let refusing = addon::start(
        |_, _| {},
        Behaviour {
            install_status: 500,
            ..Behaviour::default()
        },
    )
    .await;
    let err = host
        .host()
        .install(&refusing.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstallError::Rejected { status: 500, .. }),
        "{err}"
    );
    assert!(host.host().installations().is_empty());
    let id = refusing.seen().installs[0]["oauthId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        host.host().credentials(&id).is_none(),
        "credentials of a refused install are dropped"
    );

    let global_only = addon::start(
        |_, d| d["capabilities"]["installable"]["allowRoom"] = json!(false),
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&global_only.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstallError::RoomInstallNotAllowed(_)),
        "{err}"
    );
    assert!(
        host.host()
            .install(&global_only.descriptor_url(), None)
            .await
            .is_ok()
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
async fn refuses_empty_and_oversized_room_messages() {
    let host = start_host(HostOptions::default()).await;
    assert!(
        host.host()
            .post_message(1, &User::default(), "  ")
            .await
            .is_err()
    );
    assert!(
        host.host()
            .post_message(1, &User::default(), &"a".repeat(10_001))
            .await
            .is_err()
    );
    assert!(host.host().room_messages(1).is_empty());
}

#[tokio::test]
async fn names_a_notice_posted_while_answering_the_install_after_the_add_on() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(
        |_, _| {},
        Behaviour {
            announce: true,
            ..Behaviour::default()
        },
    )
    .await;
    host.host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install");
    let notices = host.host().room_messages(1);
    assert_eq!(notices.len(), 1);
    assert!(
        matches!(&notices[0].author, Author::AddOn { key, name, .. }
            if key == "com.example.blogsearch" && name == "Blog"),
        "{:?}",
        notices[0].author
    );
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
async fn delivers_to_every_matching_add_on_signing_only_when_asked() {
    let host = start_host(HostOptions::default()).await;
    let signed = addon::start(|_, _| {}, Behaviour::default()).await;
    let unsigned = addon::start(
        |_, d| {
            d["key"] = json!("com.example.other");
            d["capabilities"]["webhook"]["pattern"] = json!("rust");
            d["capabilities"]["webhook"]
                .as_object_mut()
                .expect("object")
                .remove("authentication");
        },
        Behaviour::default(),
    )
    .await;
    for addon in [&signed, &unsigned] {
        host.host()
            .install(&addon.descriptor_url(), Some(1))
            .await
            .expect("install");
    }
    let posted = host
        .host()
        .post_message(1, &User::default(), "/hascode rust")
        .await
        .expect("post");
    assert_eq!(posted.deliveries.len(), 2);
    assert!(signed.seen().webhooks[0].1.is_some());
    assert_eq!(
        unsigned.seen().webhooks[0].1,
        None,
        "authentication defaults to none"
    );
    let other = host
        .host()
        .post_message(1, &User::default(), "/hascode go")
        .await
        .expect("post");
    assert_eq!(other.deliveries.len(), 1);
    let keys: Vec<String> = host
        .host()
        .installations()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(
        keys,
        ["com.example.blogsearch", "com.example.other"],
        "install order"
    );
}

#[tokio::test]
async fn creates_rooms_with_the_next_id_and_announces_them() {
    let host = start_host(HostOptions::default()).await;
    let mut events = host.host().subscribe();
    let room = host.host().create_room("Dev");
    assert_eq!(room.id, 2);
    assert!(
        matches!(events.recv().await, Ok(HostEvent::RoomCreated { room }) if room.name == "Dev")
    );
    host.host().ensure_room(u64::MAX);
    assert_eq!(host.host().create_room("Wrapped").id, 3);
    let names: Vec<String> = host.host().rooms().into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        ["General", "Dev", "Wrapped", &format!("Room {}", u64::MAX)]
    );
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
