//! HipChat's JSON shapes for users, rooms, messages and pages of results,
//! shared by the REST API and the webhook bodies so both say the same.

use serde_json::{Value, json};

use super::model::{Author, ChatEntry, EntryKind, Room, User};

/// HipChat's opaque version tags; nothing reads them.
const VERSION: &str = "00000000";

/// `{api}` is `{base}/v2`.
pub(crate) fn user_brief(api: &str, user: &User) -> Value {
    json!({
        "id": user.id,
        "links": {"self": format!("{api}/user/{}", user.id)},
        "mention_name": user.mention_name,
        "name": user.name,
        "version": VERSION,
    })
}

/// Presence as HipChat reported it for someone at their desk.
fn presence() -> Value {
    json!({"client": {"type": "http://hipchat.com/client/web", "version": "1"},
           "idle": null, "is_online": true, "show": "chat", "status": null})
}

/// A user's avatar: a generated picture (data URL), so pages render one
/// without the network.
pub(crate) fn photo_url(user: &User) -> String {
    let initials: String = user
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let hue = user.id.wrapping_mul(47) % 360;
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='48' height='48'><rect width='48' height='48' rx='24' fill='hsl({hue},45%,45%)'/><text x='24' y='30' font-family='sans-serif' font-size='18' fill='white' text-anchor='middle'>{}</text></svg>",
        html_escape::encode_text(&initials)
    );
    format!(
        "data:image/svg+xml,{}",
        url::form_urlencoded::byte_serialize(svg.as_bytes()).collect::<String>()
    )
}

/// `GET /v2/user/{id}`.
pub(crate) fn user_full(api: &str, user: &User, group_id: u64, group_name: &str) -> Value {
    json!({
        "created": "2015-01-01T00:00:00+00:00",
        "email": user.email,
        "group": {"id": group_id, "links": {"self": format!("{api}/group/{group_id}")}, "name": group_name},
        "id": user.id,
        "is_deleted": false,
        "is_group_admin": user.is_admin,
        "is_guest": user.is_guest,
        "last_active": "2015-01-01T00:00:00+00:00",
        "links": {"self": format!("{api}/user/{}", user.id)},
        "mention_name": user.mention_name,
        "name": user.name,
        "photo_url": photo_url(user),
        "presence": presence(),
        "roles": if user.is_admin { json!(["admin", "user"]) } else if user.is_guest { json!(["guest"]) } else { json!(["user"]) },
        "timezone": user.timezone,
        "title": user.title,
        "version": VERSION,
        "xmpp_jid": format!("{}_{}@chat.localhost", group_id, user.id),
    })
}

/// What the JavaScript API's getters return for a user
/// (`HipChat.user.getCurrentUser`, `room.getParticipants`).
pub(crate) fn user_for_page(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "mention_name": user.mention_name,
        "presence": {"show": "chat", "is_online": true},
        "photo_url": photo_url(user),
        "is_admin": user.is_admin,
        "is_guest": user.is_guest,
        "email": user.email,
        "title": user.title,
        "timezone": user.timezone,
    })
}

fn room_links(api: &str, room_id: u64) -> Value {
    json!({
        "self": format!("{api}/room/{room_id}"),
        "webhooks": format!("{api}/room/{room_id}/webhook"),
        "members": format!("{api}/room/{room_id}/member"),
        "participants": format!("{api}/room/{room_id}/participant"),
    })
}

/// The room of webhook items and room lists.
pub(crate) fn room_brief(api: &str, room: &Room) -> Value {
    json!({
        "id": room.id,
        "is_archived": false,
        "links": room_links(api, room.id),
        "name": room.name,
        "privacy": "public",
        "version": VERSION,
    })
}

/// `GET /v2/room/{id}`: participants in brief, or in full with
/// `?expand=participants`.
pub(crate) fn room_full(
    api: &str,
    room: &Room,
    topic: &str,
    participants: &[User],
    owner: Option<&User>,
    expand: bool,
) -> Value {
    let listed: Vec<Value> = participants
        .iter()
        .map(|u| {
            if expand {
                let mut full = user_brief(api, u);
                full["is_guest"] = json!(u.is_guest);
                full["presence"] = presence();
                full
            } else {
                user_brief(api, u)
            }
        })
        .collect();
    json!({
        "avatar_url": null,
        "created": "2015-01-01T00:00:00+00:00",
        "delegate_admin_visibility": null,
        "guest_access_url": null,
        "id": room.id,
        "is_archived": false,
        "is_guest_accessible": false,
        "last_active": "2015-01-01T00:00:00+00:00",
        "links": room_links(api, room.id),
        "name": room.name,
        "owner": owner.map(|o| user_brief(api, o)),
        "participants": listed,
        "privacy": "public",
        "statistics": {"links": {"self": format!("{api}/room/{}/statistics", room.id)}},
        "topic": topic,
        "version": VERSION,
        "xmpp_jid": format!("{}_room@conf.localhost", room.id),
    })
}

/// A room history item: a user's message (`from` an object), an add-on's
/// notification (`from` a string, with `color`, `message_format`, `card`).
pub(crate) fn history_item(api: &str, entry: &ChatEntry, mentions: &[User]) -> Value {
    let mut item = json!({
        "date": entry.date,
        "id": entry.id,
        "mentions": mentions.iter().map(|u| user_brief(api, u)).collect::<Vec<_>>(),
        "message": entry.message,
        "message_links": [],
        "type": match entry.kind { EntryKind::Message => "message", EntryKind::Notification => "notification" },
    });
    match (&entry.author, entry.kind) {
        (
            Author::User {
                id,
                name,
                mention_name,
            },
            _,
        ) => {
            item["from"] = json!({
                "id": id,
                "links": {"self": format!("{api}/user/{id}")},
                "mention_name": mention_name,
                "name": name,
                "version": VERSION,
            });
        }
        (Author::AddOn { name, label, .. }, EntryKind::Notification) => {
            item["from"] = json!(label.clone().unwrap_or_else(|| name.clone()));
            item["color"] = json!(entry.color.unwrap_or_default());
            item["message_format"] = json!(entry.message_format);
            if let Some(card) = &entry.card {
                item["card"] = json!(card.to_string());
            }
        }
        (Author::AddOn { name, oauth_id, .. }, EntryKind::Message) => {
            item["from"] = json!({"id": oauth_id, "links": {"self": format!("{api}/addon")}, "mention_name": name.replace(' ', ""), "name": name, "version": VERSION});
        }
    }
    if let Some(parent) = &entry.parent_id {
        item["parentMessageId"] = json!(parent);
    }
    if let Some(link) = &entry.link {
        item["message_links"] = json!([{"type": "link", "url": link}]);
    }
    item
}

/// HipChat's page of results.
pub(crate) fn page(
    items: Vec<Value>,
    start_index: usize,
    max_results: usize,
    self_url: &str,
) -> Value {
    json!({
        "items": items,
        "links": {"self": self_url},
        "maxResults": max_results,
        "startIndex": start_index,
    })
}

/// The users an `@mention_name` in `text` names (`@all` and `@here` are
/// not users).
pub(crate) fn mentioned<'a>(text: &str, users: impl Iterator<Item = &'a User>) -> Vec<User> {
    let names: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '!' | '?' | '(' | ')'))
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    users
        .filter(|u| {
            names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&u.mention_name))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_by_mention_name_whatever_the_case() {
        let users = User::defaults();
        let found = mentioned("hi @roommember, and @all: see @nobody.", users.iter());
        assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), vec![2]);
        assert!(mentioned("email@example.com", users.iter()).is_empty());
    }

    #[test]
    fn a_notification_in_history_names_its_sender_as_a_string() {
        let entry = super::super::state::new_entry(
            1,
            Author::AddOn {
                oauth_id: "o".into(),
                key: "k".into(),
                name: "Blog".into(),
                label: Some("Search".into()),
            },
            "<b>hi</b>".into(),
            crate::hipchat::notification::MessageFormat::Html,
        );
        let item = history_item("http://h/v2", &entry, &[]);
        assert_eq!(item["from"], "Search");
        assert_eq!(item["type"], "notification");
        assert_eq!(item["message_format"], "html");
    }

    #[test]
    fn photos_are_self_contained() {
        let url = photo_url(&User::default());
        assert!(url.starts_with("data:image/svg+xml,"), "{url}");
        assert!(!url.contains(' ') && !url.contains('<'), "{url}");
    }
}
