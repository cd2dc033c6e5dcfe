//! The crate's HipChat host double (`connect::hipchat::host`) served on its
//! own thread for `connect serve`'s tests, plus installs made by hand: the
//! test picks the credentials, registers them with the host and POSTs the
//! install body itself, so it can also POST bodies HipChat would never send.

use std::ops::Deref;
use std::time::{Duration, Instant};

use connect::hipchat::host::{
    Author, ChatEntry, Credentials, Direction, ExchangeKind, Host, HostOptions,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::double::Double;

/// The group of every install (`groupId`).
pub const GROUP_ID: u64 = 46617;

/// The scopes the scaffolded descriptor declares.
pub const SCOPES: &[&str] = &["send_notification"];

/// A running crate host; derefs to [`Host`] for everything it offers
/// (`revoke`, `token_requests`, `force_rate_limit`, ...).
pub struct HipChat {
    host: Host,
    client: reqwest::Client,
    _server: Double,
}

impl Deref for HipChat {
    type Target = Host;

    fn deref(&self) -> &Host {
        &self.host
    }
}

impl HipChat {
    /// A host with HipChat's limits.
    pub fn start() -> HipChat {
        HipChat::start_with(HostOptions::default())
    }

    /// A host with `options` (its group is always [`GROUP_ID`]). Served on
    /// a thread of its own, so it keeps answering while the test blocks.
    pub fn start_with(options: HostOptions) -> HipChat {
        let host = Host::new(HostOptions {
            group_id: GROUP_ID,
            ..options
        })
        .expect("build the HipChat host");
        let server = Double::spawn(host.router());
        host.set_base_url(&server.url());
        HipChat {
            host,
            client: super::client(),
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/v2/capabilities`.
    pub fn capabilities_url(&self) -> String {
        self.host
            .capabilities_url()
            .expect("the host has a base URL")
    }

    /// The install body HipChat would POST for `oauth_id` in `room`.
    pub fn install_body(&self, oauth_id: &str, secret: &str, room: Option<u64>) -> Value {
        let mut body = json!({
            "oauthId": oauth_id,
            "capabilitiesUrl": self.capabilities_url(),
            "groupId": GROUP_ID,
            "oauthSecret": secret,
        });
        if let Some(room) = room {
            body["roomId"] = json!(room);
        }
        body
    }

    /// Registers credentials with the host only (as an installation the
    /// 2015 add-on took, whose record a test writes itself).
    pub fn register(&self, oauth_id: &str, secret: &str, room: Option<u64>) {
        let credentials = Credentials {
            oauth_id: oauth_id.into(),
            oauth_secret: secret.into(),
        };
        self.host.register_client(&credentials, SCOPES, room);
    }

    /// The capabilities document, as an install fetches it.
    pub async fn capabilities(&self) -> Value {
        self.client
            .get(self.capabilities_url())
            .send()
            .await
            .expect("GET the capabilities")
            .json()
            .await
            .expect("a capabilities document")
    }

    /// A `clientInfo` record as atlassian-connect-express-hipchat wrote it.
    pub async fn client_info(&self, oauth_id: &str, secret: &str, room: u64) -> Value {
        json!({
            "clientKey": oauth_id,
            "oauthSecret": secret,
            "capabilitiesUrl": self.capabilities_url(),
            "capabilitiesDoc": self.capabilities().await,
            "roomId": room,
            "groupId": GROUP_ID,
            "groupName": "Acme"
        })
    }

    /// Installs the add-on at `base` as `oauth_id`: registers the
    /// credentials with the host (rotating the secret of a known oauthId)
    /// and POSTs the install body. (`install`, through `Deref`, is the
    /// host's own install from a descriptor URL, minting credentials.)
    pub async fn install_as(
        &self,
        base: &str,
        oauth_id: &str,
        secret: &str,
        room: Option<u64>,
    ) -> reqwest::Response {
        let credentials = Credentials {
            oauth_id: oauth_id.into(),
            oauth_secret: secret.into(),
        };
        self.host.register_client(&credentials, SCOPES, room);
        self.client
            .post(format!("{base}/installable"))
            .json(&self.install_body(oauth_id, secret, room))
            .send()
            .await
            .expect("POST /installable")
    }

    /// [`HipChat::install_as`], which must succeed (204).
    pub async fn must_install_as(
        &self,
        base: &str,
        oauth_id: &str,
        secret: &str,
        room: Option<u64>,
    ) {
        let response = self.install_as(base, oauth_id, secret, room).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::NO_CONTENT, "install refused: {body}");
    }

    /// `DELETE {base}/installable/{oauth_id}`, as HipChat uninstalls (after
    /// revoking the credentials: see [`Host::revoke`]).
    pub async fn delete_installable(&self, base: &str, oauth_id: &str) -> StatusCode {
        self.client
            .delete(format!("{base}/installable/{oauth_id}"))
            .send()
            .await
            .expect("DELETE /installable")
            .status()
    }

    /// Add-on notifications in every room, oldest first.
    pub fn notices(&self) -> Vec<ChatEntry> {
        let mut all: Vec<ChatEntry> = self
            .host
            .rooms()
            .iter()
            .flat_map(|room| self.host.room_messages(room.id))
            .filter(|entry| matches!(entry.author, Author::AddOn { .. }))
            .collect();
        all.sort_by_key(|entry| entry.at_ms);
        all
    }

    /// Waits up to `secs` seconds for at least `n` notices.
    pub async fn wait_for_notices(&self, n: usize, secs: u64) -> Vec<ChatEntry> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let all = self.notices();
            if all.len() >= n || Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Notifications the host refused with 429.
    pub fn rate_limited(&self) -> usize {
        self.host
            .exchanges()
            .iter()
            .filter(|e| {
                e.direction == Direction::FromAddOn
                    && e.kind == ExchangeKind::Notification
                    && e.status == Some(429)
            })
            .count()
    }
}
