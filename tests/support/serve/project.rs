//! A project folder as `connect new` makes it: config.json, the descriptor
//! and the reply templates (copied from the scaffolder's own template, so
//! the tests render what users get).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tempfile::TempDir;

/// A temporary project folder.
pub struct Project {
    dir: TempDir,
}

impl Project {
    /// A development project searching the blog at `blog_url`, with the
    /// durable embedded store.
    pub fn new(blog_url: &str) -> Project {
        Project::with_stage(json!({
            "development": Project::stage(blog_url, json!({"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"}))
        }))
    }

    /// Settings of one stage with `store`.
    pub fn stage(blog_url: &str, store: Value) -> Value {
        json!({
            "localBaseUrl": "http://127.0.0.1:$port",
            "port": 0,
            "store": store,
            "whitelist": [],
            "maxTokenAge": 900,
            "searchHost": blog_url,
            "searchBasePath": "/wp-content/byTag.php?tag=",
            "tagBasePath": "/tag/",
            "maxResultsDisplayed": 10
        })
    }

    /// A project with this whole config.json.
    pub fn with_stage(config: Value) -> Project {
        let dir = tempfile::tempdir().expect("create a project folder");
        let project = Project { dir };
        project.write_config(&config);
        std::fs::write(project.path().join("atlassian-connect.json"), DESCRIPTOR)
            .expect("write the descriptor");
        let templates = project.path().join("templates");
        std::fs::create_dir_all(&templates).expect("create templates/");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/hipchat/templates");
        for name in ["reply.html", "usage.html", "unavailable.html"] {
            std::fs::copy(source.join(name), templates.join(name)).expect("copy a reply template");
        }
        project
    }

    /// Replaces config.json.
    pub fn write_config(&self, config: &Value) {
        let text = serde_json::to_string_pretty(config).expect("config JSON");
        std::fs::write(self.path().join("config.json"), text).expect("write config.json");
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The descriptor `connect new` generates (base URL left as a placeholder).
pub const DESCRIPTOR: &str = r#"{
  "key": "com.example.blogsearch",
  "name": "Blog Search",
  "description": "Searches the blog",
  "vendor": {"name": "Example", "url": "https://example.com"},
  "links": {"self": "{{localBaseUrl}}/atlassian-connect.json", "homepage": "https://example.com"},
  "capabilities": {
    "hipchatApiConsumer": {"fromName": "Blog Search", "scopes": ["send_notification"]},
    "installable": {"callbackUrl": "{{localBaseUrl}}/installable"},
    "webhook": [{"url": "{{localBaseUrl}}/message", "event": "room_message", "pattern": "^/hascode", "name": "Blog search", "authentication": "jwt"}]
  }
}"#;
