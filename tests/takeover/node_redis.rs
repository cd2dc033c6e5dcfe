//! The seed's production deployment: the 2015 Node add-on on Redis
//! (atlassian-connect-express-redis), three rooms installed; then connect.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::emulate::{
    Blog, Control, Emulator, NodeAddon, free_port, http_client, serve_node_project,
};
use crate::support::redis::RedisServer;

async fn room(control: &Control, name: &str) -> u64 {
    let (status, room) = control.post("/rooms", json!({"name": name})).await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_u64().unwrap()
}

/// Posts `/hascode rust` in `room` and waits for an answer naming rust.
async fn answered(control: &Control, room: u64) -> Value {
    let (status, posted) = control
        .post(
            &format!("/rooms/{room}/messages"),
            json!({"message": "/hascode rust"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let delivery = &posted["deliveries"][0];
    assert!(
        delivery["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s)),
        "room {room}: {delivery:#}"
    );
    let after = posted["message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, answers) = control
        .get(&format!(
            "/rooms/{room}/messages?after={after}&kind=notification&waitMs=10000"
        ))
        .await;
    let answer = answers[0].clone();
    assert!(
        answer.to_string().contains("rust"),
        "room {room}: no answer: {answers}"
    );
    answer
}

fn keys(redis: &RedisServer, pattern: &str) -> String {
    redis
        .command(&format!("KEYS {pattern}"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_addons_redis_installs_are_served_and_a_rollback_loses_nothing() {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let url = redis.url();
    let blog = Blog::start().await;
    let emulator = Emulator::start(&[]).await;
    let control = emulator.control();
    let port = free_port();
    let descriptor = format!("http://127.0.0.1:{port}/atlassian-connect.json");

    // 1. The 2015 add-on in production takes three installs.
    let mut node = NodeAddon::start_with(&blog, port, Some(&url)).await;
    let rooms = [
        1,
        room(&control, "Two").await,
        room(&control, "Three").await,
    ];
    let mut ids = Vec::new();
    for r in rooms {
        ids.push(control.install(&descriptor, r).await);
        control
            .wait_for_notification(r, |m| m.to_string().contains("has been installed"))
            .await;
    }
    for id in &ids {
        assert!(
            keys(&redis, &format!("{id}:clientInfo")).contains(id.as_str()),
            "{id}"
        );
    }
    answered(&control, rooms[0]).await;
    node.process.stop().await;

    // 2. connect in the same project folder, same port, same Redis: every
    // room is answered, no reinstall.
    let mut serve = serve_node_project(&blog, port, &url, &[]).await;
    for r in rooms {
        answered(&control, r).await;
    }
    let took = serve
        .output()
        .iter()
        .filter(|l| l.contains("took over the installation"))
        .count();
    assert_eq!(took, 3, "{:#?}", serve.output());

    // 3. A rolling cut-over: the Node add-on, still running beside
    // connect, takes an install; connect serves its webhook.
    let side = free_port();
    let mut node2 = NodeAddon::start_with(&blog, side, Some(&url)).await;
    let four = room(&control, "Four").await;
    let id4 = control
        .install(
            &format!("http://127.0.0.1:{side}/atlassian-connect.json"),
            four,
        )
        .await;
    let (_, jwt) = control
        .post(
            &format!("/installs/{id4}/call"),
            json!({"call": "auth.withToken", "roomId": four}),
        )
        .await;
    let jwt = jwt["result"].as_str().expect("a JWT").to_owned();
    let body = json!({
        "event": "room_message",
        "item": {"message": {"date": "2015-10-14T06:15:26.778258+00:00", "from": {"id": 1, "mention_name": "LocalUser", "name": "Local User"}, "id": "m1", "mentions": [], "message": "/hascode rust", "type": "message"},
                 "room": {"id": four, "name": "Four"}},
        "oauth_client_id": id4,
        "webhook_id": 1
    });
    let answer = http_client()
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("authorization", format!("JWT {jwt}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert!(
        answer["message"].as_str().unwrap_or("").contains("rust"),
        "{answer}"
    );
    node2.process.stop().await;

    // 4. An uninstall through connect leaves no old record behind.
    let (status, gone) = control.delete(&format!("/installs/{}", ids[0])).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["status"], 204, "{gone}");
    assert_eq!(keys(&redis, &format!("{}*", ids[0])), "*0\r\n");

    // 5. connect takes an install; the Node add-on, started again on the
    // same Redis (a rollback), serves it and every other room.
    let five = room(&control, "Five").await;
    control.install(&descriptor, five).await;
    serve.stop().await;
    let _node3 = NodeAddon::start_with(&blog, port, Some(&url)).await;
    for r in [rooms[1], rooms[2], five] {
        let answer = answered(&control, r).await;
        assert!(
            answer["html"].as_str().unwrap_or("").contains("Found"),
            "room {r}: {answer}"
        );
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}
