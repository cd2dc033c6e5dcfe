//! POST /installable: every rejection path, the whitelist, re-installs.

use reqwest::StatusCode;
use serde_json::json;

use connect::hipchat::host::CapabilitiesFault;

use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

struct World {
    hipchat: HipChat,
    serve: Serve,
    client: reqwest::Client,
    _blog: Blog,
    _project: Project,
}

fn world() -> World {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &[], &[]);
    World {
        hipchat: HipChat::start(),
        serve,
        client: kit::client(),
        _blog: blog,
        _project: project,
    }
}

/// A production server (memory store) whose whitelist is `whitelist`.
fn production(whitelist: &[&str]) -> World {
    let blog = Blog::start();
    let mut stage = Project::stage(
        &blog.url(),
        json!({"adapter": "jugglingdb", "type": "memory"}),
    );
    stage["whitelist"] = json!(whitelist);
    let project = Project::with_stage(json!({"production": stage}));
    let serve = Serve::start(project.path(), &[], &[("NODE_ENV", "production")]);
    World {
        hipchat: HipChat::start(),
        serve,
        client: kit::client(),
        _blog: blog,
        _project: project,
    }
}

impl World {
    /// Installs through the host with credentials it knows.
    async fn install(&self, oauth_id: &str, secret: &str, room: Option<u64>) -> reqwest::Response {
        self.hipchat
            .install_as(&self.serve.url(), oauth_id, secret, room)
            .await
    }

    /// Installs `t` in room 1, which must be refused with `status`; returns
    /// the error message.
    async fn refused_install(&self, status: StatusCode) -> String {
        let response = self.install("t", "s", Some(1)).await;
        assert_eq!(response.status(), status);
        error_message(response).await
    }

    /// POSTs a hand-made install body.
    async fn post_install(&self, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}/installable", self.serve.url()))
            .json(body)
            .send()
            .await
            .expect("POST /installable")
    }

    /// The status of a search signed with these credentials.
    async fn search_status(&self, oauth_id: &str, secret: &str) -> StatusCode {
        search_status(&self.client, &self.serve.webhook(), oauth_id, secret).await
    }
}

async fn error_message(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_a_tenant_and_announces_it_in_the_room() {
    let w = world();
    let response = w.install("tenant-1", "secret-1", Some(7)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let posted = w.hipchat.wait_for_notices(1, 10).await;
    assert_eq!(posted.len(), 1, "{}", w.serve.logs());
    assert_eq!(posted[0].room_id, 7);
    assert_eq!(
        posted[0].message,
        "The Blog Search add-on has been installed in this room"
    );
    // The install's own token was cached and reused for the notice.
    assert_eq!(w.hipchat.token_requests("tenant-1"), 1);
    assert_eq!(w.hipchat.tokens_granted("tenant-1"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_install_posts_no_notice() {
    let w = world();
    let response = w.install("tenant-g", "secret", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(w.hipchat.notices().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_an_install_body_that_is_not_json_or_lacks_a_field() {
    let w = world();
    let url = format!("{}/installable", w.serve.url());
    let response = w
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("oauthId=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(response).await.contains("not valid JSON"));
    let mut body = w.hipchat.install_body("t", "s", Some(1));
    body.as_object_mut().unwrap().remove("oauthSecret");
    let response = w.post_install(&body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(response).await.contains("oauthSecret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_capabilities_whose_self_link_is_another_url() {
    let w = world();
    w.hipchat
        .set_capabilities_fault(Some(CapabilitiesFault::WrongSelf));
    let message = w.refused_install(StatusCode::FORBIDDEN).await;
    assert!(message.contains("links.self"), "{message}");
    assert_eq!(
        w.hipchat.token_requests("t"),
        0,
        "no token may be asked of an unverified host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_capabilities_that_are_not_json_or_not_found() {
    let w = world();
    w.hipchat
        .set_capabilities_fault(Some(CapabilitiesFault::NotJson));
    let message = w.refused_install(StatusCode::BAD_GATEWAY).await;
    assert!(message.contains("malformed"), "{message}");
    w.hipchat
        .set_capabilities_fault(Some(CapabilitiesFault::Status(404)));
    let message = w.refused_install(StatusCode::BAD_GATEWAY).await;
    assert!(message.contains("HTTP 404"), "{message}");
    // The server is unharmed.
    w.hipchat.set_capabilities_fault(None);
    let response = w.install("t", "s", Some(1)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_an_unreachable_capabilities_url() {
    let w = world();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut body = w.hipchat.install_body("t", "s", Some(1));
    body["capabilitiesUrl"] = json!(format!("http://127.0.0.1:{free}/v2/capabilities"));
    let response = w.post_install(&body).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(error_message(response).await.contains("cannot reach"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_credentials_that_yield_no_token_and_stores_nothing() {
    let w = world();
    // Not registered with the host: its token endpoint answers 401.
    let body = w.hipchat.install_body("stranger", "guess", Some(1));
    let response = w.post_install(&body).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        error_message(response)
            .await
            .contains("refused the credentials")
    );
    // Not stored: a webhook signed with those credentials is refused.
    assert_eq!(
        w.search_status("stranger", "guess").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstalling_replaces_the_tenant_only_with_proven_credentials() {
    let w = world();
    assert_eq!(
        w.install("t", "old-secret", Some(1)).await.status(),
        StatusCode::NO_CONTENT
    );
    // A re-install with a secret the host does not know is refused...
    let forged = w.hipchat.install_body("t", "forged-secret", Some(1));
    let response = w.post_install(&forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // ...and the old secret still signs valid webhooks.
    assert_eq!(w.search_status("t", "old-secret").await, StatusCode::OK);
    // A proven re-install replaces the secret.
    assert_eq!(
        w.install("t", "new-secret", Some(1)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.search_status("t", "old-secret").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.search_status("t", "new-secret").await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_fetches_nothing_from_a_host_off_the_whitelist() {
    let w = production(&["*.hipchat.com"]);
    let message = w.refused_install(StatusCode::FORBIDDEN).await;
    assert!(message.contains("127.0.0.1"), "{message}");
    assert_eq!(w.hipchat.token_requests("t"), 0);
    // Logs are JSON lines in production.
    let logs = w.serve.logs();
    assert!(
        logs.lines()
            .filter(|l| !l.is_empty())
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_installs_from_a_whitelisted_host() {
    let w = production(&["127.0.0.1"]);
    let response = w.install("t", "s", Some(1)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
