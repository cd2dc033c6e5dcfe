//! `GET /_emulator/rooms/{roomId}/messages`: a room's history, optionally
//! only what came after a given message, of one kind, waiting (long poll)
//! for the first match so CI scripts need no sleep loops.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::control::{ApiResult, existing_room, room_path};
use super::error::ApiError;
use super::server::AppState;
use super::views::{DeliveryView, MessageKind, MessageView};
use crate::hipchat::host::{ChatEntry, HostEvent};

/// What became of typed messages at the add-ons, by message id, so a
/// reloaded page still shows it (the newest 2,000).
#[derive(Debug, Default)]
pub struct Deliveries {
    by_message: std::collections::HashMap<String, Vec<DeliveryView>>,
    order: std::collections::VecDeque<String>,
}

impl Deliveries {
    const KEPT: usize = 2000;

    /// Keeps the deliveries of a message.
    pub fn keep(&mut self, message_id: &str, deliveries: Vec<DeliveryView>) {
        if self
            .by_message
            .insert(message_id.to_owned(), deliveries)
            .is_none()
        {
            self.order.push_back(message_id.to_owned());
        }
        while self.order.len() > Self::KEPT {
            if let Some(old) = self.order.pop_front() {
                self.by_message.remove(&old);
            }
        }
    }

    /// Fills in the deliveries of the messages that had some.
    pub fn attach(&self, messages: &mut [MessageView]) {
        for message in messages {
            if let Some(d) = self.by_message.get(&message.id) {
                message.deliveries = Some(d.clone());
            }
        }
    }
}

/// The longest a request may wait.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Query of `GET /_emulator/rooms/{roomId}/messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryQuery {
    /// Only messages after the one with this id.
    pub after: Option<String>,
    /// Only `message`s (typed by users) or `notification`s (from add-ons).
    pub kind: Option<MessageKind>,
    /// Wait up to this many milliseconds for a first match (max 30,000).
    pub wait_ms: Option<u64>,
}

/// The entries of `history` (oldest first) that `query` selects.
pub fn select(history: &[ChatEntry], query: &HistoryQuery) -> Result<Vec<MessageView>, ApiError> {
    let start = match &query.after {
        None => 0,
        Some(id) => {
            history.iter().position(|e| &e.id == id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "no message {id} in this room's history; pass the id of a message \
                         listed by GET /_emulator/rooms/{{roomId}}/messages"
                ))
            })? + 1
        }
    };
    Ok(history[start..]
        .iter()
        .map(MessageView::from)
        .filter(|m| query.kind.is_none_or(|kind| m.kind == kind))
        .collect())
}

/// The handler.
pub async fn room_messages(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let room_id = room_path(path)?;
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the filters are ?after=MESSAGE_ID, ?kind=message|notification and ?waitMs=N",
            e.body_text()
        ))
    })?;
    existing_room(&state, room_id)?;
    let wait = Duration::from_millis(query.wait_ms.unwrap_or(0)).min(MAX_WAIT);
    // Subscribe before reading the history, so nothing posted in between is missed.
    let mut events = state.host.subscribe();
    let found = select(&state.host.room_messages(room_id), &query)?;
    if !found.is_empty() || wait.is_zero() {
        return Ok(Json(with_deliveries(&state, found)));
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut shutdown = state.shutdown.clone();
    loop {
        let event = tokio::select! {
            event = tokio::time::timeout_at(deadline, events.recv()) => event,
            // Stopping: answer now rather than hold the shutdown up.
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        };
        match event {
            // Time is up, or the host is going away: answer what there is.
            Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
            Ok(Ok(HostEvent::Chat { entry })) if entry.room_id == room_id => {
                let found = select(&state.host.room_messages(room_id), &query)?;
                if !found.is_empty() {
                    return Ok(Json(with_deliveries(&state, found)));
                }
            }
            Ok(_) => {}
        }
    }
    let found = select(&state.host.room_messages(room_id), &query)?;
    Ok(Json(with_deliveries(&state, found)))
}

fn with_deliveries(state: &AppState, mut found: Vec<MessageView>) -> Vec<MessageView> {
    state
        .deliveries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .attach(&mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hipchat::host::Author;
    use crate::hipchat::notification::MessageFormat;

    fn entry(id: &str, addon: bool) -> ChatEntry {
        let author = if addon {
            Author::AddOn {
                oauth_id: "o".into(),
                key: "k".into(),
                name: "Add-on".into(),
                label: None,
            }
        } else {
            Author::User {
                id: 1,
                name: "U".into(),
                mention_name: "U".into(),
            }
        };
        let author_kind = matches!(author, Author::AddOn { .. });
        ChatEntry {
            id: id.into(),
            room_id: 1,
            date: String::new(),
            at_ms: 0,
            author,
            message: id.into(),
            message_format: MessageFormat::Text,
            color: None,
            notify: false,
            card: None,
            kind: match author_kind {
                true => crate::hipchat::host::EntryKind::Notification,
                false => crate::hipchat::host::EntryKind::Message,
            },
            parent_id: None,
            link: None,
            to_user: None,
        }
    }

    fn ids(views: &[MessageView]) -> Vec<&str> {
        views.iter().map(|v| v.id.as_str()).collect()
    }

    #[test]
    fn selects_what_came_after_a_message_and_of_one_kind() {
        let history = [
            entry("a", false),
            entry("b", true),
            entry("c", false),
            entry("d", true),
        ];
        let all = select(&history, &HistoryQuery::default()).expect("all");
        assert_eq!(ids(&all), ["a", "b", "c", "d"]);
        let after = HistoryQuery {
            after: Some("b".into()),
            ..HistoryQuery::default()
        };
        assert_eq!(ids(&select(&history, &after).expect("after b")), ["c", "d"]);
        let replies = HistoryQuery {
            after: Some("a".into()),
            kind: Some(MessageKind::Notification),
            ..HistoryQuery::default()
        };
        assert_eq!(
            ids(&select(&history, &replies).expect("replies")),
            ["b", "d"]
        );
        let last = HistoryQuery {
            after: Some("d".into()),
            ..HistoryQuery::default()
        };
        assert!(select(&history, &last).expect("nothing after d").is_empty());
    }

    #[test]
    fn an_unknown_message_id_is_an_error_that_says_where_ids_come_from() {
        let query = HistoryQuery {
            after: Some("zzz".into()),
            ..HistoryQuery::default()
        };
        let err = select(&[entry("a", false)], &query).expect_err("unknown id");
        assert_eq!(err.status, axum::http::StatusCode::NOT_FOUND);
        assert!(err.message.contains("zzz"), "{}", err.message);
    }
}
