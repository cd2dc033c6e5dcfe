//! A user's room message: stored, then delivered to every installed add-on
//! whose `room_message` webhook matches, signed when the webhook asks; a
//! notification-shaped answer is posted to the room.

use std::sync::Arc;

use futures_util::future::join_all;
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

use super::exchange::{self, Outgoing};
use super::model::{Author, ChatEntry, Delivery, ExchangeKind, User};
use super::shapes::{mentioned, room_brief, user_brief};
use super::state::{Shared, new_entry};
use crate::hipchat::descriptor::WebhookAuth;
use crate::hipchat::jwt::{self, Algorithm, Claims, Context};
use crate::hipchat::notification::{MAX_MESSAGE_CHARS, MessageFormat, Notification};
use crate::hipchat::webhook::to_hipchat_json;

/// What HipChat's webhook deliveries said they were.
const USER_AGENT: &str = "HipChat.com";

/// HipChat's JWTs lived an hour.
pub(crate) const JWT_LIFETIME_SECS: u64 = 3600;

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
pub(crate) struct Target {
    pub(crate) oauth_id: String,
    pub(crate) key: String,
    pub(crate) secret: String,
    pub(crate) webhook_id: u64,
    pub(crate) url: String,
    pub(crate) authentication: WebhookAuth,
}

pub(crate) async fn post_message(
    shared: &Arc<Shared>,
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
    shared.ensure_user(user);
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
    let api = shared.api_url();
    let mentions: Vec<Value> = {
        let inner = shared.lock();
        mentioned(text, inner.users.values())
            .iter()
            .map(|u| user_brief(&api, u))
            .collect()
    };
    let item = json!({
        "message": {
            "date": entry.date,
            "from": user_brief(&api, user),
            "id": entry.id,
            "mentions": mentions,
            "message": entry.message,
            "type": "message",
        },
        "room": room_brief(&api, &room),
    });
    let targets = targets(shared, room_id, "room_message", None, |pattern| {
        pattern.is_none_or(|re| re.is_match(text))
    });
    let deliveries = join_all(
        targets
            .into_iter()
            .map(|t| deliver(shared, t, "room_message", &item, room.id, Some(user), true)),
    )
    .await;
    Ok(Posted { entry, deliveries })
}

/// The webhooks for `event` of the add-ons installed in the room (or
/// globally), with live credentials, whose pattern (if any) `matches`;
/// `except` leaves one installation out.
pub(crate) fn targets(
    shared: &Shared,
    room_id: u64,
    event: &str,
    except: Option<&str>,
    matches: impl Fn(Option<&Regex>) -> bool,
) -> Vec<Target> {
    let inner = shared.lock();
    let mut out = Vec::new();
    for record in inner.installs.values() {
        let install = &record.installation;
        if install.room_id.is_some_and(|r| r != room_id)
            || except == Some(install.oauth_id.as_str())
        {
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
            let pattern = hook.pattern.as_ref().map(|_| record.patterns.get(&hook.id));
            let matched = match pattern {
                None => matches(None),
                // A pattern that did not compile matches nothing.
                Some(None) => false,
                Some(Some(re)) => matches(Some(re)),
            };
            if hook.event == event && in_room && matched {
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

/// The claims of a JWT the host signs for `oauth_id`, on behalf of `user`
/// in `room_id`: webhooks, pages, glance queries, `HipChat.auth.withToken`.
pub(crate) fn claims_for(oauth_id: &str, user: Option<&User>, room_id: Option<u64>) -> Claims {
    let iat = jwt::unix_now();
    let sub = user.map(|u| u.id.to_string());
    Claims {
        iss: oauth_id.to_owned(),
        // 2014-era libraries read the user from `prn`.
        prn: sub.clone(),
        sub,
        iat,
        exp: iat + JWT_LIFETIME_SECS,
        jti: Some(uuid::Uuid::new_v4().to_string()),
        context: Some(Context {
            room_id,
            user_tz: user.map(|u| u.timezone.clone()),
        }),
    }
}

/// POSTs one event to one webhook as HipChat did (`{event, item,
/// oauth_client_id, webhook_id}`, signed when the webhook asks) and, with
/// `post_reply`, posts a notification-shaped answer to the room.
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    target: Target,
    event: &str,
    item: &Value,
    room_id: u64,
    user: Option<&User>,
    post_reply: bool,
) -> Delivery {
    let body = json!({
        "event": event,
        "item": item,
        "oauth_client_id": target.oauth_id,
        "webhook_id": target.webhook_id,
    });
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("user-agent".to_owned(), USER_AGENT.to_owned()),
    ];
    let mut claims = None;
    let mut sign_error = None;
    if target.authentication == WebhookAuth::Jwt {
        let c = claims_for(&target.oauth_id, user, Some(room_id));
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
            body: Some(to_hipchat_json(&body)),
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
        Ok(a) if post_reply => match inline_notification(&a.body) {
            None => {}
            Some(Err(reason)) => error = Some(reason),
            Some(Ok(notification)) => {
                reply = Some(post_notification(
                    shared,
                    room_id,
                    &target.oauth_id,
                    &notification,
                ));
            }
        },
        Ok(_) => {}
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

/// Posts an add-on's notification to a room, then tells the other add-ons
/// in the room (`room_notification`) in the background, as HipChat did.
pub(crate) fn post_notification(
    shared: &Arc<Shared>,
    room_id: u64,
    oauth_id: &str,
    notification: &Notification,
) -> ChatEntry {
    let entry = shared.post_notification(room_id, oauth_id, notification);
    let targets = targets(shared, room_id, "room_notification", Some(oauth_id), |_| {
        true
    });
    if !targets.is_empty() {
        let room = shared.ensure_room(room_id);
        let api = shared.api_url();
        let from = match &entry.author {
            Author::AddOn { name, label, .. } => label.clone().unwrap_or_else(|| name.clone()),
            Author::User { name, .. } => name.clone(),
        };
        let item = json!({
            "message": {
                "color": entry.color.unwrap_or_default(),
                "date": entry.date,
                "from": from,
                "id": entry.id,
                "mentions": [],
                "message": entry.message,
                "message_format": entry.message_format,
                "type": "notification",
            },
            "room": room_brief(&api, &room),
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            for target in targets {
                deliver(
                    &shared,
                    target,
                    "room_notification",
                    &item,
                    room_id,
                    None,
                    false,
                )
                .await;
            }
        });
    }
    entry
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
