//! A tiny add-on on loopback for driving the HipChat host double: it serves
//! a descriptor, proves its credentials during the install (capabilities +
//! token, as a real add-on does), verifies webhook JWTs with
//! `connect::hipchat::jwt::verify`, and records everything it saw.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use connect::hipchat::capabilities::CapabilitiesDoc;
use connect::hipchat::jwt::{self, VerifyOptions};
use connect::hipchat::token::basic_authorization;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// How the add-on answers webhooks.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this JSON (a notification, or anything).
    Json(Value),
    /// 204, no body.
    Empty,
    /// This status, with a text body.
    Status(u16),
    /// 200 with a body that is not JSON.
    NotJson,
    /// Sleeps this long before answering 204.
    Slow(Duration),
}

/// How the add-on behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Status answered to the install POST.
    pub install_status: u16,
    /// How webhooks are answered.
    pub reply: Reply,
    /// Post "installed" to the room (with a fresh token) before answering
    /// the install, as the seed add-on does.
    pub announce: bool,
    /// What `GET /glance` answers (when its `signed_request` verifies).
    pub glance: Value,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            install_status: 204,
            reply: Reply::Empty,
            announce: false,
            glance: json!({"label": {"type": "html", "value": "<b>3</b> open"},
                           "status": {"type": "lozenge", "value": {"label": "NEW", "type": "new"}}}),
        }
    }
}

/// One glance query: its parameters, and the claims of its verified
/// `signed_request` (or why it did not verify).
pub type GlanceQuery = (Vec<(String, String)>, Result<jwt::Claims, String>);

/// What the add-on saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Install bodies, as received.
    pub installs: Vec<Value>,
    /// Status of the token request made while installing.
    pub install_token_status: Vec<u16>,
    /// Webhook deliveries: (body, Authorization header, verified claims or error).
    pub webhooks: Vec<(Value, Option<String>, Result<jwt::Claims, String>)>,
    /// Uninstalled oauthIds, with the token endpoint's status for their
    /// credentials at that moment.
    pub uninstalls: Vec<(String, u16)>,
    /// Glance queries: the query string's parameters and the verified claims
    /// of its `signed_request` (or why it did not verify).
    pub glance_queries: Vec<GlanceQuery>,
}

#[derive(Clone)]
struct AddOn {
    descriptor: Value,
    behaviour: Behaviour,
    seen: Arc<Mutex<Seen>>,
    secret: Arc<Mutex<Option<(String, String, String)>>>,
    http: reqwest::Client,
}

/// A running add-on.
pub struct RunningAddOn {
    /// Its base URL.
    pub base: String,
    seen: Arc<Mutex<Seen>>,
    _task: tokio::task::JoinHandle<()>,
}

impl RunningAddOn {
    /// `{base}/atlassian-connect.json`.
    pub fn descriptor_url(&self) -> String {
        format!("{}/atlassian-connect.json", self.base)
    }

    /// A snapshot of what it saw.
    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("lock").clone()
    }
}

/// The seed add-on's descriptor at `base`, with `pattern` and `auth`.
pub fn descriptor(base: &str, pattern: &str, auth: &str) -> Value {
    json!({
        "key": "com.example.blogsearch",
        "name": "Blog search",
        "links": {"self": format!("{base}/atlassian-connect.json")},
        "capabilities": {
            "hipchatApiConsumer": {"scopes": ["send_notification"], "fromName": "Blog"},
            "installable": {"callbackUrl": format!("{base}/installable")},
            "webhook": {"url": format!("{base}/webhook"), "event": "room_message",
                        "pattern": pattern, "name": "Search", "authentication": auth}
        }
    })
}

/// Starts an add-on; `edit` may change its descriptor (given its base URL).
pub async fn start(edit: impl FnOnce(&str, &mut Value), behaviour: Behaviour) -> RunningAddOn {
    connect::tls::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut doc = descriptor(&base, "(?i)^/hascode", "jwt");
    edit(&base, &mut doc);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let addon = AddOn {
        descriptor: doc,
        behaviour,
        seen: seen.clone(),
        secret: Arc::new(Mutex::new(None)),
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    };
    let app = axum::Router::new()
        .route("/atlassian-connect.json", get(serve_descriptor))
        .route("/installable", post(installed))
        .route("/installable/{id}", delete(uninstalled))
        .route("/webhook", post(webhook))
        .route("/glance", get(glance))
        .with_state(addon);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    RunningAddOn {
        base,
        seen,
        _task: task,
    }
}

async fn serve_descriptor(State(addon): State<AddOn>) -> Json<Value> {
    Json(addon.descriptor.clone())
}

/// Requests a token with the given credentials; returns the status and
/// the token.
async fn token(addon: &AddOn, token_url: &str, id: &str, secret: &str) -> (u16, Option<String>) {
    let Ok(response) = addon
        .http
        .post(token_url)
        .header(header::AUTHORIZATION, basic_authorization(id, secret))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=send_notification")
        .send()
        .await
    else {
        return (0, None);
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["access_token"].as_str().map(str::to_owned))
}

async fn installed(State(addon): State<AddOn>, Json(body): Json<Value>) -> StatusCode {
    let caps_url = body["capabilitiesUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = body["oauthId"].as_str().unwrap_or_default().to_owned();
    let secret = body["oauthSecret"].as_str().unwrap_or_default().to_owned();
    let caps = match addon.http.get(&caps_url).send().await {
        Ok(r) => r.bytes().await.unwrap_or_default(),
        Err(_) => return StatusCode::BAD_GATEWAY,
    };
    let Ok(doc) = CapabilitiesDoc::parse_from(&caps, &caps_url) else {
        return StatusCode::BAD_GATEWAY;
    };
    let (status, access_token) = token(&addon, doc.token_url(), &id, &secret).await;
    if let (true, Some(access_token), Some(room)) = (
        addon.behaviour.announce,
        access_token,
        body["roomId"].as_u64(),
    ) {
        let _ = addon
            .http
            .post(doc.notification_url(room))
            .bearer_auth(access_token)
            .json(&json!({"message": "The Blog search add-on has been installed in this room"}))
            .send()
            .await;
    }
    *addon.secret.lock().expect("lock") = Some((id, secret, doc.token_url().to_owned()));
    let mut seen = addon.seen.lock().expect("lock");
    seen.installs.push(body);
    seen.install_token_status.push(status);
    StatusCode::from_u16(addon.behaviour.install_status)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn uninstalled(State(addon): State<AddOn>, Path(id): Path<String>) -> StatusCode {
    let known = addon.secret.lock().expect("lock").clone();
    let status = match known {
        Some((known_id, secret, token_url)) if known_id == id => {
            token(&addon, &token_url, &id, &secret).await.0
        }
        _ => 0,
    };
    addon
        .seen
        .lock()
        .expect("lock")
        .uninstalls
        .push((id, status));
    StatusCode::NO_CONTENT
}

async fn glance(
    State(addon): State<AddOn>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let token = params
        .iter()
        .find(|(k, _)| k == "signed_request")
        .map(|(_, v)| v.clone());
    let secret = addon.secret.lock().expect("lock").clone();
    let verified = match (token, secret) {
        (Some(t), Some((_, secret, _))) => jwt::verify(
            &t,
            secret.as_bytes(),
            &VerifyOptions::now(Duration::from_secs(900)),
        )
        .map(|v| v.claims)
        .map_err(|e| e.to_string()),
        _ => Err("no signed_request".to_owned()),
    };
    let ok = verified.is_ok();
    addon
        .seen
        .lock()
        .expect("lock")
        .glance_queries
        .push((params, verified));
    if ok {
        Json(addon.behaviour.glance.clone()).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn webhook(State(addon): State<AddOn>, headers: HeaderMap, body: Bytes) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let secret = addon.secret.lock().expect("lock").clone();
    let verified = match (&auth, secret) {
        (Some(a), Some((_, secret, _))) => jwt::extract_token(Some(a), None, None)
            .and_then(|t| {
                jwt::verify(
                    &t,
                    secret.as_bytes(),
                    &VerifyOptions::now(Duration::from_secs(900)),
                )
            })
            .map(|v| v.claims)
            .map_err(|e| e.to_string()),
        _ => Err("unsigned".to_owned()),
    };
    addon
        .seen
        .lock()
        .expect("lock")
        .webhooks
        .push((value, auth, verified));
    match &addon.behaviour.reply {
        Reply::Json(v) => Json(v.clone()).into_response(),
        Reply::Empty => StatusCode::NO_CONTENT.into_response(),
        Reply::Status(s) => (
            StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "failure",
        )
            .into_response(),
        Reply::NotJson => (StatusCode::OK, "<html>ok</html>").into_response(),
        Reply::Slow(d) => {
            tokio::time::sleep(*d).await;
            StatusCode::NO_CONTENT.into_response()
        }
    }
}
