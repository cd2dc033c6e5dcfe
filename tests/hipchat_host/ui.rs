//! The other half of the host (PROTOCOL.md): UI modules at install, signed
//! pages and glance queries, the glance push calls, the REST calls add-ons
//! make beyond notifications, and the room events.

use std::time::Duration;

use connect::hipchat::host::{
    EntryKind, GlanceScope, HostEvent, HostOptions, InstallError, PageError, RunningHost, Theme,
};
use connect::hipchat::jwt::{self, VerifyOptions};
use serde_json::{Value, json};

use super::addon::{self, Behaviour, RunningAddOn};
use super::{access_token, client, start_host};

const SCOPES: [&str; 6] = [
    "send_notification",
    "send_message",
    "view_room",
    "view_group",
    "view_messages",
    "admin_room",
];

/// The seed add-on's descriptor with every UI module, the given scopes and
/// a webhook for each room event.
fn with_ui(base: &str, doc: &mut Value, scopes: &[&str]) {
    let caps = &mut doc["capabilities"];
    caps["hipchatApiConsumer"]["scopes"] = json!(scopes);
    caps["configurable"] = json!({"url": format!("{base}/config")});
    caps["glance"] = json!([{"key": "ui.glance", "name": {"value": "Open items"},
        "queryUrl": format!("{base}/glance"), "target": "ui.sidebar"},
        {"key": "ui.pushed", "name": {"value": "Pushed only"}, "target": "ui.dialog"}]);
    caps["webPanel"] = json!([{"key": "ui.sidebar", "name": {"value": "Sidebar"},
        "location": "hipchat.sidebar.right", "url": format!("{base}/sidebar?tab=1")}]);
    caps["dialog"] = json!([{"key": "ui.dialog", "title": {"value": "Dialog"}, "url": format!("{base}/dialog"),
        "options": {"primaryAction": {"key": "ui.dialog.ok", "name": {"value": "OK"}}}}]);
    caps["action"] = json!([{"key": "ui.action", "name": {"value": "Open"}, "target": "ui.dialog",
        "location": "hipchat.input.action"}]);
    let mut hooks = vec![caps["webhook"].clone()];
    for event in [
        "room_enter",
        "room_exit",
        "room_topic_change",
        "room_notification",
    ] {
        hooks.push(
            json!({"url": format!("{base}/webhook"), "event": event, "authentication": "jwt"}),
        );
    }
    caps["webhook"] = json!(hooks);
}

async fn ui_addon(
    host: &RunningHost,
    room: Option<u64>,
    scopes: &[&str],
) -> (RunningAddOn, String) {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let addon = addon::start(
        move |base, doc| {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            with_ui(base, doc, &scopes);
        },
        Behaviour::default(),
    )
    .await;
    let install = host
        .host()
        .install(&addon.descriptor_url(), room)
        .await
        .expect("install");
    (addon, install.oauth_id)
}

/// Another add-on with the same modules and webhooks under `key`, with
/// `scopes`, installed in room 1.
async fn keyed_addon(
    host: &RunningHost,
    key: &'static str,
    scopes: &'static [&'static str],
) -> (RunningAddOn, String) {
    let addon = addon::start(
        move |base, doc| {
            with_ui(base, doc, scopes);
            doc["key"] = json!(key);
        },
        Behaviour::default(),
    )
    .await;
    let install = host
        .host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install");
    (addon, install.oauth_id)
}

/// A second add-on (another key) with the same webhooks, to see what the
/// first one's actions tell others.
async fn other_addon(host: &RunningHost) -> (RunningAddOn, String) {
    keyed_addon(host, "com.example.other", &SCOPES).await
}

async fn call(
    host: &RunningHost,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/v2/{path}", host.base_url());
    let mut request = client()
        .request(method.parse().expect("a method"), url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the call");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn verify(token: &str, host: &RunningHost, oauth_id: &str) -> jwt::Claims {
    let secret = host
        .host()
        .credentials(oauth_id)
        .expect("credentials")
        .oauth_secret;
    jwt::verify(
        token,
        secret.as_bytes(),
        &VerifyOptions::now(Duration::from_secs(900)),
    )
    .expect("a JWT signed with the install's secret")
    .claims
}

async fn wait_for_webhooks(addon: &RunningAddOn, event: &str, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let seen: Vec<Value> = addon
            .seen()
            .webhooks
            .into_iter()
            .map(|(body, _, _)| body)
            .filter(|b| b["event"] == event)
            .collect();
        if seen.len() >= count {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {count} {event} deliveries arrived");
}

#[tokio::test]
async fn an_install_keeps_the_ui_modules_and_refuses_bad_ones_listing_each_field() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let install = host.host().installation(&oauth_id).expect("installed");
    let keys: Vec<&str> = install.modules.all.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "configurable",
            "ui.glance",
            "ui.pushed",
            "ui.sidebar",
            "ui.dialog",
            "ui.action"
        ]
    );

    let broken = addon::start(
        |base, doc| {
            with_ui(base, doc, &["send_notification", "view_rooms"]);
            doc["key"] = json!("com.example.broken");
        },
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&broken.descriptor_url(), Some(1))
        .await
        .expect_err("an unknown scope");
    assert!(matches!(err, InstallError::BadDescriptor { .. }), "{err}");
    assert!(
        err.to_string().contains("did you mean \"view_room\""),
        "{err}"
    );

    let broken = addon::start(
        |base, doc| {
            with_ui(base, doc, &SCOPES);
            doc["key"] = json!("com.example.broken2");
            doc["capabilities"]["dialog"][0]["options"]["size"] = json!("enormous");
            doc["capabilities"]["action"][0]["target"] = json!("ui.nothing");
        },
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&broken.descriptor_url(), Some(1))
        .await
        .expect_err("bad modules")
        .to_string();
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("capabilities.dialog[0].options.size"), "{err}");
    assert!(err.contains("\"ui.nothing\""), "{err}");
    assert!(broken.seen().installs.is_empty(), "nothing was installed");
}

#[tokio::test]
async fn pages_are_signed_for_the_viewer_and_room_with_hipchats_parameters() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let page = host
        .host()
        .sign_page(
            &oauth_id,
            "ui.sidebar",
            2,
            1,
            Theme::Dark,
            Some("http://127.0.0.1:9/"),
        )
        .expect("a signed page");
    let url = url::Url::parse(&page.url).expect("a URL");
    let params: std::collections::HashMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(params["tab"], "1", "the module's own query is kept");
    assert_eq!(params["theme"], "dark");
    assert_eq!(params["connect_client_api_version"], "1");
    assert_eq!(params["xdmhost"], "http://127.0.0.1:9/");
    let claims = verify(&params["signed_request"], &host, &oauth_id);
    assert_eq!(claims.iss, oauth_id);
    assert_eq!(claims.sub.as_deref(), Some("2"));
    assert_eq!(
        claims.prn.as_deref(),
        Some("2"),
        "2014-era libraries read prn"
    );
    let context = claims.context.expect("a context");
    assert_eq!(context.room_id, Some(1));
    assert_eq!(context.user_tz.as_deref(), Some("Europe/Berlin"));
    assert!(claims.exp >= claims.iat + 3000, "about an hour");
    assert!(claims.jti.is_some());

    let token = host.host().sign_token(&oauth_id, 1, 1).expect("a token");
    assert_ne!(token.claims.jti, claims.jti, "every token is fresh");

    let errors = [
        host.host()
            .sign_page(&oauth_id, "ui.action", 1, 1, Theme::Light, None),
        host.host()
            .sign_page(&oauth_id, "ui.nothing", 1, 1, Theme::Light, None),
        host.host()
            .sign_page(&oauth_id, "ui.sidebar", 1, 2, Theme::Light, None),
        host.host()
            .sign_page(&oauth_id, "ui.sidebar", 99, 1, Theme::Light, None),
        host.host()
            .sign_page("nobody", "ui.sidebar", 1, 1, Theme::Light, None),
    ];
    let text: Vec<String> = errors
        .iter()
        .map(|e| e.as_ref().expect_err("refused").to_string())
        .collect();
    assert!(
        text[0].contains("is an action") && text[0].contains("\"ui.dialog\""),
        "{}",
        text[0]
    );
    assert!(text[1].contains("ui.glance, ui.pushed"), "{}", text[1]);
    assert!(matches!(
        errors[2],
        Err(PageError::WrongRoom {
            installed: 1,
            asked: 2
        })
    ));
    assert!(matches!(errors[3], Err(PageError::UnknownUser(99))));
    assert!(matches!(errors[4], Err(PageError::NotInstalled(_))));
}

#[tokio::test]
async fn glances_are_queried_signed_or_pushed_for_a_room_a_user_or_everyone() {
    let host = start_host(HostOptions::default()).await;
    let (addon, oauth_id) = ui_addon(&host, None, &SCOPES).await;
    let glances = host.host().glances(&oauth_id, 1, 1).await.expect("glances");
    assert_eq!(glances.len(), 2);
    assert_eq!(glances[0].key, "ui.glance");
    let queried = glances[0].content.as_ref().expect("queried content");
    assert_eq!(queried.label_html, "<b>3</b> open");
    assert!(
        glances[1].content.is_none(),
        "a glance without queryUrl waits for a push"
    );
    let (params, claims) = addon.seen().glance_queries.pop().expect("a query");
    assert!(params.iter().any(|(k, v)| k == "theme" && v == "light"));
    assert_eq!(claims.expect("signed").sub.as_deref(), Some("1"));

    let token = access_token(&host, &oauth_id).await;
    let mut events = host.host().subscribe();
    let content = |label: &str| {
        json!({"label": {"type": "html", "value": label},
        "status": {"type": "lozenge", "value": {"label": "PUSHED", "type": "success"}}})
    };
    for (path, label) in [
        ("addon/ui", "group"),
        ("addon/ui/room/1", "room 1"),
        ("addon/ui/user/2", "user 2"),
    ] {
        let (status, body) = call(
            &host,
            "POST",
            path,
            &token,
            Some(json!({"glance": [{"key": "ui.glance", "content": content(label)}]})),
        )
        .await;
        assert_eq!(status, 204, "{path}: {body}");
    }
    let seen_as = |room, user| {
        host.host()
            .pushed_glance(&oauth_id, "ui.glance", room, user)
            .map(|(scope, c)| (scope, c.label_html))
    };
    assert_eq!(seen_as(1, 2), Some((GlanceScope::User(2), "user 2".into())));
    assert_eq!(seen_as(1, 1), Some((GlanceScope::Room(1), "room 1".into())));
    assert_eq!(seen_as(2, 1), Some((GlanceScope::Group, "group".into())));
    let glances = host.host().glances(&oauth_id, 1, 1).await.expect("glances");
    assert_eq!(
        glances[0].content.as_ref().map(|c| c.label_html.as_str()),
        Some("room 1")
    );
    let pushed = loop {
        match events.recv().await.expect("an event") {
            HostEvent::Glance {
                key,
                scope,
                content,
                ..
            } => break (key, scope, content),
            _ => continue,
        }
    };
    assert_eq!(pushed.0, "ui.glance");
    assert_eq!(pushed.1, GlanceScope::Group);
    assert!(pushed.2.is_some());

    // null clears what was pushed for that audience.
    let (status, _) = call(
        &host,
        "POST",
        "addon/ui/room/1",
        &token,
        Some(json!({"glance": [{"key": "ui.glance", "content": null}]})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(seen_as(1, 1), Some((GlanceScope::Group, "group".into())));
}

#[tokio::test]
async fn glance_pushes_with_bad_content_unknown_keys_or_scopes_are_refused() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let token = access_token(&host, &oauth_id).await;
    let (status, body) = call(&host, "POST", "addon/ui/room/1", &token, Some(json!({"glance": [
        {"key": "ui.glance", "content": {"label": {"type": "html", "value": "x".repeat(1001)},
            "status": {"type": "lozenge", "value": {"label": "FAR TOO LONG FOR A LOZENGE", "type": "new"}}}},
        {"key": "ui.unknown", "content": {"label": {"value": "x"}}}
    ]}))).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("glance[0].content.label.value` is 1001 characters"),
        "{message}"
    );
    assert!(
        message.contains("glance[0].content.status.value.label"),
        "{message}"
    );
    assert!(
        message.contains(
            "\"ui.unknown\", not a glance of this add-on; its glances are ui.glance, ui.pushed"
        ),
        "{message}"
    );
    assert!(
        host.host()
            .pushed_glance(&oauth_id, "ui.glance", 1, 1)
            .is_none(),
        "nothing applied"
    );

    let (status, body) = call(
        &host,
        "POST",
        "addon/ui/room/1",
        &token,
        Some(json!({"key": "ui.glance"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = call(
        &host,
        "POST",
        "addon/ui",
        &token,
        Some(json!({"glance": []})),
    )
    .await;
    assert_eq!(
        status, 403,
        "a room install cannot push to the group: {body}"
    );

    let (_narrow, narrow_id) =
        keyed_addon(&host, "com.example.narrow", &["send_notification"]).await;
    let narrow = access_token(&host, &narrow_id).await;
    let (status, body) = call(
        &host,
        "POST",
        "addon/ui/room/1",
        &narrow,
        Some(json!({"glance": [{"key": "ui.glance", "content": {"label": {"value": "x"}}}]})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("view_room"),
        "{body}"
    );
}

#[tokio::test]
async fn users_participants_and_members_come_in_hipchats_shapes() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let token = access_token(&host, &oauth_id).await;

    let (status, room) = call(&host, "GET", "room/1?expand=participants", &token, None).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(room["privacy"], "public");
    assert_eq!(room["topic"], "");
    let names: Vec<&str> = room["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        vec!["Local User", "Room Member"],
        "guests start outside"
    );
    assert_eq!(
        room["links"]["participants"],
        json!(format!("{}/v2/room/1/participant", host.base_url()))
    );

    let (status, page) = call(
        &host,
        "GET",
        "room/1/participant?max-results=1",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["maxResults"], 1);
    assert_eq!(page["startIndex"], 0);
    assert_eq!(page["items"][0]["mention_name"], "LocalUser");
    let (status, _) = call(
        &host,
        "GET",
        "room/1/participant?max-results=5000",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 400);

    let (_, members) = call(&host, "GET", "room/1/member", &token, None).await;
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));

    for who in ["2", "@RoomMember", "room.member@example.com"] {
        let (status, user) = call(&host, "GET", &format!("user/{who}"), &token, None).await;
        assert_eq!(status, 200, "{who}: {user}");
        assert_eq!(user["id"], 2);
        assert_eq!(user["is_group_admin"], false);
        assert_eq!(user["presence"]["show"], "chat");
        assert_eq!(user["timezone"], "Europe/Berlin");
    }
    let (status, body) = call(&host, "GET", "user/404", &token, None).await;
    assert_eq!(status, 404, "{body}");
    let (_, users) = call(&host, "GET", "user", &token, None).await;
    assert_eq!(users["items"].as_array().map(Vec::len), Some(2));
    let (_, everyone) = call(&host, "GET", "user?include-guests=true", &token, None).await;
    assert_eq!(everyone["items"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn messages_replies_links_and_private_messages_reach_the_chat() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let token = access_token(&host, &oauth_id).await;

    let (status, sent) = call(
        &host,
        "POST",
        "room/1/message",
        &token,
        Some(json!({"message": "Deploy done"})),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_str().expect("an id").to_owned();
    assert!(sent["timestamp"].is_string());
    let (status, body) = call(
        &host,
        "POST",
        "room/1/message",
        &token,
        Some(json!({"message": "x".repeat(1001)})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = call(
        &host,
        "POST",
        "room/1/reply",
        &token,
        Some(json!({"parentMessageId": id, "message": "Thread reply"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(
        &host,
        "POST",
        "room/1/reply",
        &token,
        Some(json!({"parentMessageId": "no-such-id", "message": "x"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = call(
        &host,
        "PUT",
        "room/1/share/link",
        &token,
        Some(json!({"link": "https://example.com/a", "message": "Have a look"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &host,
        "POST",
        "room/1/share/link",
        &token,
        Some(json!({"link": "javascript:alert(1)"})),
    )
    .await;
    assert_eq!(status, 400);

    let entries = host.host().room_messages(1);
    let texts: Vec<(&str, EntryKind)> = entries
        .iter()
        .map(|e| (e.message.as_str(), e.kind))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("Deploy done", EntryKind::Message),
            ("Thread reply", EntryKind::Message),
            ("Have a look https://example.com/a", EntryKind::Message),
        ]
    );
    assert_eq!(entries[1].parent_id.as_deref(), Some(id.as_str()));
    assert_eq!(entries[2].link.as_deref(), Some("https://example.com/a"));

    let (status, _) = call(&host, "POST", "user/@Guest/message", &token,
        Some(json!({"message": "<b>Psst</b><script>x()</script>", "message_format": "html", "notify": true}))).await;
    assert_eq!(status, 204);
    let private = host.host().private_messages(3);
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].message, "<b>Psst</b>");
    assert_eq!(private[0].to_user, Some(3));
    assert!(
        host.host().room_messages(1).len() == 3,
        "a private message stays out of rooms"
    );
    let (status, body) = call(
        &host,
        "POST",
        "user/nobody@example.com/message",
        &token,
        Some(json!({"message": "x"})),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    let (_narrow, narrow_id) =
        keyed_addon(&host, "com.example.narrow", &["send_notification"]).await;
    let narrow_token = access_token(&host, &narrow_id).await;
    let (status, body) = call(
        &host,
        "POST",
        "room/1/message",
        &narrow_token,
        Some(json!({"message": "x"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("send_message")
    );
}

#[tokio::test]
async fn history_lists_messages_and_notifications_as_hipchat_did() {
    let host = start_host(HostOptions::default()).await;
    let (_addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let token = access_token(&host, &oauth_id).await;
    host.host()
        .post_message(
            1,
            &connect::hipchat::host::User::default(),
            "hello @RoomMember",
        )
        .await
        .expect("post");
    let (status, _) = call(&host, "POST", "room/1/notification", &token,
        Some(json!({"message": "<b>build</b> green", "message_format": "html", "color": "green", "from": "CI"}))).await;
    assert_eq!(status, 204);

    let (status, history) = call(&host, "GET", "room/1/history", &token, None).await;
    assert_eq!(status, 200, "{history}");
    let items = history["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "message");
    assert_eq!(items[0]["from"]["name"], "Local User");
    assert_eq!(items[0]["mentions"][0]["mention_name"], "RoomMember");
    assert_eq!(items[1]["type"], "notification");
    assert_eq!(items[1]["from"], "CI");
    assert_eq!(items[1]["color"], "green");
    assert_eq!(items[1]["message_format"], "html");

    let (_, newest_first) = call(
        &host,
        "GET",
        "room/1/history?reverse=false&max-results=1",
        &token,
        None,
    )
    .await;
    assert_eq!(newest_first["items"][0]["type"], "notification");
    let first_id = items[0]["id"].as_str().expect("an id");
    let (_, latest) = call(
        &host,
        "GET",
        &format!("room/1/history/latest?not-before={first_id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(latest["items"].as_array().map(Vec::len), Some(2));
    let (_, latest_one) = call(
        &host,
        "GET",
        "room/1/history/latest?max-results=1",
        &token,
        None,
    )
    .await;
    assert_eq!(latest_one["items"][0]["from"], "CI");
    let (status, _) = call(
        &host,
        "GET",
        "room/1/history/latest?not-before=nope",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn entering_leaving_and_topics_are_delivered_to_the_rooms_add_ons() {
    let host = start_host(HostOptions::default()).await;
    let (addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;

    let deliveries = host
        .host()
        .enter_room(1, 3)
        .await
        .expect("the guest enters");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(204));
    assert!(
        host.host()
            .enter_room(1, 3)
            .await
            .expect("again")
            .is_empty(),
        "already in the room"
    );
    host.host()
        .leave_room(1, 3)
        .await
        .expect("the guest leaves");
    host.host()
        .set_topic(1, 2, "Release week")
        .await
        .expect("a topic");
    assert_eq!(host.host().topic(1), "Release week");
    let err = host
        .host()
        .set_topic(1, 2, &"x".repeat(251))
        .await
        .expect_err("too long");
    assert!(err.to_string().contains("251"), "{err}");
    assert!(host.host().enter_room(1, 99).await.is_err());

    let seen = addon.seen().webhooks;
    let events: Vec<&str> = seen
        .iter()
        .map(|(b, _, _)| b["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(events, vec!["room_enter", "room_exit", "room_topic_change"]);
    let (enter, _, claims) = &seen[0];
    assert_eq!(enter["item"]["sender"]["name"], "Visiting Guest");
    assert_eq!(enter["item"]["room"]["id"], 1);
    assert_eq!(enter["oauth_client_id"], json!(oauth_id));
    assert_eq!(claims.as_ref().expect("signed").sub.as_deref(), Some("3"));
    assert_eq!(seen[2].0["item"]["topic"], "Release week");
    assert_eq!(seen[2].0["item"]["sender"]["id"], 2);
    let participants: Vec<u64> = host.host().participants(1).iter().map(|u| u.id).collect();
    assert_eq!(participants, vec![1, 2]);

    // An add-on changing the topic tells the others, not itself.
    let (other, _) = other_addon(&host).await;
    let token = access_token(&host, &oauth_id).await;
    let (status, body) = call(
        &host,
        "PUT",
        "room/1/topic",
        &token,
        Some(json!({"topic": "Set by an add-on"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let changes = wait_for_webhooks(&other, "room_topic_change", 1).await;
    assert_eq!(changes[0]["item"]["topic"], "Set by an add-on");
    let own = addon
        .seen()
        .webhooks
        .iter()
        .filter(|(b, _, _)| b["event"] == "room_topic_change")
        .count();
    assert_eq!(own, 1, "the changer is not told of its own change");
}

#[tokio::test]
async fn a_notification_is_delivered_to_the_other_add_ons_as_room_notification() {
    let host = start_host(HostOptions::default()).await;
    let (addon, oauth_id) = ui_addon(&host, Some(1), &SCOPES).await;
    let (other, _) = other_addon(&host).await;
    let token = access_token(&host, &oauth_id).await;
    let (status, _) = call(&host, "POST", "room/1/notification", &token,
        Some(json!({"message": "Build <b>green</b>", "message_format": "html", "from": "CI", "color": "green"}))).await;
    assert_eq!(status, 204);
    let seen = wait_for_webhooks(&other, "room_notification", 1).await;
    let message = &seen[0]["item"]["message"];
    assert_eq!(message["from"], "CI", "a notification's sender is a string");
    assert_eq!(message["message_format"], "html");
    assert_eq!(message["color"], "green");
    assert_eq!(message["type"], "notification");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !addon
            .seen()
            .webhooks
            .iter()
            .any(|(b, _, _)| b["event"] == "room_notification"),
        "the sender does not hear its own notification"
    );
}
