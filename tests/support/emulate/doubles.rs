//! What the emulator hosts in tests: a blog double, the Node add-on
//! fixture, and our own add-on (`connect new` + `connect serve`).

use std::path::Path;

use serde_json::{Value, json};
use tokio::process::Command;

use super::process::{Process, spawn, start_process};
use super::{ensure_npm_modules, free_port, repo_root, wait_until_up};

/// A blog double: `GET /wp-content/byTag.php?tag=T` answers a JSON list of
/// `{title, url}`; `rust` has 12 articles, `empty` none, anything else 2.
pub struct Blog {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Blog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The articles the blog double lists for `tag`.
pub fn blog_articles(base: &str, tag: &str) -> Vec<Value> {
    let count = match tag {
        "rust" => 12,
        "empty" => 0,
        _ => 2,
    };
    (1..=count)
        .map(|n| {
            json!({
                "title": format!("Article {n} about {tag}"),
                "url": format!("{base}/{tag}-article-{n}/"),
            })
        })
        .collect()
}

impl Blog {
    /// Serves the blog double on a free loopback port.
    pub async fn start() -> Blog {
        use axum::extract::{Query, State};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let app = axum::Router::new()
            .route(
                "/wp-content/byTag.php",
                axum::routing::get(
                    |State(base): State<String>,
                     Query(query): Query<std::collections::HashMap<String, String>>| async move {
                        let tag = query.get("tag").cloned().unwrap_or_default();
                        axum::Json(blog_articles(&base, &tag))
                    },
                ),
            )
            .with_state(url.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Blog { url, task }
    }
}

/// The Node add-on fixture (atlassian-connect-express 1.0.14 + its HipChat
/// layer 0.2.5), unmodified, on a free port, searching `blog`.
pub struct NodeAddon {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process.
    pub process: Process,
}

impl NodeAddon {
    /// Starts `node app.js` and waits for its descriptor.
    pub async fn start(blog: &Blog) -> NodeAddon {
        NodeAddon::start_with(blog, free_port(), None).await
    }

    /// Like [`NodeAddon::start`], on `port`; with `redis_url`, in its
    /// production stage on that Redis (atlassian-connect-express-redis, as
    /// the seed's tutorial registered it).
    pub async fn start_with(blog: &Blog, port: u16, redis_url: Option<&str>) -> NodeAddon {
        let dir = repo_root().join("tests/fixtures/node-addon");
        ensure_npm_modules(&dir);
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg("app.js")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("AC_LOCAL_BASE_URL", &url)
            .env("SEARCH_HOST", &blog.url)
            .env(
                "NODE_ENV",
                if redis_url.is_some() {
                    "production"
                } else {
                    "development"
                },
            );
        if let Some(redis_url) = redis_url {
            command.env("REDIS_URL", redis_url);
        }
        let (process, _lines) = spawn("the Node add-on", command);
        wait_until_up(&format!("{url}/atlassian-connect.json"), &process).await;
        NodeAddon { url, process }
    }

    /// Its descriptor URL.
    pub fn descriptor_url(&self) -> String {
        format!("{}/atlassian-connect.json", self.url)
    }
}

/// The UI fixture (atlassian-connect-express 1.0.14 + its HipChat layer
/// 0.3.9, every UI module, HipChat's script from //www.hipchat.com),
/// unmodified, on a free port.
pub struct UiAddon {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process.
    pub process: Process,
}

impl UiAddon {
    /// Starts `node app.js` and waits for its descriptor.
    pub async fn start() -> UiAddon {
        let dir = repo_root().join("tests/fixtures/ui-addon");
        ensure_npm_modules(&dir);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg("app.js")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("AC_LOCAL_BASE_URL", &url)
            .env("NODE_ENV", "development");
        let (process, _lines) = spawn("the UI fixture add-on", command);
        wait_until_up(&format!("{url}/atlassian-connect.json"), &process).await;
        UiAddon { url, process }
    }

    /// Its descriptor URL.
    pub fn descriptor_url(&self) -> String {
        format!("{}/atlassian-connect.json", self.url)
    }
}

/// `connect new -t hipchat blogsearch --yes --no-git` in `parent`, with the
/// development stage pointed at `blog` and `port`.
pub fn new_project(parent: &Path, blog: &Blog, port: u16) -> std::path::PathBuf {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connect"))
        .args(["new", "-t", "hipchat", "blogsearch", "--yes", "--no-git"])
        .current_dir(parent)
        .env_remove("CI")
        .output()
        .expect("connect new runs");
    assert!(
        output.status.success(),
        "connect new failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = parent.join("blogsearch");
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path).expect("config.json");
    let mut config: Value = connect::config::parse_text(&text).expect("config.json parses");
    let dev = &mut config["development"];
    dev["search"] = json!({"source": "byTag", "url": format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url), "tagUrl": format!("{}/tag/{{tag}}/", blog.url)});
    dev["port"] = json!(port);
    dev["localBaseUrl"] = json!(format!("http://127.0.0.1:{port}"));
    std::fs::write(&config_path, config.to_string()).expect("config.json written");
    dir
}

/// `connect serve` in the 2015 Node add-on's own project folder (its
/// config.json, descriptor and no templates), production stage, on
/// `port` and the Redis at `redis_url`: a deployment cut over.
pub async fn serve_node_project(
    blog: &Blog,
    port: u16,
    redis_url: &str,
    extra: &[(&str, &str)],
) -> Process {
    let dir = repo_root().join("tests/fixtures/node-addon");
    let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
    command
        .args(["serve", "--dir"])
        .arg(&dir)
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env("NODE_ENV", "production")
        .env("PORT", port.to_string())
        .env("AC_LOCAL_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("AC_HOST_WHITELIST", "127.0.0.1")
        .env("REDIS_URL", redis_url)
        .env("SEARCH_HOST", &blog.url)
        .envs(extra.iter().copied());
    let process = start_process("connect serve (2015 project)", command);
    wait_until_up(&format!("http://127.0.0.1:{port}/healthz"), &process).await;
    process
}

/// `connect serve` on the project, up and serving its descriptor.
pub async fn serve(dir: &Path, port: u16) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connect"));
    command
        .args(["serve", "--dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .env_remove("NODE_ENV")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env("AC_LOCAL_BASE_URL", format!("http://127.0.0.1:{port}"));
    let process = start_process("connect serve", command);
    wait_until_up(
        &format!("http://127.0.0.1:{port}/atlassian-connect.json"),
        &process,
    )
    .await;
    process
}
