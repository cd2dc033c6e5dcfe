//! A HipChat host double: a real HTTP server speaking PROTOCOL.md to
//! add-ons, usable in-process by tests and as the core of `connect emulate`.
//!
//! What add-ons see (all under `{base}/v2`): the capabilities document, the
//! OAuth2 client-credentials token endpoint, room notifications with
//! HipChat's limits, `GET /room/{id}` and room webhooks. What the embedding
//! program drives through [`Host`]: install from a descriptor URL,
//! uninstall, post a user's room message (delivered to matching add-ons),
//! read rooms, chat, installations and every exchange, and subscribe to live
//! [`HostEvent`]s.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use connect::hipchat::host::{Host, HostOptions, User};
//! let running = Host::new(HostOptions::default())?
//!     .start(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
//! let host = running.host();
//! let install = host.install("http://127.0.0.1:3000/atlassian-connect.json", Some(1)).await?;
//! let posted = host.post_message(1, &User::default(), "/hascode rust").await?;
//! println!("{} -> {:?}", install.oauth_id, posted.deliveries);
//! # Ok(()) }
//! ```

mod clients;
mod clock;
pub(crate) mod deliver;
pub(crate) mod exchange;
mod glances;
mod install;
mod limits;
mod model;
mod pages;
mod people;
mod routes;
mod shapes;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub use deliver::{MessageError, Posted};
pub use glances::{GlanceSource, GlanceState};
pub use install::{InstallError, UninstallError, Uninstalled};
pub use limits::{Quota, RateLimits};
pub use model::{
    Author, CapabilitiesFault, ChatEntry, Credentials, Delivery, Direction, EntryKind, Exchange,
    ExchangeKind, GlanceScope, HostEvent, Installation, InstalledWebhook, Room, User,
};
pub use pages::{PageError, SignedPage, SignedToken, Theme};
pub use people::{MAX_SENT_MESSAGE_CHARS, MAX_TOPIC_CHARS, PeopleError, TopicSetter};

use state::Shared;

/// How a host behaves.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The URL add-ons reach the host at (no trailing slash), e.g. behind a
    /// proxy. `None`: `http://<listening address>` once started.
    pub public_base_url: Option<String>,
    /// Lifetime of access tokens (HipChat: 3599 s; seen up to years).
    pub token_lifetime: Duration,
    /// Rate limits of the REST API.
    pub limits: RateLimits,
    /// The group every installation belongs to (`groupId`).
    pub group_id: u64,
    /// Its name (`group_name` in token answers).
    pub group_name: String,
    /// Rooms that exist from the start (more are created on first use).
    pub rooms: Vec<Room>,
    /// The group's users ([`User::defaults`]: an admin, a member, a guest).
    /// Every user who is not a guest starts in every room.
    pub users: Vec<User>,
    /// Timeout of descriptor fetches and webhook deliveries.
    pub request_timeout: Duration,
    /// Timeout of install and uninstall calls (the add-on calls back
    /// during an install, so allow more).
    pub install_timeout: Duration,
    /// How many exchanges are kept (oldest dropped first).
    pub exchange_history: usize,
    /// How many chat entries are kept per room.
    pub chat_history: usize,
    /// Events buffered per slow subscriber before it lags.
    pub event_capacity: usize,
    /// Send capabilities documents and token answers with only the fields
    /// an add-on needs (`links.self`, `links.api`, `tokenUrl`;
    /// `access_token`, `expires_in`), as some HipChat Server installations
    /// did, instead of hipchat.com's full ones.
    pub lean_documents: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            public_base_url: None,
            token_lifetime: Duration::from_secs(3599),
            limits: RateLimits::default(),
            group_id: 1,
            group_name: "Local group".into(),
            rooms: vec![Room {
                id: 1,
                name: "General".into(),
            }],
            users: User::defaults(),
            request_timeout: Duration::from_secs(10),
            install_timeout: Duration::from_secs(30),
            exchange_history: 1000,
            chat_history: 1000,
            event_capacity: 1024,
            lean_documents: false,
        }
    }
}

/// A HipChat host. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct Host {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("base_url", &self.shared.base_url())
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host with no add-ons installed. Fails only if the HTTP client
    /// cannot be built (TLS set-up).
    pub fn new(options: HostOptions) -> Result<Self, reqwest::Error> {
        Ok(Host {
            shared: Arc::new(Shared::new(options)?),
        })
    }

    /// The routes add-ons call (`/v2/...`), to serve or merge into a larger
    /// router. It has no fallback, so merging cannot conflict. When serving
    /// it yourself, call [`Host::set_base_url`] first.
    pub fn router(&self) -> axum::Router {
        routes::router(self.shared.clone())
    }

    /// Serves [`Host::router`] on `listener` in a background task. The base
    /// URL becomes `http://<listener address>` unless one is configured.
    pub fn start(&self, listener: tokio::net::TcpListener) -> std::io::Result<RunningHost> {
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        self.shared.default_base_url(&format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = self.router();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "the HipChat host stopped serving");
            }
        });
        Ok(RunningHost {
            host: self.clone(),
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Binds `addr` (port 0 picks a free one) and serves there, like
    /// [`Host::start`].
    pub async fn start_on(&self, addr: SocketAddr) -> std::io::Result<RunningHost> {
        self.start(tokio::net::TcpListener::bind(addr).await?)
    }

    /// The base URL add-ons use (no trailing slash), once known.
    pub fn base_url(&self) -> Option<String> {
        self.shared.base_url()
    }

    /// Sets the base URL (when serving [`Host::router`] yourself).
    pub fn set_base_url(&self, url: &str) {
        self.shared.set_base_url(url);
    }

    /// `{base}/v2/capabilities`, the `capabilitiesUrl` of installs.
    pub fn capabilities_url(&self) -> Option<String> {
        self.base_url().map(|b| format!("{b}/v2/capabilities"))
    }

    /// Fetches and validates the descriptor at `descriptor_url`, mints an
    /// oauthId and a 40-character oauthSecret, POSTs the install to
    /// `installable.callbackUrl` and records the add-on on a 2xx answer.
    /// `room_id` `None` is a global install.
    pub async fn install(
        &self,
        descriptor_url: &str,
        room_id: Option<u64>,
    ) -> Result<Installation, InstallError> {
        install::install(&self.shared, descriptor_url, room_id).await
    }

    /// Fetches an installation's descriptor again and applies it in place
    /// (name, scopes, webhooks, UI modules) without calling the add-on, if
    /// it still has the same key; `Ok(None)` if the key changed (reinstall
    /// instead) or the installation is gone.
    pub async fn update_in_place(
        &self,
        oauth_id: &str,
    ) -> Result<Option<Installation>, InstallError> {
        install::update_in_place(&self.shared, oauth_id).await
    }

    /// POSTs an installation to the add-on's install callback again with
    /// the same credentials (an add-on whose store is in memory forgets its
    /// installs when it restarts); `Ok(None)` if it is gone or revoked.
    pub async fn resend_install(
        &self,
        oauth_id: &str,
    ) -> Result<Option<Installation>, InstallError> {
        install::resend(&self.shared, oauth_id).await
    }

    /// Revokes the credentials (and tokens), then calls
    /// `DELETE {callbackUrl}/{oauthId}`, then forgets the installation.
    pub async fn uninstall(&self, oauth_id: &str) -> Result<Uninstalled, UninstallError> {
        install::uninstall(&self.shared, oauth_id).await
    }

    /// Revokes an installation's credentials and tokens without uninstalling
    /// it (token requests then get 401). Returns whether it was known.
    pub fn revoke(&self, oauth_id: &str) -> bool {
        install::revoke(&self.shared, oauth_id)
    }

    /// Registers OAuth client credentials chosen by the caller with the
    /// token endpoint, without a descriptor or an install call: to drive an
    /// add-on's install callback by hand (a hand-written or recorded install
    /// body naming `{base}/v2/capabilities`), or to test a client against
    /// the token endpoint and REST API. The client gets `scopes` and, with
    /// `room_id`, may act in that room only (created if new), like a room
    /// install. Registering a known oauthId again rotates its secret: the old
    /// secret and every token it obtained stop working, and a revoked client
    /// works again. Nothing is installed: [`Host::installations`] and message
    /// deliveries are unchanged.
    pub fn register_client(
        &self,
        credentials: &Credentials,
        scopes: &[&str],
        room_id: Option<u64>,
    ) {
        clients::register(&self.shared, credentials, scopes, room_id);
    }

    /// Sets the lifetime of access tokens granted from now on (until then,
    /// [`HostOptions::token_lifetime`]), e.g. to see an add-on refresh a
    /// token about to expire. Tokens already granted keep their expiry.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = Some(lifetime);
    }

    /// Posts a user's message to a room (created if new) and delivers it to
    /// every matching `room_message` webhook, concurrently; returns once
    /// every delivery is done.
    pub async fn post_message(
        &self,
        room_id: u64,
        user: &User,
        text: &str,
    ) -> Result<Posted, MessageError> {
        deliver::post_message(&self.shared, room_id, user, text).await
    }

    /// Creates a room with the next free id.
    pub fn create_room(&self, name: &str) -> Room {
        let room = {
            let mut inner = self.shared.lock();
            // One past the highest id; the lowest free one if that overflows.
            let id = match inner.rooms.keys().next_back() {
                None => 1,
                Some(last) => last
                    .checked_add(1)
                    .unwrap_or_else(|| (1..).find(|id| !inner.rooms.contains_key(id)).unwrap_or(0)),
            };
            let room = Room {
                id,
                name: name.to_owned(),
            };
            inner.rooms.insert(id, room.clone());
            let members = inner.default_participants();
            inner.participants.insert(id, members);
            room
        };
        self.shared
            .publish(HostEvent::RoomCreated { room: room.clone() });
        room
    }

    /// The room with this id, created (named `Room <id>`) if new.
    pub fn ensure_room(&self, room_id: u64) -> Room {
        self.shared.ensure_room(room_id)
    }

    /// Every room, by id.
    pub fn rooms(&self) -> Vec<Room> {
        self.shared.lock().rooms.values().cloned().collect()
    }

    /// A room's messages and notifications, oldest first.
    pub fn room_messages(&self, room_id: u64) -> Vec<ChatEntry> {
        self.shared.room_log(room_id)
    }

    /// Every installation, oldest first.
    pub fn installations(&self) -> Vec<Installation> {
        let inner = self.shared.lock();
        let mut records: Vec<_> = inner.installs.values().collect();
        records.sort_by_key(|r| r.seq);
        records.iter().map(|r| r.installation.clone()).collect()
    }

    /// One installation.
    pub fn installation(&self, oauth_id: &str) -> Option<Installation> {
        let inner = self.shared.lock();
        inner.installs.get(oauth_id).map(|r| r.installation.clone())
    }

    /// An installation's credentials, for tests that sign their own
    /// requests; `None` once revoked or unknown. Never log the secret.
    pub fn credentials(&self, oauth_id: &str) -> Option<Credentials> {
        let inner = self.shared.lock();
        let credential = inner.credentials.get(oauth_id).filter(|c| !c.revoked)?;
        Some(Credentials {
            oauth_id: oauth_id.to_owned(),
            oauth_secret: credential.secret.clone(),
        })
    }

    /// Recorded exchanges with add-ons, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.lock().exchanges.iter().cloned().collect()
    }

    /// Live events: chat entries, installs, uninstalls, exchanges.
    pub fn subscribe(&self) -> broadcast::Receiver<HostEvent> {
        self.shared.subscribe()
    }

    /// Token requests made with this client id (granted or not).
    pub fn token_requests(&self, oauth_id: &str) -> u64 {
        let inner = self.shared.lock();
        inner.token_requests.get(oauth_id).copied().unwrap_or(0)
    }

    /// Access tokens granted to this client id.
    pub fn tokens_granted(&self, oauth_id: &str) -> u64 {
        let inner = self.shared.lock();
        inner.tokens_granted.get(oauth_id).copied().unwrap_or(0)
    }

    /// Add-on notifications posted in a room (REST and inline answers).
    pub fn notification_count(&self, room_id: u64) -> u64 {
        let inner = self.shared.lock();
        inner.notifications.get(&room_id).copied().unwrap_or(0)
    }

    /// Breaks (or, with `None`, repairs) the capabilities document, to test
    /// how add-ons handle a bad host during an install.
    pub fn set_capabilities_fault(&self, fault: Option<CapabilitiesFault>) {
        self.shared.lock().capabilities_fault = fault;
    }

    /// The group's users, by id.
    pub fn users(&self) -> Vec<User> {
        self.shared.lock().users.values().cloned().collect()
    }

    /// One user.
    pub fn user(&self, id: u64) -> Option<User> {
        self.shared.lock().users.get(&id).cloned()
    }

    /// Adds a user to the group if its id is new (a user who has not
    /// entered any room).
    pub fn add_user(&self, user: &User) {
        self.shared.ensure_user(user);
    }

    /// Who is in a room, by id.
    pub fn participants(&self, room_id: u64) -> Vec<User> {
        let inner = self.shared.lock();
        inner
            .participants
            .get(&room_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| inner.users.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A room's topic (empty when none was set).
    pub fn topic(&self, room_id: u64) -> String {
        self.shared
            .lock()
            .topics
            .get(&room_id)
            .cloned()
            .unwrap_or_default()
    }

    /// A user enters a room: the add-ons there get `room_enter`. Nothing
    /// happens (no deliveries) if the user is already in it.
    pub async fn enter_room(
        &self,
        room_id: u64,
        user_id: u64,
    ) -> Result<Vec<Delivery>, PeopleError> {
        people::enter(&self.shared, room_id, user_id).await
    }

    /// A user leaves a room: the add-ons there get `room_exit`.
    pub async fn leave_room(
        &self,
        room_id: u64,
        user_id: u64,
    ) -> Result<Vec<Delivery>, PeopleError> {
        people::leave(&self.shared, room_id, user_id).await
    }

    /// A user sets a room's topic: the add-ons there get `room_topic_change`.
    pub async fn set_topic(
        &self,
        room_id: u64,
        user_id: u64,
        topic: &str,
    ) -> Result<Vec<Delivery>, PeopleError> {
        people::set_topic(&self.shared, room_id, TopicSetter::User(user_id), topic).await
    }

    /// Private messages add-ons sent to a user, oldest first.
    pub fn private_messages(&self, user_id: u64) -> Vec<ChatEntry> {
        self.shared
            .lock()
            .private
            .get(&user_id)
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A fresh JWT for an installation on behalf of a user in a room, as
    /// `HipChat.auth.withToken` hands one to an add-on's page.
    pub fn sign_token(
        &self,
        oauth_id: &str,
        user_id: u64,
        room_id: u64,
    ) -> Result<SignedToken, PageError> {
        pages::token(&self.shared, oauth_id, user_id, room_id)
    }

    /// The signed URL of a module's page (or a glance's `queryUrl`) as the
    /// host shows it to `user_id` in `room_id`.
    pub fn sign_page(
        &self,
        oauth_id: &str,
        module_key: &str,
        user_id: u64,
        room_id: u64,
        theme: Theme,
        xdmhost: Option<&str>,
    ) -> Result<SignedPage, PageError> {
        pages::page(
            &self.shared,
            oauth_id,
            module_key,
            user_id,
            room_id,
            theme,
            xdmhost,
        )
    }

    /// The content pushed for a glance as `user_id` sees it in `room_id`.
    pub fn pushed_glance(
        &self,
        oauth_id: &str,
        key: &str,
        room_id: u64,
        user_id: u64,
    ) -> Option<(GlanceScope, crate::hipchat::glance::GlanceContent)> {
        glances::pushed(&self.shared, oauth_id, key, room_id, user_id)
    }

    /// Every glance of an installation as `user_id` sees it in `room_id`:
    /// pushed content, or what its `queryUrl` answers now.
    pub async fn glances(
        &self,
        oauth_id: &str,
        room_id: u64,
        user_id: u64,
    ) -> Result<Vec<GlanceState>, PageError> {
        glances::current(&self.shared, oauth_id, room_id, user_id).await
    }

    /// What `HipChat.room.getRoomDetails` gives a page: `{id, name,
    /// privacy, topic, ...}` as `GET /room/{id}` has them.
    pub fn page_room_details(&self, room_id: u64) -> serde_json::Value {
        routes::room_details(&self.shared, room_id, false)
    }

    /// What `HipChat.user.getCurrentUser` gives a page for a user.
    pub fn page_user(&self, user: &User) -> serde_json::Value {
        shapes::user_for_page(user)
    }

    /// Whether an installation declared a scope.
    pub fn has_scope(&self, oauth_id: &str, scope: &str) -> bool {
        self.shared
            .lock()
            .installs
            .get(oauth_id)
            .is_some_and(|r| r.installation.scopes.iter().any(|s| s == scope))
    }

    /// Records an exchange made on the host's behalf (e.g. a page loaded
    /// through a forwarding address), giving it its id, and publishes it.
    pub fn record_exchange(&self, exchange: Exchange) -> u64 {
        self.shared.record(exchange)
    }

    /// Forgets every recorded exchange (the inspector's "clear").
    pub fn clear_exchanges(&self) {
        self.shared.lock().exchanges.clear();
    }

    /// Makes the next `n` REST API answers 429 with `Retry-After` of
    /// [`RateLimits::forced_retry_after`] (0 cancels).
    pub fn force_rate_limit(&self, n: u32) {
        self.shared.lock().limiter.force(n);
    }
}

/// A host serving in the background; stops (gracefully) when dropped.
#[derive(Debug)]
pub struct RunningHost {
    host: Host,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningHost {
    /// The host (clone it freely).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL (the configured public one, or `http://<addr>`).
    pub fn base_url(&self) -> String {
        self.host
            .base_url()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    /// `{base}/v2/capabilities`.
    pub fn capabilities_url(&self) -> String {
        format!("{}/v2/capabilities", self.base_url())
    }

    /// Stops serving and waits for in-flight requests to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
