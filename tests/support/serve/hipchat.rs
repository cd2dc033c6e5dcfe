//! A small HipChat double for `connect serve`'s tests: the capabilities
//! document (or a broken one on demand), the OAuth2 token endpoint (known
//! credentials, revocation, a request counter) and room notifications
//! (recorded; 429s on demand). Plus the two things HipChat does to an
//! add-on: install it, and deliver a signed room_message webhook.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use connect::hipchat::capabilities::CapabilitiesDoc;
use connect::hipchat::jwt::{self, Algorithm, Claims, Context};
use connect::hipchat::token::parse_basic_authorization;
use serde_json::{Value, json};

use super::double::Double;

/// What the capabilities URL answers.
#[derive(Clone, Debug)]
pub enum CapabilitiesMode {
    /// The real document.
    Normal,
    /// A document whose `links.self` is another URL.
    WrongSelf,
    /// 200 with a body that is not JSON.
    NotJson,
    /// This status.
    Status(u16),
}

#[derive(Debug, Default)]
struct Inner {
    base: String,
    capabilities: Option<CapabilitiesMode>,
    credentials: HashMap<String, String>,
    revoked: HashSet<String>,
    tokens: HashMap<String, String>,
    token_requests: usize,
    expires_in: u64,
    reject_notifications: usize,
    rejected: usize,
    notifications: Vec<(u64, Value)>,
}

/// A running HipChat double.
pub struct Hipchat {
    inner: Arc<Mutex<Inner>>,
    server: Double,
}

type Shared = Arc<Mutex<Inner>>;

impl Hipchat {
    /// Starts the double.
    pub fn start() -> Hipchat {
        let inner: Shared = Arc::default();
        let router = Router::new()
            .route("/v2/capabilities", get(capabilities))
            .route("/v2/oauth/token", post(token))
            .route("/v2/room/{room}/notification", post(notification))
            .with_state(inner.clone());
        let server = Double::spawn(router);
        {
            let mut i = inner.lock().unwrap();
            i.base = server.url();
            i.expires_in = 3599;
        }
        Hipchat { inner, server }
    }

    /// `http://127.0.0.1:PORT/v2/capabilities`.
    pub fn capabilities_url(&self) -> String {
        format!("{}/v2/capabilities", self.server.url())
    }

    /// Changes what the capabilities URL answers.
    pub fn set_capabilities(&self, mode: CapabilitiesMode) {
        self.inner.lock().unwrap().capabilities = Some(mode);
    }

    /// Makes the token endpoint accept `oauth_id` with `secret`.
    pub fn register(&self, oauth_id: &str, secret: &str) {
        let mut i = self.inner.lock().unwrap();
        i.credentials.insert(oauth_id.into(), secret.into());
        i.revoked.remove(oauth_id);
    }

    /// Revokes the credentials of `oauth_id` (as HipChat does before an uninstall).
    pub fn revoke(&self, oauth_id: &str) {
        self.inner.lock().unwrap().revoked.insert(oauth_id.into());
    }

    /// Lifetime of the tokens it issues.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.inner.lock().unwrap().expires_in = secs;
    }

    /// How many token requests it received.
    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }

    /// Answers the next `n` notifications with 429 and `Retry-After: 1`.
    pub fn rate_limit_next(&self, n: usize) {
        self.inner.lock().unwrap().reject_notifications = n;
    }

    /// How many notifications were refused with 429.
    pub fn rate_limited(&self) -> usize {
        self.inner.lock().unwrap().rejected
    }

    /// Notifications posted so far: `(room, body)`.
    pub fn notifications(&self) -> Vec<(u64, Value)> {
        self.inner.lock().unwrap().notifications.clone()
    }

    /// Waits up to `secs` seconds for at least `n` notifications.
    pub async fn wait_for_notifications(&self, n: usize, secs: u64) -> Vec<(u64, Value)> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let all = self.notifications();
            if all.len() >= n || std::time::Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The install body HipChat would POST for `oauth_id` in `room`.
    pub fn install_body(&self, oauth_id: &str, secret: &str, room: Option<u64>) -> Value {
        let mut body = json!({
            "oauthId": oauth_id,
            "capabilitiesUrl": self.capabilities_url(),
            "groupId": 46617,
            "oauthSecret": secret,
        });
        if let Some(room) = room {
            body["roomId"] = json!(room);
        }
        body
    }

    /// Registers the credentials and installs the add-on served at `base`.
    pub async fn install(
        &self,
        client: &reqwest::Client,
        base: &str,
        oauth_id: &str,
        secret: &str,
        room: Option<u64>,
    ) -> reqwest::Response {
        self.register(oauth_id, secret);
        client
            .post(format!("{base}/installable"))
            .json(&self.install_body(oauth_id, secret, room))
            .send()
            .await
            .expect("POST /installable")
    }
}

/// A room_message body as HipChat sent it.
pub fn room_message(oauth_id: &str, room: u64, text: &str) -> Value {
    json!({
        "event": "room_message",
        "item": {
            "message": {
                "date": "2015-10-14T06:15:26.778258+00:00",
                "from": {"id": 2716065, "links": {"self": "https://api.hipchat.com/v2/user/2716065"}, "mention_name": "Tester", "name": "Test User", "version": "00000000"},
                "id": uuid::Uuid::new_v4().to_string(),
                "mentions": [],
                "message": text,
                "type": "message"
            },
            "room": {"id": room, "links": {"self": format!("https://api.hipchat.com/v2/room/{room}")}, "name": "Room", "version": "O7WN272M"}
        },
        "oauth_client_id": oauth_id,
        "webhook_id": 2838389
    })
}

/// Claims HipChat would sign for a webhook from `oauth_id`, issued now.
pub fn claims(oauth_id: &str, room: u64) -> Claims {
    let now = jwt::unix_now();
    Claims {
        iss: oauth_id.into(),
        sub: Some("2716065".into()),
        prn: None,
        iat: now,
        exp: now + 3600,
        jti: Some(uuid::Uuid::new_v4().to_string()),
        context: Some(Context {
            room_id: Some(room),
            user_tz: Some("UTC".into()),
        }),
    }
}

/// Signs `claims` with `secret` (HS256).
pub fn sign(claims: &Claims, secret: &str) -> String {
    jwt::sign(claims, secret.as_bytes(), Algorithm::HS256).expect("sign a JWT")
}

/// POSTs a signed room message to the webhook at `url`.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    oauth_id: &str,
    secret: &str,
    room: u64,
    text: &str,
) -> reqwest::Response {
    let token = sign(&claims(oauth_id, room), secret);
    client
        .post(url)
        .header("authorization", format!("JWT {token}"))
        .json(&room_message(oauth_id, room, text))
        .send()
        .await
        .expect("POST the webhook")
}

async fn capabilities(State(inner): State<Shared>) -> Response {
    let (base, mode) = {
        let i = inner.lock().unwrap();
        (
            i.base.clone(),
            i.capabilities.clone().unwrap_or(CapabilitiesMode::Normal),
        )
    };
    match mode {
        CapabilitiesMode::Normal => axum::Json(CapabilitiesDoc::for_host(&base)).into_response(),
        CapabilitiesMode::WrongSelf => {
            let mut doc = CapabilitiesDoc::for_host(&base);
            doc.links.self_url = "https://evil.example/v2/capabilities".into();
            axum::Json(doc).into_response()
        }
        CapabilitiesMode::NotJson => (StatusCode::OK, "<html>hello</html>").into_response(),
        CapabilitiesMode::Status(code) => {
            (StatusCode::from_u16(code).unwrap(), "down").into_response()
        }
    }
}

fn error(code: StatusCode, message: &str) -> Response {
    let body = connect::hipchat::notification::ErrorEnvelope::new(code.as_u16(), message);
    (code, axum::Json(body)).into_response()
}

async fn token(State(inner): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut i = inner.lock().unwrap();
    i.token_requests += 1;
    let Some((id, secret)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic_authorization)
    else {
        return error(StatusCode::UNAUTHORIZED, "Invalid OAuth session");
    };
    let known = i.credentials.get(&id).is_some_and(|s| *s == secret) && !i.revoked.contains(&id);
    if !known || !body.contains("grant_type=client_credentials") {
        return error(StatusCode::UNAUTHORIZED, "Invalid OAuth session");
    }
    let access_token = uuid::Uuid::new_v4().simple().to_string();
    i.tokens.insert(access_token.clone(), id);
    axum::Json(json!({
        "access_token": access_token, "expires_in": i.expires_in, "group_id": 46617,
        "group_name": "Acme", "scope": "send_notification", "token_type": "bearer"
    }))
    .into_response()
}

async fn notification(
    State(inner): State<Shared>,
    Path(room): Path<u64>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut i = inner.lock().unwrap();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let valid = i
        .tokens
        .get(bearer)
        .is_some_and(|id| !i.revoked.contains(id));
    if !valid {
        return error(StatusCode::UNAUTHORIZED, "Invalid OAuth session");
    }
    if i.reject_notifications > 0 {
        i.reject_notifications -= 1;
        i.rejected += 1;
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "You have exceeded the rate limit",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, "1".parse().unwrap());
        return response;
    }
    let Ok(value) = serde_json::from_str::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "not JSON");
    };
    i.notifications.push((room, value));
    StatusCode::NO_CONTENT.into_response()
}
