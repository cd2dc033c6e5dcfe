//! The `room_message` webhook body HipChat POSTs to add-ons.
//!
//! Parsing is lenient about what the add-on does not need (extra fields,
//! odd sender shapes) and strict about what it does: the message text, the
//! room id and `oauth_client_id`, with errors naming the missing field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{FieldError, Obj};

/// Why a webhook body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body is not JSON.
    #[error("the webhook body is not valid JSON: {0}")]
    NotJson(String),
    /// A needed field is missing or of the wrong type.
    #[error("the webhook body is incomplete: {0}")]
    Field(#[from] FieldError),
}

/// `links` with only `self`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SelfLink {
    /// The resource's own API URL.
    #[serde(rename = "self")]
    pub self_url: String,
}

/// Who sent the message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sender {
    /// User id.
    pub id: u64,
    /// `links.self` of the user.
    pub links: SelfLink,
    /// `@name` without the `@`.
    pub mention_name: String,
    /// Display name.
    pub name: String,
    /// Opaque version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The message part of the event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Message {
    /// ISO 8601 timestamp with microseconds and offset.
    pub date: String,
    /// The sender, when it is a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Sender>,
    /// Message id (a UUID).
    pub id: String,
    /// Users mentioned (kept as sent).
    #[serde(default)]
    pub mentions: Vec<Value>,
    /// The text.
    pub message: String,
    /// `message`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The room part of the event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Room {
    /// Room id.
    pub id: u64,
    /// `links.self` of the room.
    pub links: SelfLink,
    /// Room name.
    pub name: String,
    /// Opaque version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `item`: the message and its room.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Item {
    /// The message.
    pub message: Message,
    /// The room.
    pub room: Room,
}

/// A `room_message` webhook body. Serializing it gives HipChat's shape with
/// keys in sorted order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomMessageEvent {
    /// `room_message`.
    pub event: String,
    /// Message and room.
    pub item: Item,
    /// The tenant's oauthId.
    pub oauth_client_id: String,
    /// The webhook's id on the host.
    pub webhook_id: u64,
}

impl RoomMessageEvent {
    /// Parses a body, requiring `item.message.message`, `item.room.id` and
    /// `oauth_client_id`; everything else takes a default when absent or odd.
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Like [`RoomMessageEvent::parse`], from parsed JSON.
    pub fn from_value(value: &Value) -> Result<Self, WebhookError> {
        let root = Obj::root(value, "the webhook body")?;
        let (item, item_path) = root.req_obj("item")?;
        let item = Obj::at(item, &item_path);
        let (message, message_path) = item.req_obj("message")?;
        let message = Obj::at(message, &message_path);
        let (room, room_path) = item.req_obj("room")?;
        let room = Obj::at(room, &room_path);

        // The text may legitimately be empty-ish, but it must be a string.
        let text = message
            .opt_str("message")?
            .ok_or_else(|| FieldError::Missing(message.path_of("message")))?;
        let room_id = room.req_u64("id")?;
        let oauth_client_id = root.req_str("oauth_client_id")?.to_owned();

        Ok(RoomMessageEvent {
            event: lenient_str(&root, "event").unwrap_or_else(|| "room_message".into()),
            item: Item {
                message: Message {
                    date: lenient_str(&message, "date").unwrap_or_default(),
                    from: message.get("from").and_then(lenient_sender),
                    id: lenient_str(&message, "id").unwrap_or_default(),
                    mentions: match message.get("mentions") {
                        Some(Value::Array(items)) => items.clone(),
                        _ => Vec::new(),
                    },
                    message: text.to_owned(),
                    kind: lenient_str(&message, "type").unwrap_or_else(|| "message".into()),
                },
                room: Room {
                    id: room_id,
                    links: lenient_links(room.get("links")),
                    name: lenient_str(&room, "name").unwrap_or_default(),
                    version: lenient_str(&room, "version"),
                },
            },
            oauth_client_id,
            webhook_id: root.opt_u64("webhook_id").ok().flatten().unwrap_or(0),
        })
    }

    /// The body exactly as HipChat wrote it: sorted keys, `", "` and
    /// `": "` separators, one line.
    pub fn to_hipchat_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, HipChatFormatter);
        // Writing plain structs of strings and numbers into a Vec cannot fail.
        if self.serialize(&mut serializer).is_err() {
            return serde_json::to_vec(self).unwrap_or_default();
        }
        out
    }

    /// The message text.
    pub fn text(&self) -> &str {
        &self.item.message.message
    }

    /// The room the message was posted in.
    pub fn room_id(&self) -> u64 {
        self.item.room.id
    }
}

/// Any JSON as HipChat's servers wrote it (see
/// [`RoomMessageEvent::to_hipchat_json`]): `serde_json::Value` maps are
/// sorted, so keys come out in order.
pub fn to_hipchat_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, HipChatFormatter);
    if value.serialize(&mut serializer).is_err() {
        return serde_json::to_vec(value).unwrap_or_default();
    }
    out
}

/// Python's `json.dumps` separators, which HipChat's servers used.
struct HipChatFormatter;

impl serde_json::ser::Formatter for HipChatFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

fn lenient_str(obj: &Obj<'_>, key: &str) -> Option<String> {
    obj.opt_str(key).ok().flatten().map(str::to_owned)
}

fn lenient_links(value: Option<&Value>) -> SelfLink {
    SelfLink {
        self_url: value
            .and_then(|l| l.get("self"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A user sender; notifications by add-ons carry `from` as a plain string,
/// which is not a user and yields `None`.
fn lenient_sender(value: &Value) -> Option<Sender> {
    let map = value.as_object()?;
    let obj = Obj::at(map, "item.message.from");
    Some(Sender {
        id: obj.opt_u64("id").ok().flatten().unwrap_or(0),
        links: lenient_links(obj.get("links")),
        mention_name: lenient_str(&obj, "mention_name").unwrap_or_default(),
        name: lenient_str(&obj, "name").unwrap_or_default(),
        version: lenient_str(&obj, "version"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HIPCHAT_BODY: &str = r#"{"event": "room_message", "item": {"message": {"date": "2015-10-14T06:15:26.778258+00:00", "from": {"id": 2716065, "links": {"self": "https://api.hipchat.com/v2/user/2716065"}, "mention_name": "AchyutPokhrel", "name": "Achyut Pokhrel", "version": "00000000"}, "id": "53e205e4-44c3-4eba-97c9-5032cc5b5f88", "mentions": [], "message": "/hascode rust", "type": "message"}, "room": {"id": 2023022, "links": {"self": "https://api.hipchat.com/v2/room/2023022"}, "name": "StudentRoom", "version": "O7WN272M"}}, "oauth_client_id": "0417a902-0eb8-4271-9246-4b979c00e3f4", "webhook_id": 2838389}"#;

    #[test]
    fn parses_hipchats_body_and_serializes_it_back_identically() {
        let event = RoomMessageEvent::parse(HIPCHAT_BODY.as_bytes()).expect("valid");
        assert_eq!(event.text(), "/hascode rust");
        assert_eq!(event.room_id(), 2_023_022);
        assert_eq!(event.webhook_id, 2_838_389);
        let from = event.item.message.from.as_ref().expect("sender");
        assert_eq!(from.mention_name, "AchyutPokhrel");
        let back = serde_json::to_value(&event).expect("json");
        let original: Value = serde_json::from_str(HIPCHAT_BODY).expect("json");
        assert_eq!(back, original);
    }

    #[test]
    fn writes_the_body_byte_for_byte_as_hipchat_did() {
        let event = RoomMessageEvent::parse(HIPCHAT_BODY.as_bytes()).expect("valid");
        assert_eq!(
            String::from_utf8(event.to_hipchat_json()).expect("utf-8"),
            HIPCHAT_BODY
        );
    }

    #[test]
    fn ignores_extra_fields_and_odd_optional_ones() {
        let mut v: Value = serde_json::from_str(HIPCHAT_BODY).expect("json");
        v["item"]["room"]["is_archived"] = json!(false);
        v["item"]["room"]["privacy"] = json!("public");
        v["item"]["message"]["from"] = json!("Some add-on");
        v["item"]["message"]["date"] = json!(12);
        v["webhook_id"] = json!("not a number");
        let event = RoomMessageEvent::from_value(&v).expect("lenient");
        assert_eq!(event.item.message.from, None);
        assert_eq!(event.webhook_id, 0);
    }

    #[test]
    fn names_the_missing_field_the_add_on_needs() {
        for (pointer, field) in [
            ("/item/message", "message"),
            ("/item/room", "id"),
            ("", "oauth_client_id"),
            ("", "item"),
        ] {
            let mut v: Value = serde_json::from_str(HIPCHAT_BODY).expect("json");
            let parent = if pointer.is_empty() {
                &mut v
            } else {
                v.pointer_mut(pointer).expect("ptr")
            };
            parent.as_object_mut().expect("object").remove(field);
            let err = RoomMessageEvent::from_value(&v).unwrap_err().to_string();
            let path = format!(
                "{}.{field}",
                pointer.trim_start_matches('/').replace('/', ".")
            );
            assert!(err.contains(path.trim_start_matches('.')), "{err}");
        }
    }

    #[test]
    fn rejects_non_json_and_wrong_types() {
        assert!(matches!(
            RoomMessageEvent::parse(b"\xff\x00"),
            Err(WebhookError::NotJson(_))
        ));
        assert!(RoomMessageEvent::parse(b"[]").is_err());
        let mut v: Value = serde_json::from_str(HIPCHAT_BODY).expect("json");
        v["item"]["room"]["id"] = json!("abc");
        let err = RoomMessageEvent::from_value(&v).unwrap_err().to_string();
        assert!(err.contains("item.room.id"), "{err}");
    }
}
