//! `connect emulate` live: the event stream the page listens to, waiting
//! for the next notification, and stopping with both still open.

mod support;

use std::time::Duration;

use serde_json::json;
use support::emulate::addon::ScriptedAddon;
use support::emulate::{Emulator, http_client};

#[tokio::test]
async fn streams_messages_and_exchanges_to_the_page_as_server_sent_events() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    control.install(&addon.descriptor_url("good"), 1).await;

    let mut events = http_client()
        .get(emulator.at("/_emulator/events"))
        .send()
        .await
        .expect("the event stream");
    assert_eq!(
        events
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    control
        .post(
            "/rooms/1/messages",
            json!({"message": "/ping from the stream test"}),
        )
        .await;
    control.install(&addon.descriptor_url("viewer"), 1).await;
    control.post("/rooms", json!({"name": "Later"})).await;

    let mut seen = String::new();
    let wanted = [
        "event: message",
        "/ping from the stream test",
        "event: exchange",
        "pong",
        "event: installs",
        "com.example.scripted-viewer",
        "event: rooms",
        "Later",
    ];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !wanted.iter().all(|w| seen.contains(w)) {
            match events.chunk().await {
                Ok(Some(chunk)) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            }
        }
    })
    .await;
    assert!(read.is_ok(), "events stalled; got:\n{seen}");
    for w in wanted {
        assert!(seen.contains(w), "missing {w:?} in:\n{seen}");
    }
}

#[tokio::test]
async fn waits_for_the_next_notification_so_ci_scripts_need_no_sleep() {
    let emulator = Emulator::start(&[]).await;
    let addon = ScriptedAddon::start().await;
    let control = emulator.control();
    control.install(&addon.descriptor_url("good"), 1).await;
    let (_, before) = control
        .post("/rooms/1/messages", json!({"message": "warming up"}))
        .await;
    let last = before["message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Nothing new: the wait ends empty-handed when its time is up.
    let started = std::time::Instant::now();
    let (status, none) = control
        .get(&format!(
            "/rooms/1/messages?after={last}&kind=notification&waitMs=300"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(none, json!([]));
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A waiting reader gets the add-on's answer as soon as it is posted.
    let waiting = {
        let control = emulator.control();
        let path = format!("/rooms/1/messages?after={last}&kind=notification&waitMs=10000");
        tokio::spawn(async move { control.get(&path).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    control
        .post("/rooms/1/messages", json!({"message": "/ping"}))
        .await;
    let (status, replies) = waiting.await.expect("the waiting request");
    assert_eq!(status, 200, "{replies}");
    assert_eq!(replies[0]["kind"], "notification", "{replies}");
    assert_eq!(replies[0]["message"], "pong <script>x</script>");

    let (status, body) = control.get("/rooms/1/messages?after=nope").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = control.get("/rooms/1/messages?kind=reply").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn stops_promptly_on_sigterm_even_while_a_page_listens_and_a_script_waits() {
    let mut emulator = Emulator::start(&[]).await;
    let events = http_client()
        .get(emulator.at("/_emulator/events"))
        .send()
        .await
        .expect("the event stream");
    assert_eq!(events.status(), 200);
    let waiting = {
        let control = emulator.control();
        tokio::spawn(async move { control.get("/rooms/1/messages?waitMs=30000").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = i32::try_from(emulator.process.pid()).expect("a pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM sent");
    let status = emulator.process.wait(Duration::from_secs(5)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "the emulator did not stop cleanly within 5 s: {status:?}"
    );
    drop(events);
    let (status, messages) = waiting.await.expect("the waiting request");
    assert_eq!((status, messages), (200, json!([])));
}
