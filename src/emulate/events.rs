//! `GET /_emulator/events`: the host's live events as server-sent events,
//! named for what the page updates (`message`, `exchange`, `installs`,
//! `rooms`; `resync` when the stream fell behind and the page should reload).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::server::AppState;
use super::views::{ExchangeView, InstallView, MessageView, RoomView};
use crate::hipchat::host::HostEvent;

/// The SSE name and JSON data of a host event.
pub fn sse_event(event: &HostEvent) -> (&'static str, Value) {
    let data = match event {
        HostEvent::RoomCreated { room } => {
            return ("rooms", json!({"created": RoomView::from(room)}));
        }
        HostEvent::Chat { entry } => {
            let name = if entry.to_user.is_some() {
                "private"
            } else {
                "message"
            };
            return (name, to_json(&MessageView::from(entry)));
        }
        HostEvent::Topic { room_id, topic } => {
            return ("topic", json!({"roomId": room_id, "topic": topic}));
        }
        HostEvent::Participants {
            room_id,
            participants,
        } => {
            return (
                "participants",
                json!({"roomId": room_id, "participants": participants}),
            );
        }
        HostEvent::Glance {
            oauth_id,
            key,
            scope,
            content,
        } => {
            return (
                "glance",
                json!({"oauthId": oauth_id, "key": key, "scope": scope, "content": content}),
            );
        }
        HostEvent::Updated { installation } => {
            json!({"updated": InstallView::from(installation)})
        }
        HostEvent::Exchange { exchange } => {
            return ("exchange", to_json(&ExchangeView::from(exchange.as_ref())));
        }
        HostEvent::Installed { installation } => {
            json!({"installed": InstallView::from(installation)})
        }
        HostEvent::Uninstalled {
            oauth_id,
            key,
            room_id,
        } => json!({"uninstalled": {"oauthId": oauth_id, "key": key, "roomId": room_id}}),
    };
    ("installs", data)
}

fn to_json(view: &impl serde::Serialize) -> Value {
    // The views are plain data; serialising them cannot fail.
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// Counts an open event stream while it lives (the health probe runs
/// only while a page watches).
struct Watching(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Watching {
    fn new(count: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Watching(count)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The event stream; it ends when the emulator shuts down so graceful
/// shutdown does not wait on open pages. Besides the host's events it
/// carries `health` (`{"oauthId", "up", "reason"}`) when an add-on stops or
/// starts answering.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = state.host.subscribe();
    let health = state.health.subscribe();
    let shutdown = state.shutdown.clone();
    let watching = Watching::new(state.watchers.clone());
    let stream = futures_util::stream::unfold(
        (events, health, shutdown, watching),
        |(mut events, mut health, mut shutdown, watching)| async move {
            let event = tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => {
                        let (name, data) = sse_event(&event);
                        Event::default().event(name).data(data.to_string())
                    }
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("resync")
                        .data(json!({"missed": missed}).to_string()),
                    Err(RecvError::Closed) => return None,
                },
                changed = health.recv() => match changed {
                    Ok((oauth_id, state)) => Event::default().event("health").data(
                        json!({"oauthId": oauth_id, "up": state.up, "reason": state.reason}).to_string(),
                    ),
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                },
                _ = shutdown.wait_for(|stopping| *stopping) => return None,
            };
            Some((Ok(event), (events, health, shutdown, watching)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Writes what happens on the host to the log, for whoever watches the
/// terminal: installs, uninstalls, messages, and every exchange that failed.
/// Runs until the host's event channel closes or `shutdown` flips.
pub async fn log_events(
    mut events: tokio::sync::broadcast::Receiver<HostEvent>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            received = events.recv() => received,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        match event {
            Ok(event) => log_event(&event),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the log fell behind the host's events");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

fn log_event(event: &HostEvent) {
    match event {
        HostEvent::RoomCreated { room } => {
            tracing::info!(room = room.id, name = %room.name, "room created");
        }
        HostEvent::Chat { entry } => {
            let view = MessageView::from(entry);
            // A message may be 10,000 characters; its start is enough here.
            let mut message: String = view.message.chars().take(160).collect();
            if message.len() < view.message.len() {
                message.push('…');
            }
            tracing::info!(room = view.room_id, from = %view.sender, %message, "chat");
        }
        HostEvent::Installed { installation } => tracing::info!(
            key = %installation.key,
            oauth_id = %installation.oauth_id,
            room = %installation.room_id.map_or_else(|| "all (global)".to_string(), |r| r.to_string()),
            "add-on installed"
        ),
        HostEvent::Uninstalled { oauth_id, key, .. } => {
            tracing::info!(%key, %oauth_id, "add-on uninstalled");
        }
        HostEvent::Updated { installation } => tracing::info!(
            key = %installation.key,
            oauth_id = %installation.oauth_id,
            "add-on updated from its changed descriptor"
        ),
        HostEvent::Topic { room_id, topic } => {
            tracing::info!(room = room_id, %topic, "topic changed");
        }
        HostEvent::Participants { .. } | HostEvent::Glance { .. } => {}
        HostEvent::Exchange { exchange } => {
            let expected = exchange
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("expected"));
            let failed =
                !expected && (exchange.error.is_some() || exchange.status.is_none_or(|s| s >= 400));
            if failed {
                // URLs and errors come redacted from the host: no tokens.
                tracing::warn!(
                    kind = exchange.kind.name(),
                    method = %exchange.method,
                    url = %exchange.url,
                    status = %exchange.status.map_or_else(|| "none".to_string(), |s| s.to_string()),
                    error = exchange.error.as_deref().unwrap_or(""),
                    "exchange with an add-on failed"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hipchat::host::Room;

    #[test]
    fn room_and_install_events_are_named_for_what_the_page_reloads() {
        let room = HostEvent::RoomCreated {
            room: Room {
                id: 3,
                name: "Ops".into(),
            },
        };
        let (name, data) = sse_event(&room);
        assert_eq!(name, "rooms");
        assert_eq!(data["created"]["id"], 3);

        let gone = HostEvent::Uninstalled {
            oauth_id: "o1".into(),
            key: "com.example".into(),
            room_id: Some(3),
        };
        let (name, data) = sse_event(&gone);
        assert_eq!(name, "installs");
        assert_eq!(data["uninstalled"]["oauthId"], "o1");
        assert_eq!(data["uninstalled"]["roomId"], 3);
    }
}
