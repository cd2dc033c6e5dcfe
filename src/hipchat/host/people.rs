//! Users in rooms, topics, and messages add-ons send as themselves:
//! `room_enter`, `room_exit` and `room_topic_change` go to the add-ons
//! installed in the room, as HipChat delivered them.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::deliver::{self, deliver, targets};
use super::model::{Author, ChatEntry, Delivery, EntryKind, HostEvent, User};
use super::shapes::{room_brief, user_brief};
use super::state::{Shared, new_entry};
use crate::hipchat::notification::MessageFormat;

/// The longest topic HipChat accepted, in characters.
pub const MAX_TOPIC_CHARS: usize = 250;
/// The longest message sent with `send_message`, in characters.
pub const MAX_SENT_MESSAGE_CHARS: usize = 1000;

/// Why a change to a room's people or topic was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    /// No such room.
    #[error("no room {0}")]
    UnknownRoom(u64),
    /// No such user.
    #[error("no user {0}")]
    UnknownUser(u64),
    /// The topic is too long.
    #[error("the topic is {0} characters long; HipChat accepts at most 250")]
    TopicTooLong(usize),
}

fn room_and_user(shared: &Shared, room_id: u64, user_id: u64) -> Result<User, PeopleError> {
    let inner = shared.lock();
    if !inner.rooms.contains_key(&room_id) {
        return Err(PeopleError::UnknownRoom(room_id));
    }
    inner
        .users
        .get(&user_id)
        .cloned()
        .ok_or(PeopleError::UnknownUser(user_id))
}

/// Tells every add-on with a webhook for `event` in the room.
async fn fan_out(
    shared: &Arc<Shared>,
    room_id: u64,
    event: &str,
    item: &Value,
    user: Option<&User>,
    except: Option<&str>,
) -> Vec<Delivery> {
    let targets = targets(shared, room_id, event, except, |_| true);
    join_all(
        targets
            .into_iter()
            .map(|t| deliver(shared, t, event, item, room_id, user, true)),
    )
    .await
}

/// `user_id` enters `room_id` (nothing happens if already in it).
pub(crate) async fn enter(
    shared: &Arc<Shared>,
    room_id: u64,
    user_id: u64,
) -> Result<Vec<Delivery>, PeopleError> {
    change_presence(shared, room_id, user_id, true).await
}

/// `user_id` leaves `room_id` (nothing happens if not in it).
pub(crate) async fn leave(
    shared: &Arc<Shared>,
    room_id: u64,
    user_id: u64,
) -> Result<Vec<Delivery>, PeopleError> {
    change_presence(shared, room_id, user_id, false).await
}

async fn change_presence(
    shared: &Arc<Shared>,
    room_id: u64,
    user_id: u64,
    entering: bool,
) -> Result<Vec<Delivery>, PeopleError> {
    let user = room_and_user(shared, room_id, user_id)?;
    let (changed, participants) = {
        let mut inner = shared.lock();
        let set = inner.participants.entry(room_id).or_default();
        let changed = if entering {
            set.insert(user_id)
        } else {
            set.remove(&user_id)
        };
        (changed, set.iter().copied().collect::<Vec<_>>())
    };
    if !changed {
        return Ok(Vec::new());
    }
    shared.publish(HostEvent::Participants {
        room_id,
        participants,
    });
    let room = shared.ensure_room(room_id);
    let api = shared.api_url();
    let item = json!({"room": room_brief(&api, &room), "sender": user_brief(&api, &user)});
    let event = if entering { "room_enter" } else { "room_exit" };
    Ok(fan_out(shared, room_id, event, &item, Some(&user), None).await)
}

/// Who changes a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicSetter {
    /// A user, from the page or the control API.
    User(u64),
    /// An add-on, through `PUT /room/{id}/topic` (it is not told of its own change).
    AddOn(String),
}

/// Sets a room's topic and tells the add-ons (`room_topic_change`).
pub(crate) async fn set_topic(
    shared: &Arc<Shared>,
    room_id: u64,
    by: TopicSetter,
    topic: &str,
) -> Result<Vec<Delivery>, PeopleError> {
    let chars = topic.chars().count();
    if chars > MAX_TOPIC_CHARS {
        return Err(PeopleError::TopicTooLong(chars));
    }
    let api = shared.api_url();
    let (sender, user, except) = match &by {
        TopicSetter::User(id) => {
            let user = room_and_user(shared, room_id, *id)?;
            (user_brief(&api, &user), Some(user), None)
        }
        TopicSetter::AddOn(oauth_id) => {
            if !shared.lock().rooms.contains_key(&room_id) {
                return Err(PeopleError::UnknownRoom(room_id));
            }
            let name = shared
                .lock()
                .credentials
                .get(oauth_id)
                .map(|c| c.display_name.clone())
                .unwrap_or_default();
            (
                json!({"id": oauth_id, "links": {"self": format!("{api}/addon")}, "mention_name": name.replace(' ', ""), "name": name}),
                None,
                Some(oauth_id.as_str()),
            )
        }
    };
    shared.lock().topics.insert(room_id, topic.to_owned());
    shared.publish(HostEvent::Topic {
        room_id,
        topic: topic.to_owned(),
    });
    let room = shared.ensure_room(room_id);
    let item = json!({"room": room_brief(&api, &room), "sender": sender, "topic": topic});
    Ok(fan_out(
        shared,
        room_id,
        "room_topic_change",
        &item,
        user.as_ref(),
        except,
    )
    .await)
}

/// What an add-on sends as itself (`send_message`).
pub(crate) struct Sent<'a> {
    pub(crate) room_id: u64,
    pub(crate) oauth_id: &'a str,
    pub(crate) message: String,
    pub(crate) parent_id: Option<String>,
    pub(crate) link: Option<String>,
}

/// Posts an add-on's message to a room and delivers it, in the background,
/// to the other add-ons' matching `room_message` webhooks.
pub(crate) fn send_message(shared: &Arc<Shared>, sent: Sent<'_>) -> ChatEntry {
    let (key, name) = {
        let inner = shared.lock();
        inner
            .credentials
            .get(sent.oauth_id)
            .map(|c| (c.key.clone(), c.display_name.clone()))
            .unwrap_or_default()
    };
    let entry = ChatEntry {
        kind: EntryKind::Message,
        parent_id: sent.parent_id,
        link: sent.link,
        ..new_entry(
            sent.room_id,
            Author::AddOn {
                oauth_id: sent.oauth_id.to_owned(),
                key,
                name: name.clone(),
                label: None,
            },
            sent.message,
            MessageFormat::Text,
        )
    };
    shared.add_chat(entry.clone());
    let text = entry.message.clone();
    let targets = targets(
        shared,
        sent.room_id,
        "room_message",
        Some(sent.oauth_id),
        |pattern| pattern.is_none_or(|re| re.is_match(&text)),
    );
    if !targets.is_empty() {
        let api = shared.api_url();
        let room = shared.ensure_room(sent.room_id);
        let item = json!({
            "message": {
                "date": entry.date,
                "from": {"id": sent.oauth_id, "links": {"self": format!("{api}/addon")}, "mention_name": name.replace(' ', ""), "name": name},
                "id": entry.id,
                "mentions": [],
                "message": entry.message,
                "type": "message",
            },
            "room": room_brief(&api, &room),
        });
        let shared = shared.clone();
        let room_id = sent.room_id;
        tokio::spawn(async move {
            for target in targets {
                deliver::deliver(&shared, target, "room_message", &item, room_id, None, false)
                    .await;
            }
        });
    }
    entry
}

/// A private message from an add-on to a user (`POST user/{id}/message`).
pub(crate) fn private_message(
    shared: &Shared,
    oauth_id: &str,
    to_user: u64,
    message: &str,
    format: MessageFormat,
    notify: bool,
) -> ChatEntry {
    let (key, name) = {
        let inner = shared.lock();
        inner
            .credentials
            .get(oauth_id)
            .map(|c| (c.key.clone(), c.display_name.clone()))
            .unwrap_or_default()
    };
    let message = match format {
        MessageFormat::Html => crate::hipchat::sanitize::sanitize_html(message),
        MessageFormat::Text => message.to_owned(),
    };
    let entry = ChatEntry {
        kind: EntryKind::Message,
        to_user: Some(to_user),
        notify,
        ..new_entry(
            0,
            Author::AddOn {
                oauth_id: oauth_id.to_owned(),
                key,
                name,
                label: None,
            },
            message,
            format,
        )
    };
    shared.add_chat(entry.clone());
    entry
}
