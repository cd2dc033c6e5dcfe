//! A user's room message: stored, then delivered to every installed add-on
//! whose `room_message` webhook matches, signed when the webhook asks; a
//! notification-shaped answer is posted to the room.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::Value;

use super::exchange::{self, Outgoing};
use super::model::{Author, ChatEntry, Delivery, ExchangeKind, Room, User};
use super::state::{Shared, new_entry};
use crate::hipchat::descriptor::WebhookAuth;
use crate::hipchat::jwt::{self, Algorithm, Claims, Context};
use crate::hipchat::notification::{MAX_MESSAGE_CHARS, MessageFormat, Notification};
use crate::hipchat::webhook::{
    Item, Message, Room as EventRoom, RoomMessageEvent, SelfLink, Sender,
};

/// What HipChat's webhook deliveries said they were.
const USER_AGENT: &str = "HipChat.com";

/// HipChat's JWTs lived an hour.
const JWT_LIFETIME_SECS: u64 = 3600;

/// Why a room message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Empty or blank.
    #[error("the message is empty")]
    Empty,
    /// Over 10,000 characters.
    #[error("the message is {0} characters long; HipChat accepts at most 10000")]
    TooLong(usize),
}

/// A posted room message and what became of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Posted {
    /// The message as stored in the room.
    pub entry: ChatEntry,
    /// One delivery per matching webhook, in installation order.
    pub deliveries: Vec<Delivery>,
}

/// One webhook to call.
struct Target {
    oauth_id: String,
    key: String,
    secret: String,
    webhook_id: u64,
    url: String,
    authentication: WebhookAuth,
}

pub(crate) async fn post_message(
    shared: &Shared,
    room_id: u64,
    user: &User,
    text: &str,
) -> Result<Posted, MessageError> {
    if text.trim().is_empty() {
        return Err(MessageError::Empty);
    }
    let len = text.chars().count();
    if len > MAX_MESSAGE_CHARS {
        return Err(MessageError::TooLong(len));
    }
    let room = shared.ensure_room(room_id);
    let entry = new_entry(
        room_id,
        Author::User {
            id: user.id,
            name: user.name.clone(),
            mention_name: user.mention_name.clone(),
        },
        text.to_owned(),
        MessageFormat::Text,
    );
    shared.add_chat(entry.clone());
    let targets = targets(shared, room_id, text);
    let deliveries = join_all(
        targets
            .into_iter()
            .map(|t| deliver(shared, t, &room, user, &entry)),
    )
    .await;
    Ok(Posted { entry, deliveries })
}

/// The matching room_message webhooks of the add-ons installed in the room
/// (or globally), with live credentials.
fn targets(shared: &Shared, room_id: u64, text: &str) -> Vec<Target> {
    let inner = shared.lock();
    let mut out = Vec::new();
    for record in inner.installs.values() {
        let install = &record.installation;
        if install.room_id.is_some_and(|r| r != room_id) {
            continue;
        }
        let Some(credential) = inner
            .credentials
            .get(&install.oauth_id)
            .filter(|c| !c.revoked)
        else {
            continue;
        };
        for hook in &install.webhooks {
            let in_room = hook.room_id.is_none_or(|r| r == room_id);
            let matches = match &hook.pattern {
                None => true,
                Some(_) => record
                    .patterns
                    .get(&hook.id)
                    .is_some_and(|re| re.is_match(text)),
            };
            if hook.event == "room_message" && in_room && matches {
                out.push(Target {
                    oauth_id: install.oauth_id.clone(),
                    key: install.key.clone(),
                    secret: credential.secret.clone(),
                    webhook_id: hook.id,
                    url: hook.url.clone(),
                    authentication: hook.authentication,
                });
            }
        }
    }
    out
}

/// HipChat's body for one webhook.
fn event_body(
    api: &str,
    target: &Target,
    room: &Room,
    user: &User,
    entry: &ChatEntry,
) -> RoomMessageEvent {
    RoomMessageEvent {
        event: "room_message".into(),
        item: Item {
            message: Message {
                date: entry.date.clone(),
                from: Some(Sender {
                    id: user.id,
                    links: SelfLink {
                        self_url: format!("{api}/user/{}", user.id),
                    },
                    mention_name: user.mention_name.clone(),
                    name: user.name.clone(),
                    version: Some("00000000".into()),
                }),
                id: entry.id.clone(),
                mentions: Vec::new(),
                message: entry.message.clone(),
                kind: "message".into(),
            },
            room: EventRoom {
                id: room.id,
                links: SelfLink {
                    self_url: format!("{api}/room/{}", room.id),
                },
                name: room.name.clone(),
                version: Some("00000000".into()),
            },
        },
        oauth_client_id: target.oauth_id.clone(),
        webhook_id: target.webhook_id,
    }
}

async fn deliver(
    shared: &Shared,
    target: Target,
    room: &Room,
    user: &User,
    entry: &ChatEntry,
) -> Delivery {
    let api = format!("{}/v2", shared.base_url().unwrap_or_default());
    let body = Some(event_body(&api, &target, room, user, entry).to_hipchat_json());
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("user-agent".to_owned(), USER_AGENT.to_owned()),
    ];
    let mut claims = None;
    let mut sign_error = None;
    if target.authentication == WebhookAuth::Jwt {
        let iat = jwt::unix_now();
        let c = Claims {
            iss: target.oauth_id.clone(),
            sub: Some(user.id.to_string()),
            prn: None,
            iat,
            exp: iat + JWT_LIFETIME_SECS,
            jti: Some(uuid::Uuid::new_v4().to_string()),
            context: Some(Context {
                room_id: Some(room.id),
                user_tz: Some(user.timezone.clone()),
            }),
        };
        match jwt::sign(&c, target.secret.as_bytes(), Algorithm::HS256) {
            Ok(token) => headers.push(("authorization".into(), format!("JWT {token}"))),
            Err(e) => sign_error = Some(e.to_string()),
        }
        claims = Some(c);
    }
    let (mut record, answer) = exchange::send(
        shared,
        Outgoing {
            kind: ExchangeKind::Webhook,
            oauth_id: Some(target.oauth_id.clone()),
            method: Method::POST,
            url: target.url.clone(),
            headers,
            body,
            jwt_claims: claims,
            timeout: shared.options.request_timeout,
        },
    )
    .await;
    let mut reply = None;
    let mut error = sign_error;
    match &answer {
        Err(reason) => error = Some(reason.clone()),
        Ok(a) if !(200..300).contains(&a.status) => {
            error = Some(format!("the add-on answered HTTP {}", a.status));
        }
        Ok(a) => match inline_notification(&a.body) {
            None => {}
            Some(Err(reason)) => error = Some(reason),
            Some(Ok(notification)) => {
                reply = Some(shared.post_notification(room.id, &target.oauth_id, &notification));
            }
        },
    }
    if error.is_some() {
        record.error.clone_from(&error);
    }
    Delivery {
        oauth_id: target.oauth_id,
        key: target.key,
        webhook_id: target.webhook_id,
        url: target.url,
        exchange_id: shared.record(record),
        status: answer.as_ref().ok().map(|a| a.status),
        error,
        reply,
    }
}

/// A 2xx answer that is a JSON object with a `message` is a notification
/// for the room (HipChat documented this); anything else is no reply.
fn inline_notification(body: &[u8]) -> Option<Result<Notification, String>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("message")?;
    Some(
        Notification::from_value(&value)
            .map_err(|e| format!("the answer was not posted to the room: {e}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treats_only_a_json_object_with_a_message_as_a_reply() {
        assert!(inline_notification(b"").is_none());
        assert!(inline_notification(b"ok").is_none());
        assert!(inline_notification(br#"{"status":"ok"}"#).is_none());
        let reply = inline_notification(br#"{"message":"hi","color":"green"}"#);
        assert!(matches!(reply, Some(Ok(n)) if n.message == "hi"));
        let bad = inline_notification(br#"{"message":"hi","color":"blue"}"#);
        assert!(matches!(bad, Some(Err(e)) if e.contains("color")));
    }
}
