//! The host's shared state. One lock around plain data, never held across
//! an `.await`; events go out on a broadcast channel.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use regex::Regex;
use tokio::sync::broadcast;

use super::HostOptions;
use super::clock;
use super::limits::Limiter;
use super::model::{
    Author, CapabilitiesFault, ChatEntry, EntryKind, Exchange, GlanceScope, HostEvent,
    Installation, Room, User,
};
use crate::hipchat::glance::GlanceContent;
use crate::hipchat::notification::{MessageFormat, Notification};
use crate::hipchat::sanitize::sanitize_html;

/// Credentials of an installation (pending ones too: the add-on fetches a
/// token while the install POST is still in flight).
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) secret: String,
    /// The add-on's key, and the name its notifications show (`fromName`
    /// or `name`): known before the install completes, for notices posted
    /// while answering it.
    pub(crate) key: String,
    pub(crate) display_name: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) room_id: Option<u64>,
    pub(crate) revoked: bool,
}

/// An access token the host handed out.
#[derive(Clone)]
pub(crate) struct Grant {
    pub(crate) oauth_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: u64,
}

/// An installation and its compiled webhook patterns.
pub(crate) struct InstallRecord {
    /// Install order, for listing.
    pub(crate) seq: u64,
    pub(crate) installation: Installation,
    pub(crate) patterns: HashMap<u64, Regex>,
}

/// Everything behind the lock.
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) rooms: BTreeMap<u64, Room>,
    pub(crate) chat: HashMap<u64, VecDeque<ChatEntry>>,
    pub(crate) installs: BTreeMap<String, InstallRecord>,
    pub(crate) credentials: HashMap<String, Credential>,
    pub(crate) grants: HashMap<String, Grant>,
    pub(crate) exchanges: VecDeque<Exchange>,
    pub(crate) token_requests: HashMap<String, u64>,
    pub(crate) tokens_granted: HashMap<String, u64>,
    pub(crate) notifications: HashMap<u64, u64>,
    pub(crate) limiter: Limiter,
    pub(crate) capabilities_fault: Option<CapabilitiesFault>,
    /// Set by `Host::set_token_lifetime`; `HostOptions::token_lifetime` until then.
    pub(crate) token_lifetime: Option<Duration>,
    /// The group's users, by id.
    pub(crate) users: BTreeMap<u64, User>,
    /// Who is in each room (users not listed have not entered it).
    pub(crate) participants: HashMap<u64, BTreeSet<u64>>,
    /// Each room's topic (empty when unset).
    pub(crate) topics: HashMap<u64, String>,
    /// Glance content pushed by add-ons: (oauthId, glance key, for whom).
    pub(crate) glances: HashMap<(String, String, GlanceScope), GlanceContent>,
    /// Installations being uninstalled right now (their 401s are expected).
    pub(crate) uninstalling: std::collections::HashSet<String>,
    /// Private messages, by recipient, oldest first.
    pub(crate) private: HashMap<u64, VecDeque<ChatEntry>>,
}

/// At most 5 redirects, each to the origin of the first URL.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if first.is_some_and(|o| o == attempt.url().origin()) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// State shared by every clone of a `Host` and its routes.
pub(crate) struct Shared {
    pub(crate) options: HostOptions,
    pub(crate) http: reqwest::Client,
    base_url: RwLock<Option<String>>,
    inner: Mutex<Inner>,
    events: broadcast::Sender<HostEvent>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn new(options: HostOptions) -> Result<Self, reqwest::Error> {
        crate::tls::install_crypto_provider();
        // A fresh connection per call, as HipChat made: a kept-alive one
        // could reach an add-on process that `connect dev` is replacing.
        // Redirects are followed only within the origin asked: a URL the
        // developer gave may not lead the host elsewhere.
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .redirect(same_origin_redirects())
            .build()?;
        let (events, _) = broadcast::channel(options.event_capacity.max(1));
        let mut inner = Inner::default();
        for user in &options.users {
            inner.users.insert(user.id, user.clone());
        }
        let members: BTreeSet<u64> = options
            .users
            .iter()
            .filter(|u| !u.is_guest)
            .map(|u| u.id)
            .collect();
        for room in &options.rooms {
            inner.rooms.insert(room.id, room.clone());
            inner.participants.insert(room.id, members.clone());
        }
        let base = options
            .public_base_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned());
        Ok(Shared {
            options,
            http,
            base_url: RwLock::new(base),
            inner: Mutex::new(inner),
            events,
            next_id: AtomicU64::new(1),
        })
    }

    /// The lock; a panic elsewhere while holding it must not take the host
    /// down, so poisoning is ignored (the data stays consistent per call).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lifetime of the access tokens granted now.
    pub(crate) fn token_lifetime(&self) -> Duration {
        self.lock()
            .token_lifetime
            .unwrap_or(self.options.token_lifetime)
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn base_url(&self) -> Option<String> {
        self.base_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_base_url(&self, url: &str) {
        *self.base_url.write().unwrap_or_else(|e| e.into_inner()) =
            Some(url.trim_end_matches('/').to_owned());
    }

    /// `{base}/v2`, the `links.api` add-ons call.
    pub(crate) fn api_url(&self) -> String {
        format!("{}/v2", self.base_url().unwrap_or_default())
    }

    /// Adds `user` to the group's directory if its id is new.
    pub(crate) fn ensure_user(&self, user: &User) {
        self.lock()
            .users
            .entry(user.id)
            .or_insert_with(|| user.clone());
    }

    /// Sets the base URL only if none is configured yet.
    pub(crate) fn default_base_url(&self, url: &str) {
        let mut guard = self.base_url.write().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(url.trim_end_matches('/').to_owned());
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<HostEvent> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, event: HostEvent) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(event);
    }

    /// Stores a completed exchange, giving it its id, and publishes it;
    /// returns the id. Ids grow in recording order (under the lock, events
    /// too), so "ids above the last one seen" is a correct poll.
    pub(crate) fn record(&self, mut exchange: Exchange) -> u64 {
        let mut inner = self.lock();
        exchange.id = self.next_id();
        let id = exchange.id;
        inner.exchanges.push_back(exchange.clone());
        while inner.exchanges.len() > self.options.exchange_history.max(1) {
            inner.exchanges.pop_front();
        }
        self.publish(HostEvent::Exchange {
            exchange: Box::new(exchange),
        });
        id
    }

    /// The room, created (and announced) if it does not exist yet.
    pub(crate) fn ensure_room(&self, id: u64) -> Room {
        let created = {
            let mut inner = self.lock();
            if let Some(room) = inner.rooms.get(&id) {
                return room.clone();
            }
            let room = Room {
                id,
                name: format!("Room {id}"),
            };
            inner.rooms.insert(id, room.clone());
            let members = inner.default_participants();
            inner.participants.insert(id, members);
            room
        };
        self.publish(HostEvent::RoomCreated {
            room: created.clone(),
        });
        created
    }

    /// A room's messages and notifications, oldest first.
    pub(crate) fn room_log(&self, room_id: u64) -> Vec<ChatEntry> {
        self.lock()
            .chat
            .get(&room_id)
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Appends a chat entry to its room and publishes it.
    pub(crate) fn add_chat(&self, entry: ChatEntry) {
        {
            let mut inner = self.lock();
            if entry.kind == EntryKind::Notification {
                *inner.notifications.entry(entry.room_id).or_default() += 1;
            }
            let log = match entry.to_user {
                Some(user) => inner.private.entry(user).or_default(),
                None => inner.chat.entry(entry.room_id).or_default(),
            };
            log.push_back(entry.clone());
            while log.len() > self.options.chat_history.max(1) {
                log.pop_front();
            }
        }
        self.publish(HostEvent::Chat { entry });
    }

    /// Posts a validated notification from an installed add-on, sanitising
    /// HTML to HipChat's tag set.
    pub(crate) fn post_notification(
        &self,
        room_id: u64,
        oauth_id: &str,
        notification: &Notification,
    ) -> ChatEntry {
        let (key, name) = {
            let inner = self.lock();
            inner
                .credentials
                .get(oauth_id)
                .map(|c| (c.key.clone(), c.display_name.clone()))
                .unwrap_or_else(|| (String::new(), oauth_id.to_owned()))
        };
        let message = match notification.message_format {
            MessageFormat::Html => sanitize_html(&notification.message),
            MessageFormat::Text => notification.message.clone(),
        };
        let entry = new_entry(
            room_id,
            Author::AddOn {
                oauth_id: oauth_id.to_owned(),
                key,
                name,
                label: notification.from.clone(),
            },
            message,
            notification.message_format,
        );
        let entry = ChatEntry {
            color: Some(notification.color),
            notify: notification.notify,
            card: notification.card.clone(),
            kind: EntryKind::Notification,
            ..entry
        };
        self.add_chat(entry.clone());
        entry
    }
}

/// A chat entry stamped now with a fresh id.
pub(crate) fn new_entry(
    room_id: u64,
    author: Author,
    message: String,
    message_format: MessageFormat,
) -> ChatEntry {
    let micros = clock::unix_micros();
    let kind = match author {
        Author::User { .. } => EntryKind::Message,
        Author::AddOn { .. } => EntryKind::Notification,
    };
    ChatEntry {
        id: uuid::Uuid::new_v4().to_string(),
        room_id,
        date: clock::hipchat_date(micros),
        at_ms: micros / 1000,
        author,
        message,
        message_format,
        color: None,
        notify: false,
        card: None,
        kind,
        parent_id: None,
        link: None,
        to_user: None,
    }
}

impl Inner {
    /// Who is in a new room: every user who is not a guest.
    pub(crate) fn default_participants(&self) -> BTreeSet<u64> {
        self.users
            .values()
            .filter(|u| !u.is_guest)
            .map(|u| u.id)
            .collect()
    }
}

/// A random alphanumeric string (secrets and access tokens), from v4 UUIDs'
/// random bytes; rejection sampling keeps every character equally likely.
pub(crate) fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for (i, byte) in uuid::Uuid::new_v4().as_bytes().iter().enumerate() {
            // Bytes 6 and 8 carry the UUID version and variant bits; 248 =
            // 4 * 62, and bytes above it would bias the first letters.
            if i != 6 && i != 8 && *byte < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(*byte % 62)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_random_alphanumeric_secrets_of_the_asked_length() {
        let a = random_alphanumeric(40);
        let b = random_alphanumeric(40);
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
