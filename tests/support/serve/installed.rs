//! The common starting point: a server with one tenant installed in room 1
//! through the crate's HipChat host, and the calls tests make on it.

use reqwest::StatusCode;
use serde_json::Value;

use super::signed::deliver;
use super::{Blog, HipChat, Project, Serve, client};

/// The tenant's oauthId.
pub const ID: &str = "tenant-w";
/// The tenant's oauthSecret.
pub const SECRET: &str = "webhook-secret";

/// A server, its blog and HipChat, with tenant [`ID`] installed in room 1.
pub struct Installed {
    pub hipchat: HipChat,
    pub blog: Blog,
    pub serve: Serve,
    pub client: reqwest::Client,
    _project: Project,
}

/// Starts everything and installs [`ID`] in room 1.
pub async fn installed() -> Installed {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    start_installed(blog, project).await
}

/// Like [`installed`], the development stage searching with this
/// `search` setting (instead of the byTag blog double's old keys).
pub async fn installed_searching(search: Value) -> Installed {
    let blog = Blog::start();
    let mut stage = Project::stage(&blog.url(), serde_json::json!({"adapter": "memory"}));
    let settings = stage.as_object_mut().unwrap();
    for old in ["searchHost", "searchBasePath", "tagBasePath"] {
        settings.remove(old);
    }
    settings.insert("search".into(), search);
    let project = Project::with_stage(serde_json::json!({"development": stage}));
    start_installed(blog, project).await
}

async fn start_installed(blog: Blog, project: Project) -> Installed {
    let serve = Serve::start(project.path(), &[], &[]);
    let hipchat = HipChat::start();
    let client = client();
    let status = hipchat
        .install_as(&serve.url(), ID, SECRET, Some(1))
        .await
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT, "{}", serve.logs());
    Installed {
        hipchat,
        blog,
        serve,
        client,
        _project: project,
    }
}

impl Installed {
    /// POSTs `body` to the webhook, with `token` as `Authorization: JWT`.
    pub async fn post(&self, token: Option<&str>, body: String) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.serve.webhook())
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("JWT {token}"));
        }
        request.send().await.expect("POST the webhook")
    }

    /// Delivers `text` in room 1, signed by the tenant.
    pub async fn say(&self, text: &str) -> reqwest::Response {
        deliver(&self.client, &self.serve.webhook(), ID, SECRET, 1, text).await
    }

    /// Delivers `text` and returns the inline answer, which must be a 200.
    pub async fn ask(&self, text: &str) -> Value {
        let response = self.say(text).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", self.serve.logs());
        response.json().await.expect("a JSON notification")
    }

    /// `DELETE /installable/{oauth_id}`, as HipChat uninstalls.
    pub async fn uninstall(&self, oauth_id: &str) -> StatusCode {
        let base = self.serve.url();
        self.hipchat.delete_installable(&base, oauth_id).await
    }

    /// How many searches reached the blog.
    pub fn searches(&self) -> usize {
        self.blog.queries().len()
    }
}
