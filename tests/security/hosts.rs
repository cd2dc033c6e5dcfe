//! The `Host` allowlist of every server.

use crate::support::dev::{Dev, Project as Scaffold};
use crate::support::emulate::Emulator;
use crate::support::serve::{Blog, Project, Serve};
use crate::support::wire;

fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .expect("a URL with a port")
}

/// A foreign name gets 403 with the way to allow it; the server's own
/// names are answered.
fn assert_guarded(port: u16, path: &str, allowed: &[&str]) {
    let rebound = wire::get(port, path, &format!("rebind.evil.example:{port}"));
    assert_eq!(rebound.status, 403, "{rebound:?}");
    assert!(
        rebound.body.contains("--allow-host rebind.evil.example")
            || rebound
                .body
                .contains("CONNECT_ALLOWED_HOSTS=rebind.evil.example"),
        "{}",
        rebound.body
    );
    assert!(rebound.body.contains("DNS rebinding"), "{}", rebound.body);
    for name in allowed {
        let host = format!("{name}:{port}");
        let answer = wire::get(port, path, &host);
        assert!(
            answer.status != 403 && answer.status != 0,
            "Host {host} on {path}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn the_emulator_answers_only_its_own_names() {
    let emulator = Emulator::start(&["--allow-host", "devbox.test"]).await;
    let port = port_of(&emulator.url);
    let own = [
        "localhost",
        "127.0.0.1",
        "[::1]",
        "devbox.test",
        "DEVBOX.test",
    ];
    for path in [
        "/",
        "/_emulator/installs",
        "/v2/capabilities",
        "/_emulator/assets/app.js",
    ] {
        assert_guarded(port, path, &own);
    }
    // Forwarding origins are *.localhost: answered (here: no such add-on).
    let forwarded = wire::get(port, "/", &format!("nobody.localhost:{port}"));
    assert_eq!(forwarded.status, 404, "{forwarded:?}");
    // The control API's state changes from a rebound page are refused too.
    let post = wire::request(
        port,
        "POST",
        "/_emulator/rooms",
        &format!("rebind.evil.example:{port}"),
        &["Content-Type: application/json"],
        r#"{"name": "Owned"}"#,
    );
    assert_eq!(post.status, 403, "{post:?}");
    let (_, rooms) = emulator.control().get("/rooms").await;
    assert_eq!(rooms.as_array().map(Vec::len), Some(1), "{rooms}");
}

#[test]
fn connect_serve_answers_localhost_its_base_urls_host_and_the_names_given() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &["--allow-host", "*.internal.test"], &[]);
    assert_guarded(
        serve.port(),
        "/atlassian-connect.json",
        &["localhost", "127.0.0.1", "app.internal.test"],
    );
    // Production behind a router: localBaseUrl's host, and what is listed.
    let production = Serve::start(
        project.path(),
        &["--env", "development"],
        &[
            ("AC_LOCAL_BASE_URL", "https://addon.example.com"),
            ("CONNECT_ALLOWED_HOSTS", "backend,web-1.test"),
        ],
    );
    assert_guarded(
        production.port(),
        "/healthz",
        &["addon.example.com", "backend", "web-1.test", "10.0.0.7"],
    );
}

#[test]
fn connect_devs_public_port_answers_only_its_own_names() {
    let project = Scaffold::new();
    let dev = Dev::start(
        &project.dir,
        &["--port", "0", "--allow-host", "devbox.test"],
        &[],
    );
    let port = dev.port();
    assert_guarded(
        port,
        "/atlassian-connect.json",
        &["localhost", "127.0.0.1", "devbox.test"],
    );
}
