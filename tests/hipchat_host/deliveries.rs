//! What the host does with room messages: signed deliveries, inline
//! replies, exchanges, failures of add-ons; and its rooms.

use std::time::Duration;

use connect::hipchat::host::{Author, Direction, ExchangeKind, HostEvent, HostOptions, User};
use serde_json::json;

use super::addon::{self, Behaviour, Reply};
use super::{installed, start_host};

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
        ..User::default()
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
    assert!(
        exchanges.windows(2).all(|w| w[0].id < w[1].id),
        "ids grow in recording order"
    );
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
