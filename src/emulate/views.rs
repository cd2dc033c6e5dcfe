//! What the control API and the page see of the host's records: camelCase
//! JSON like the rest of the protocol (`oauthId`, `roomId`), with the chat
//! entries already rendered to safe HTML for display.

use serde::Serialize;

use crate::hipchat::host::{
    Author, ChatEntry, Delivery, Direction, EntryKind, Exchange, ExchangeKind, Installation,
    InstalledWebhook, Room,
};
use crate::hipchat::jwt::Claims;
use crate::hipchat::notification::{Color, MessageFormat};

/// A room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    /// Room id.
    pub id: u64,
    /// Room name.
    pub name: String,
}

impl From<&Room> for RoomView {
    fn from(room: &Room) -> Self {
        RoomView {
            id: room.id,
            name: room.name.clone(),
        }
    }
}

/// Whether a chat entry was typed by a user or posted by an add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageKind {
    /// Typed by a user.
    Message,
    /// Posted by an add-on (REST notification or inline webhook answer).
    Notification,
}

/// A message or notification of a room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Unique id.
    pub id: String,
    /// The room.
    pub room_id: u64,
    /// Typed by a user or posted by an add-on.
    pub kind: MessageKind,
    /// Who: the user's name, or the notification's `from` label, or the add-on's name.
    pub sender: String,
    /// The message as stored (HTML notifications already sanitised).
    pub message: String,
    /// `html` or `text`.
    pub format: MessageFormat,
    /// A notification's colour.
    pub color: Option<Color>,
    /// What to display: sanitised HTML, or the escaped text.
    pub html: String,
    /// When, as HipChat wrote dates.
    pub date: String,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
    /// The add-on that posted it.
    pub oauth_id: Option<String>,
    /// The add-on's key.
    pub addon_key: Option<String>,
    /// Whether the notification asked to notify room members.
    pub notify: bool,
    /// A notification's card, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<serde_json::Value>,
    /// The message it replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The link it shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The recipient of a private message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_user: Option<u64>,
    /// The sender's user id (messages typed by users).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// What the add-ons made of a typed message (when it reached any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryView>>,
}

impl From<&ChatEntry> for MessageView {
    fn from(entry: &ChatEntry) -> Self {
        let kind = match entry.kind {
            EntryKind::Message => MessageKind::Message,
            EntryKind::Notification => MessageKind::Notification,
        };
        let (sender, oauth_id, addon_key, user_id) = match &entry.author {
            Author::User { name, id, .. } => (name.clone(), None, None, Some(*id)),
            Author::AddOn {
                oauth_id,
                key,
                name,
                label,
            } => (
                label.clone().unwrap_or_else(|| name.clone()),
                Some(oauth_id.clone()),
                Some(key.clone()),
                None,
            ),
        };
        MessageView {
            id: entry.id.clone(),
            room_id: entry.room_id,
            kind,
            sender,
            message: entry.message.clone(),
            format: entry.message_format,
            color: entry.color,
            html: display_html(&entry.message, entry.message_format),
            date: entry.date.clone(),
            at_ms: entry.at_ms,
            oauth_id,
            addon_key,
            notify: entry.notify,
            card: entry.card.clone(),
            parent_id: entry.parent_id.clone(),
            link: entry.link.clone(),
            to_user: entry.to_user,
            user_id,
            deliveries: None,
        }
    }
}

/// What the page may put in the DOM: the host already sanitised `html`
/// entries to HipChat's tag set; text is escaped, line breaks kept.
pub fn display_html(message: &str, format: MessageFormat) -> String {
    match format {
        MessageFormat::Html => message.to_owned(),
        MessageFormat::Text => html_escape::encode_text(message).replace('\n', "<br>"),
    }
}

/// A webhook of an installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// The host's webhook id.
    pub id: u64,
    /// Where events go.
    pub url: String,
    /// The event, e.g. `room_message`.
    pub event: String,
    /// The pattern searched in messages.
    pub pattern: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// `jwt` or `none`.
    pub authentication: crate::hipchat::descriptor::WebhookAuth,
    /// The room, for webhooks made through the REST API.
    pub room_id: Option<u64>,
}

impl From<&InstalledWebhook> for WebhookView {
    fn from(w: &InstalledWebhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url.clone(),
            event: w.event.clone(),
            pattern: w.pattern.clone(),
            name: w.name.clone(),
            authentication: w.authentication,
            room_id: w.room_id,
        }
    }
}

/// An installed add-on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallView {
    /// The oauthId the host minted.
    pub oauth_id: String,
    /// The room; `None` for a global install.
    pub room_id: Option<u64>,
    /// The group.
    pub group_id: u64,
    /// The add-on's key.
    pub key: String,
    /// The add-on's name.
    pub name: String,
    /// Where its descriptor was fetched.
    pub descriptor_url: String,
    /// `installable.callbackUrl`.
    pub callback_url: String,
    /// Declared scopes.
    pub scopes: Vec<String>,
    /// `hipchatApiConsumer.fromName`.
    pub from_name: Option<String>,
    /// Its webhooks.
    pub webhooks: Vec<WebhookView>,
    /// Its UI modules (glances, sidebars, dialogs, actions, pages).
    pub modules: Vec<crate::hipchat::modules::Module>,
    /// Unix seconds.
    pub installed_at: u64,
    /// Whether it answers (filled in by the control API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<super::health::Reachability>,
}

impl From<&Installation> for InstallView {
    fn from(i: &Installation) -> Self {
        InstallView {
            oauth_id: i.oauth_id.clone(),
            room_id: i.room_id,
            group_id: i.group_id,
            key: i.key.clone(),
            name: i.name.clone(),
            descriptor_url: i.descriptor_url.clone(),
            callback_url: i.callback_url.clone(),
            scopes: i.scopes.clone(),
            from_name: i.from_name.clone(),
            webhooks: i.webhooks.iter().map(WebhookView::from).collect(),
            modules: i.modules.all.clone(),
            installed_at: i.installed_at,
            health: None,
        }
    }
}

/// One side of an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpView {
    /// Headers, in order, secrets masked.
    pub headers: Vec<(String, String)>,
    /// Body as text, secrets masked.
    pub body: String,
}

/// One HTTP exchange between the host and an add-on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeView {
    /// Increasing id.
    pub id: u64,
    /// What it was for: `descriptor`, `install`, `webhook`, `token`, ...
    pub kind: ExchangeKind,
    /// `toAddon` (the host called) or `toHost` (the add-on called).
    pub direction: &'static str,
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// The answer's status; `None` when none came.
    pub status: Option<u16>,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Unix milliseconds.
    pub started_at: u64,
    /// The installation, when known.
    pub oauth_id: Option<String>,
    /// The request.
    pub request: HttpView,
    /// The response.
    pub response: HttpView,
    /// The JWT sent with the request, decoded.
    pub jwt_claims: Option<Claims>,
    /// What went wrong.
    pub error: Option<String>,
    /// Worth knowing, not a failure.
    pub note: Option<String>,
}

impl From<&Exchange> for ExchangeView {
    fn from(e: &Exchange) -> Self {
        ExchangeView {
            id: e.id,
            kind: e.kind,
            direction: match e.direction {
                Direction::ToAddOn => "toAddon",
                Direction::FromAddOn => "toHost",
            },
            method: e.method.clone(),
            url: e.url.clone(),
            status: e.status,
            duration_ms: e.duration_ms,
            started_at: e.at_ms,
            oauth_id: e.oauth_id.clone(),
            request: HttpView {
                headers: e.request_headers.clone(),
                body: e.request_body.clone(),
            },
            response: HttpView {
                headers: e.response_headers.clone(),
                body: e.response_body.clone(),
            },
            jwt_claims: e.jwt_claims.clone(),
            error: e.error.clone(),
            note: e.note.clone(),
        }
    }
}

/// What became of a room message at one add-on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The installation.
    pub oauth_id: String,
    /// The add-on's key.
    pub addon: String,
    /// The webhook's id.
    pub webhook_id: u64,
    /// Where it went.
    pub url: String,
    /// The add-on's status; `None` when it did not answer.
    pub status: Option<u16>,
    /// Why it failed, or why its answer was not posted.
    pub error: Option<String>,
    /// Whether its answer was posted to the room inline.
    pub posted: bool,
    /// That posted answer.
    pub reply: Option<MessageView>,
    /// The exchange recorded (see `GET /_emulator/exchanges`).
    pub exchange_id: u64,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            oauth_id: d.oauth_id.clone(),
            addon: d.key.clone(),
            webhook_id: d.webhook_id,
            url: d.url.clone(),
            status: d.status,
            error: d.error.clone(),
            posted: d.reply.is_some(),
            reply: d.reply.as_ref().map(MessageView::from),
            exchange_id: d.exchange_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(author: Author, message: &str, format: MessageFormat) -> ChatEntry {
        let author_kind = matches!(author, Author::AddOn { .. });
        ChatEntry {
            id: "e1".into(),
            room_id: 1,
            date: "2015-10-14T06:15:26.778258+00:00".into(),
            at_ms: 1_444_803_326_778,
            author,
            message: message.into(),
            message_format: format,
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

    #[test]
    fn a_users_text_is_escaped_for_display() {
        let view = MessageView::from(&entry(
            Author::User {
                id: 1,
                name: "Local User".into(),
                mention_name: "LocalUser".into(),
            },
            "<script>alert(1)</script>\nbye",
            MessageFormat::Text,
        ));
        assert_eq!(view.kind, MessageKind::Message);
        assert_eq!(view.sender, "Local User");
        assert!(!view.html.contains("<script>"), "{}", view.html);
        assert!(view.html.contains("&lt;script&gt;"));
        assert!(view.html.ends_with("<br>bye"));
        // Only what HTML needs is escaped: a command reads as typed.
        assert_eq!(
            display_html("/hascode rust & c++ <3", MessageFormat::Text),
            "/hascode rust &amp; c++ &lt;3"
        );
    }

    #[test]
    fn a_notification_is_signed_with_its_from_label_or_the_addon_name() {
        let author = |label: Option<&str>| Author::AddOn {
            oauth_id: "o1".into(),
            key: "com.example".into(),
            name: "Blog search".into(),
            label: label.map(str::to_owned),
        };
        let plain = MessageView::from(&entry(author(None), "<b>hi</b>", MessageFormat::Html));
        assert_eq!(plain.kind, MessageKind::Notification);
        assert_eq!(plain.sender, "Blog search");
        assert_eq!(plain.html, "<b>hi</b>");
        assert_eq!(plain.oauth_id.as_deref(), Some("o1"));
        let labelled = MessageView::from(&entry(author(Some("Bot")), "x", MessageFormat::Html));
        assert_eq!(labelled.sender, "Bot");
    }

    #[test]
    fn views_speak_camel_case() {
        let view = MessageView::from(&entry(
            Author::User {
                id: 1,
                name: "U".into(),
                mention_name: "U".into(),
            },
            "hi",
            MessageFormat::Text,
        ));
        let json = serde_json::to_value(&view).expect("serialisable");
        assert_eq!(json["roomId"], 1);
        assert_eq!(json["kind"], "message");
        assert_eq!(json["format"], "text");
        assert!(json.get("room_id").is_none());
    }
}
