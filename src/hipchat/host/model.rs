//! What the host records and publishes: rooms, chat entries, installations,
//! exchanges with add-ons, deliveries and live events. All serialize to JSON
//! (snake_case) so a web page or control API can pass them on as they are.

use std::fmt;

use serde::Serialize;

use crate::hipchat::descriptor::WebhookAuth;
use crate::hipchat::jwt::Claims;
use crate::hipchat::notification::{Color, MessageFormat};

/// A chat room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Room {
    /// Room id.
    pub id: u64,
    /// Room name.
    pub name: String,
}

/// A chat user (the sender of room messages, the viewer of add-on pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// User id (sent as `sub` in JWTs, as a string).
    pub id: u64,
    /// Display name.
    pub name: String,
    /// `@name` without the `@`.
    pub mention_name: String,
    /// Time zone sent as `context.user_tz`.
    pub timezone: String,
    /// E-mail address.
    pub email: String,
    /// Job title.
    pub title: String,
    /// A group admin (`user_is_admin`, `is_group_admin`).
    pub is_admin: bool,
    /// A guest (`user_is_guest`; not a room member).
    pub is_guest: bool,
}

impl Default for User {
    fn default() -> Self {
        User {
            id: 1,
            name: "Local User".into(),
            mention_name: "LocalUser".into(),
            timezone: "UTC".into(),
            email: "local.user@example.com".into(),
            title: "Developer".into(),
            is_admin: true,
            is_guest: false,
        }
    }
}

impl User {
    /// The users a host starts with: an admin (the default user), a member
    /// and a guest, so pages can be tried as each.
    pub fn defaults() -> Vec<User> {
        vec![
            User::default(),
            User {
                id: 2,
                name: "Room Member".into(),
                mention_name: "RoomMember".into(),
                email: "room.member@example.com".into(),
                title: "Engineer".into(),
                timezone: "Europe/Berlin".into(),
                is_admin: false,
                is_guest: false,
            },
            User {
                id: 3,
                name: "Visiting Guest".into(),
                mention_name: "Guest".into(),
                email: "guest@example.net".into(),
                title: String::new(),
                timezone: "America/New_York".into(),
                is_admin: false,
                is_guest: true,
            },
        ]
    }

    /// A user named `name` with a stable id derived from it (kept clear of
    /// the default users' small ids), a member, not an admin.
    pub fn named(name: &str) -> User {
        // FNV-1a: the same name gets the same id in every run.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mention_name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        User {
            id: 1_000 + hash % 1_000_000_000,
            name: name.to_owned(),
            email: format!("{}@example.com", mention_name.to_lowercase()),
            mention_name,
            title: String::new(),
            is_admin: false,
            ..User::default()
        }
    }
}

/// What a chat entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A message: typed by a user, or sent by an add-on with `send_message`.
    Message,
    /// An add-on's notification.
    Notification,
}

/// Who wrote a chat entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// A user typing in the room.
    User {
        /// User id.
        id: u64,
        /// Display name.
        name: String,
        /// `@name` without the `@`.
        mention_name: String,
    },
    /// An installed add-on (REST notification or inline webhook answer).
    AddOn {
        /// The installation's oauthId.
        oauth_id: String,
        /// The add-on's key.
        key: String,
        /// The add-on's name (or its `fromName`).
        name: String,
        /// The notification's `from` label, if any.
        label: Option<String>,
    },
}

/// One entry of a room's chat: a user message or an add-on notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatEntry {
    /// Unique id (a UUID).
    pub id: String,
    /// The room.
    pub room_id: u64,
    /// When, as HipChat wrote it (`2015-10-14T06:15:26.778258+00:00`).
    pub date: String,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
    /// Who wrote it.
    pub author: Author,
    /// The text; for `html` entries, already sanitised to HipChat's tag set.
    /// `text` entries are stored as sent: escape them when displaying.
    pub message: String,
    /// How to render `message`.
    pub message_format: MessageFormat,
    /// Background colour (notifications only).
    pub color: Option<Color>,
    /// Whether the notification asked to notify members.
    pub notify: bool,
    /// A notification's card, as sent.
    pub card: Option<serde_json::Value>,
    /// A message or a notification.
    pub kind: EntryKind,
    /// The message this one replies to (`POST room/{id}/reply`).
    pub parent_id: Option<String>,
    /// The link a `share/link` call shared.
    pub link: Option<String>,
    /// For a private message (`POST user/{id}/message`), its recipient; its
    /// `room_id` is then 0.
    pub to_user: Option<u64>,
}

/// A webhook registered for an installation: from its descriptor, or made
/// through the REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledWebhook {
    /// The host's webhook id (`webhook_id` in deliveries).
    pub id: u64,
    /// Where events are POSTed.
    pub url: String,
    /// The event name.
    pub event: String,
    /// The regex searched in messages.
    pub pattern: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Signed or not.
    pub authentication: WebhookAuth,
    /// The room, for webhooks made through the REST API.
    pub room_id: Option<u64>,
}

/// An installed add-on. Its oauthSecret is not part of it; see
/// [`super::Host::oauth_secret`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installation {
    /// The minted oauthId (also the JWT `iss` and `oauth_client_id`).
    pub oauth_id: String,
    /// The add-on's key.
    pub key: String,
    /// The add-on's name.
    pub name: String,
    /// Where its descriptor was fetched.
    pub descriptor_url: String,
    /// `installable.callbackUrl`.
    pub callback_url: String,
    /// The room for a room install; `None` for a global one.
    pub room_id: Option<u64>,
    /// The group it was installed in.
    pub group_id: u64,
    /// Scopes the descriptor declared.
    pub scopes: Vec<String>,
    /// `hipchatApiConsumer.fromName`, if any.
    pub from_name: Option<String>,
    /// Its webhooks.
    pub webhooks: Vec<InstalledWebhook>,
    /// Its UI modules.
    pub modules: crate::hipchat::modules::Modules,
    /// When it was installed, Unix seconds.
    pub installed_at: u64,
}

/// Which way an exchange went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The host called the add-on (descriptor, install, webhook, uninstall).
    ToAddOn,
    /// The add-on called the host (capabilities, token, REST API).
    FromAddOn,
}

/// What an exchange was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    /// GET of the descriptor.
    Descriptor,
    /// POST to `installable.callbackUrl`.
    Install,
    /// DELETE `{callbackUrl}/{oauthId}`.
    Uninstall,
    /// A webhook delivery.
    Webhook,
    /// GET of the capabilities document.
    Capabilities,
    /// POST to the token endpoint.
    Token,
    /// A room notification.
    Notification,
    /// Any other REST API call.
    Api,
    /// A page of the add-on shown by the host (iframe, window), or a request
    /// that page made to its add-on through the host's forwarding origin.
    Page,
    /// A glance's `queryUrl`.
    Glance,
}

impl ExchangeKind {
    /// Its name, as in JSON (`webhook`, `install`...).
    pub fn name(self) -> &'static str {
        match self {
            ExchangeKind::Descriptor => "descriptor",
            ExchangeKind::Install => "install",
            ExchangeKind::Uninstall => "uninstall",
            ExchangeKind::Webhook => "webhook",
            ExchangeKind::Capabilities => "capabilities",
            ExchangeKind::Token => "token",
            ExchangeKind::Notification => "notification",
            ExchangeKind::Api => "api",
            ExchangeKind::Page => "page",
            ExchangeKind::Glance => "glance",
        }
    }
}

/// One HTTP exchange with an add-on, as an inspector shows it. Secrets are
/// redacted: `Authorization` values, `oauthSecret`, access tokens and JWTs
/// never appear; JWTs are shown decoded in `jwt_claims`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// Id, increasing in the order exchanges complete: ask for ids above
    /// the last one seen to get the new ones.
    pub id: u64,
    /// When it started, Unix milliseconds.
    pub at_ms: u64,
    /// Which way it went.
    pub direction: Direction,
    /// What it was for.
    pub kind: ExchangeKind,
    /// The installation concerned, when known.
    pub oauth_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Full URL (tokens in the query redacted).
    pub url: String,
    /// Request headers (secrets redacted).
    pub request_headers: Vec<(String, String)>,
    /// Request body as text (secrets redacted, truncated).
    pub request_body: String,
    /// Response status; `None` when no answer came.
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body as text (tokens redacted, truncated).
    pub response_body: String,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// Transport error or what the host made of the answer.
    pub error: Option<String>,
    /// Claims of the JWT sent with the request, decoded.
    pub jwt_claims: Option<Claims>,
    /// Something worth knowing that is not a failure (an expected refusal,
    /// the address a page went through).
    pub note: Option<String>,
}

/// The outcome of delivering one room message to one add-on webhook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The installation.
    pub oauth_id: String,
    /// The add-on's key.
    pub key: String,
    /// The webhook's id.
    pub webhook_id: u64,
    /// Where it went.
    pub url: String,
    /// The exchange recorded for it.
    pub exchange_id: u64,
    /// The add-on's status; `None` when it did not answer.
    pub status: Option<u16>,
    /// Why it failed, or why an answer was not posted to the room.
    pub error: Option<String>,
    /// The notification the add-on answered with, as posted to the room.
    pub reply: Option<ChatEntry>,
}

/// Something that happened on the host, published live to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostEvent {
    /// A room was created.
    RoomCreated {
        /// The room.
        room: Room,
    },
    /// A message or notification appeared in a room.
    Chat {
        /// The entry.
        entry: ChatEntry,
    },
    /// An add-on was installed.
    Installed {
        /// The installation.
        installation: Installation,
    },
    /// An add-on was uninstalled.
    Uninstalled {
        /// Its oauthId.
        oauth_id: String,
        /// Its key.
        key: String,
        /// Its room, for a room install.
        room_id: Option<u64>,
    },
    /// An exchange with an add-on completed.
    Exchange {
        /// The exchange.
        exchange: Box<Exchange>,
    },
    /// A room's topic changed.
    Topic {
        /// The room.
        room_id: u64,
        /// The new topic.
        topic: String,
    },
    /// Someone entered or left a room.
    Participants {
        /// The room.
        room_id: u64,
        /// Who is in it now, by id.
        participants: Vec<u64>,
    },
    /// An add-on pushed glance content (`None`: cleared).
    Glance {
        /// The installation.
        oauth_id: String,
        /// The glance's key.
        key: String,
        /// Whom it is for.
        scope: GlanceScope,
        /// The content.
        content: Option<Box<crate::hipchat::glance::GlanceContent>>,
    },
    /// An installation was updated in place (a changed descriptor).
    Updated {
        /// The installation as it is now.
        installation: Installation,
    },
}

/// Whom pushed glance content is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum GlanceScope {
    /// Everyone in the group (`POST /addon/ui`).
    Group,
    /// Everyone in a room (`POST /addon/ui/room/{id}`).
    Room(u64),
    /// One user, in every room (`POST /addon/ui/user/{id}`).
    User(u64),
}

/// A deliberate fault in the capabilities document, to test how add-ons
/// cope with a broken host (see [`super::Host::set_capabilities_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "status", rename_all = "snake_case")]
pub enum CapabilitiesFault {
    /// A valid document whose `links.self` is another URL.
    WrongSelf,
    /// 200 with a body that is not JSON.
    NotJson,
    /// This status (with HipChat's error envelope).
    Status(u16),
}

/// Credentials minted for an installation. Debug never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The oauthId.
    pub oauth_id: String,
    /// The oauthSecret (40 characters).
    pub oauth_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("oauth_id", &self.oauth_id)
            .field("oauth_secret", &"<redacted>")
            .finish()
    }
}
