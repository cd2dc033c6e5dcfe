//! A scripted add-on double for the emulator's tests: it serves several
//! descriptors (good, broken, refusing), keeps the install bodies the host
//! sends (so a test holds real oauthId/oauthSecret pairs), and answers
//! webhooks with an inline notification.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Recorded {
    base: String,
    installs: Arc<Mutex<Vec<Value>>>,
    uninstalls: Arc<Mutex<Vec<String>>>,
    webhooks: Arc<Mutex<Vec<Value>>>,
}

/// The add-on double on a free loopback port.
pub struct ScriptedAddon {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    recorded: Recorded,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedAddon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A valid descriptor under `{base}/{variant}`, with `scopes`.
fn descriptor(base: &str, variant: &str, scopes: &[&str]) -> Value {
    json!({
        "key": format!("com.example.scripted-{variant}"),
        "name": format!("Scripted {variant}"),
        "links": {"self": format!("{base}/{variant}/atlassian-connect.json")},
        "capabilities": {
            "hipchatApiConsumer": {"scopes": scopes, "fromName": "Scripted"},
            "installable": {"callbackUrl": format!("{base}/{variant}/installable")},
            "webhook": {
                "url": format!("{base}/{variant}/webhook"),
                "event": "room_message",
                "pattern": "(?i)^/ping",
                "name": "ping",
                "authentication": "jwt"
            }
        }
    })
}

async fn serve_descriptor(State(r): State<Recorded>, Path(variant): Path<String>) -> Response {
    match variant.as_str() {
        "good" | "refuses" => {
            Json(descriptor(&r.base, &variant, &["send_notification"])).into_response()
        }
        "viewer" => Json(descriptor(&r.base, &variant, &["view_room"])).into_response(),
        "ui" | "uiviewer" => {
            let scopes: &[&str] = if variant == "ui" {
                &["send_notification"]
            } else {
                &["send_notification", "view_room", "view_group"]
            };
            let mut d = descriptor(&r.base, &variant, scopes);
            let base = format!("{}/{variant}", r.base);
            let caps = &mut d["capabilities"];
            caps["configurable"] = json!({"url": format!("{base}/config")});
            caps["glance"] = json!([{"key": "ui.glance", "name": {"value": "UI glance"},
                "queryUrl": format!("{base}/glance"), "target": "ui.sidebar",
                "icon": {"url": format!("{base}/icon.png"), "url@2x": format!("{base}/icon.png")}}]);
            caps["webPanel"] = json!([{"key": "ui.sidebar", "name": {"value": "UI sidebar"},
                "location": "hipchat.sidebar.right", "url": format!("{base}/page")}]);
            caps["dialog"] = json!([{"key": "ui.dialog", "title": {"value": "UI dialog"}, "url": format!("{base}/page"),
                "options": {"primaryAction": {"key": "ui.ok", "name": {"value": "OK"}}}}]);
            caps["action"] = json!([{"key": "ui.action", "name": {"value": "Open"}, "target": "ui.dialog",
                "location": "hipchat.input.action"}]);
            Json(d).into_response()
        }
        "notjson" => (StatusCode::OK, "<html>not a descriptor</html>").into_response(),
        "nokey" => {
            let mut d = descriptor(&r.base, &variant, &["send_notification"]);
            if let Some(map) = d.as_object_mut() {
                map.remove("key");
            }
            Json(d).into_response()
        }
        "badpattern" => {
            let mut d = descriptor(&r.base, &variant, &["send_notification"]);
            d["capabilities"]["webhook"]["pattern"] = json!("^/ping(");
            Json(d).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such descriptor").into_response(),
    }
}

async fn installed(
    State(r): State<Recorded>,
    Path(variant): Path<String>,
    Json(body): Json<Value>,
) -> StatusCode {
    if variant == "refuses" {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if let Ok(mut installs) = r.installs.lock() {
        installs.push(body);
    }
    StatusCode::NO_CONTENT
}

async fn uninstalled(
    State(r): State<Recorded>,
    Path((_variant, oauth_id)): Path<(String, String)>,
) -> StatusCode {
    if let Ok(mut gone) = r.uninstalls.lock() {
        gone.push(oauth_id);
    }
    StatusCode::NO_CONTENT
}

async fn webhook(State(r): State<Recorded>, Json(body): Json<Value>) -> Json<Value> {
    if let Ok(mut hooks) = r.webhooks.lock() {
        hooks.push(body);
    }
    Json(json!({"message": "pong <script>x</script>", "message_format": "text", "color": "purple"}))
}

/// An add-on page as the 2016 template wrote them: HipChat's script from
/// hipchat.com, its own script by absolute URL, a form posting to itself.
async fn page(State(r): State<Recorded>, Path(variant): Path<String>) -> Response {
    let html = format!(
        r#"<!doctype html><html><head><script src="//www.hipchat.com/atlassian-connect/all.js"></script>
<script src="{base}/{variant}/addon.js"></script></head>
<body><h1>Page of {variant}</h1><form action="{base}/{variant}/save"></form></body></html>"#,
        base = r.base
    );
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// A glance answer, with the CORS header the browser needs.
async fn glance() -> Response {
    (
        [(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(json!({"label": {"type": "html", "value": "<b>2</b> open"},
                    "status": {"type": "lozenge", "value": {"label": "NEW", "type": "new"}}})),
    )
        .into_response()
}

/// A redirect to another page of the add-on, by absolute URL.
async fn elsewhere(State(r): State<Recorded>, Path(variant): Path<String>) -> Response {
    (
        StatusCode::FOUND,
        [(
            axum::http::header::LOCATION,
            format!("{}/{variant}/page?from=redirect", r.base),
        )],
    )
        .into_response()
}

impl ScriptedAddon {
    /// Starts the double.
    pub async fn start() -> ScriptedAddon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let recorded = Recorded {
            base: url.clone(),
            ..Recorded::default()
        };
        let app = Router::new()
            .route("/{variant}/atlassian-connect.json", get(serve_descriptor))
            .route("/{variant}/installable", post(installed))
            .route("/{variant}/installable/{oauth_id}", delete(uninstalled))
            .route("/{variant}/webhook", post(webhook))
            .route("/{variant}/page", get(page))
            .route("/{variant}/config", get(page))
            .route("/{variant}/glance", get(glance))
            .route("/{variant}/elsewhere", get(elsewhere))
            .with_state(recorded.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedAddon {
            url,
            recorded,
            task,
        }
    }

    /// The descriptor URL of `variant` (`good`, `viewer`, `refuses`,
    /// `notjson`, `nokey`, `badpattern`, `ui` (every UI module, scope
    /// `send_notification` only), `uiviewer` (the same with `view_room`);
    /// anything else answers 404).
    pub fn descriptor_url(&self, variant: &str) -> String {
        format!("{}/{variant}/atlassian-connect.json", self.url)
    }

    /// The install bodies received so far.
    pub fn installs(&self) -> Vec<Value> {
        self.recorded
            .installs
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// The oauthIds of the uninstalls received so far.
    pub fn uninstalls(&self) -> Vec<String> {
        self.recorded
            .uninstalls
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// The webhook bodies received so far.
    pub fn webhooks(&self) -> Vec<Value> {
        self.recorded
            .webhooks
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// `(oauthId, oauthSecret)` of the install with `oauth_id`.
    pub fn credentials(&self, oauth_id: &str) -> (String, String) {
        let install = self
            .installs()
            .into_iter()
            .find(|i| i["oauthId"] == oauth_id)
            .unwrap_or_else(|| panic!("the add-on saw no install {oauth_id}"));
        (
            oauth_id.to_owned(),
            install["oauthSecret"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }
}
