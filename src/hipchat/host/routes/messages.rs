//! Messages add-ons send as themselves (`send_message`): `room/{id}/message`,
//! `room/{id}/reply`, `room/{id}/share/link`, `user/{id}/message`; and the
//! room's history (`view_messages`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::people::find_user;
use super::{
    Caller, Limited, Refusal, authorize, authorize_group, json_body, paging, query_param, room_id,
    with_rate_headers,
};
use crate::hipchat::host::model::ChatEntry;
use crate::hipchat::host::people::{self, MAX_SENT_MESSAGE_CHARS, Sent};
use crate::hipchat::host::shapes::{history_item, mentioned, page};
use crate::hipchat::host::state::Shared;
use crate::hipchat::notification::{MAX_MESSAGE_CHARS, MessageFormat};

/// A required string field of at most `max` characters.
fn text_field(
    caller: &Caller,
    body: &Value,
    key: &str,
    max: usize,
    example: &str,
) -> Result<String, Limited> {
    match body.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => {
            let chars = text.chars().count();
            if chars > max {
                Err(caller.refuse(Refusal::BadRequest(format!(
                    "{key} is {chars} characters long; at most {max}"
                ))))
            } else {
                Ok(text.clone())
            }
        }
        Some(Value::String(_)) => {
            Err(caller.refuse(Refusal::BadRequest(format!("{key} is empty"))))
        }
        Some(_) => Err(caller.refuse(Refusal::BadRequest(format!("{key} must be a string")))),
        None => Err(caller.refuse(Refusal::BadRequest(format!(
            "{key} is missing; send {example}"
        )))),
    }
}

/// `POST room/{id}/message {"message"}`: 201 `{"id", "timestamp"}`.
pub(crate) async fn send(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), &["send_message"], room)?;
    let body = json_body(&caller, &body)?;
    let message = text_field(
        &caller,
        &body,
        "message",
        MAX_SENT_MESSAGE_CHARS,
        "{\"message\": \"Hello\"}",
    )?;
    let entry = people::send_message(
        &shared,
        Sent {
            room_id: room,
            oauth_id: &caller.oauth_id,
            message,
            parent_id: None,
            link: None,
        },
    );
    let answer = (
        StatusCode::CREATED,
        Json(json!({"id": entry.id, "timestamp": entry.date})),
    );
    Ok(with_rate_headers(answer.into_response(), &caller.quota))
}

/// `POST room/{id}/reply {"parentMessageId", "message"}`: 204.
pub(crate) async fn reply(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), &["send_message"], room)?;
    let body = json_body(&caller, &body)?;
    let example = "{\"parentMessageId\": \"<a message id>\", \"message\": \"Hello\"}";
    let parent = text_field(&caller, &body, "parentMessageId", 100, example)?;
    let message = text_field(&caller, &body, "message", MAX_SENT_MESSAGE_CHARS, example)?;
    let known = shared
        .lock()
        .chat
        .get(&room)
        .is_some_and(|log| log.iter().any(|e| e.id == parent));
    if !known {
        return Err(caller.refuse(Refusal::BadRequest(format!(
            "parentMessageId {parent} is not a message of room {room}"
        ))));
    }
    people::send_message(
        &shared,
        Sent {
            room_id: room,
            oauth_id: &caller.oauth_id,
            message,
            parent_id: Some(parent),
            link: None,
        },
    );
    Ok(caller.no_content())
}

/// `POST|PUT room/{id}/share/link {"link", "message"}`: 204.
pub(crate) async fn share_link(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), &["send_message"], room)?;
    let body = json_body(&caller, &body)?;
    let link = text_field(
        &caller,
        &body,
        "link",
        2000,
        "{\"link\": \"https://example.com\", \"message\": \"Look\"}",
    )?;
    if !url::Url::parse(&link).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Err(caller.refuse(Refusal::BadRequest(format!(
            "link {link:?} is not an http(s) URL"
        ))));
    }
    let message = match body.get("message") {
        None | Some(Value::Null) => String::new(),
        Some(_) => text_field(&caller, &body, "message", MAX_SENT_MESSAGE_CHARS, "")?,
    };
    let text = if message.is_empty() {
        link.clone()
    } else {
        format!("{message} {link}")
    };
    people::send_message(
        &shared,
        Sent {
            room_id: room,
            oauth_id: &caller.oauth_id,
            message: text,
            parent_id: None,
            link: Some(link),
        },
    );
    Ok(caller.no_content())
}

/// `POST user/{id_or_email_or_@mention}/message {"message", "notify",
/// "message_format"}`: 204.
pub(crate) async fn private(
    State(shared): State<Arc<Shared>>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let (caller, _) = authorize_group(&shared, &headers, query.as_deref(), &["send_message"])?;
    let body = json_body(&caller, &body)?;
    let Some(user) = find_user(&shared, &raw) else {
        return Err(caller.refuse(Refusal::NotFound(format!("User {raw} not found"))));
    };
    let message = text_field(
        &caller,
        &body,
        "message",
        MAX_MESSAGE_CHARS,
        "{\"message\": \"Hello\"}",
    )?;
    let format = match body.get("message_format").and_then(Value::as_str) {
        None | Some("text") => MessageFormat::Text,
        Some("html") => MessageFormat::Html,
        Some(other) => {
            return Err(caller.refuse(Refusal::BadRequest(format!(
                "message_format is {other:?}; use \"text\" or \"html\""
            ))));
        }
    };
    let notify = body.get("notify").and_then(Value::as_bool).unwrap_or(false);
    people::private_message(&shared, &caller.oauth_id, user.id, &message, format, notify);
    Ok(caller.no_content())
}

fn items(shared: &Shared, entries: &[ChatEntry]) -> Vec<Value> {
    let api = shared.api_url();
    let inner = shared.lock();
    entries
        .iter()
        .map(|e| history_item(&api, e, &mentioned(&e.message, inner.users.values())))
        .collect()
}

/// `GET room/{id}/history`: oldest first (`?reverse=false`: newest first),
/// paged with `start-index` and `max-results` (75 by default).
pub(crate) async fn history(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(
        &shared,
        &headers,
        query.as_deref(),
        &["view_messages"],
        room,
    )?;
    let (start, max) = paging(&caller, query.as_deref(), 75)?;
    let mut entries = shared.room_log(room);
    if query_param(query.as_deref(), "reverse").is_some_and(|v| v == "false") {
        entries.reverse();
    }
    let page_entries: Vec<ChatEntry> = entries.into_iter().skip(start).take(max).collect();
    let url = format!("{}/room/{room}/history", shared.api_url());
    let body = page(items(&shared, &page_entries), start, max, &url);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// `GET room/{id}/history/latest`: the newest `max-results` messages,
/// oldest first, or those after the message `not-before`.
pub(crate) async fn latest(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(
        &shared,
        &headers,
        query.as_deref(),
        &["view_messages"],
        room,
    )?;
    let (_, max) = paging(&caller, query.as_deref(), 75)?;
    let entries = shared.room_log(room);
    let after: Vec<ChatEntry> = match query_param(query.as_deref(), "not-before") {
        None => entries,
        Some(id) => match entries.iter().position(|e| e.id == id) {
            Some(i) => entries[i..].to_vec(),
            None => {
                return Err(caller.refuse(Refusal::BadRequest(format!(
                    "not-before {id} is not a message of room {room}"
                ))));
            }
        },
    };
    let skip = after.len().saturating_sub(max);
    let newest: Vec<ChatEntry> = after.into_iter().skip(skip).collect();
    let url = format!("{}/room/{room}/history/latest", shared.api_url());
    let body = page(items(&shared, &newest), 0, max, &url);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}
