//! State changes only from programs or the server's own pages: text, form
//! and multipart bodies (what a page can post without asking first) and any
//! request a page of another origin sends are refused, and nothing changes.

use serde_json::Value;

use crate::support::emulate::{Blog as EmulateBlog, Emulator, free_port, new_project, serve};
use crate::support::serve::{Blog, HipChat, Project, Serve};
use crate::support::wire;

/// The bodies a page of any origin can post without a preflight.
const SIMPLE_BODIES: &[(&str, &str)] = &[
    (
        "text/plain",
        r#"{"message": "pwned", "name": "pwned", "topic": "pwned", "descriptorUrl": "http://127.0.0.1:1/x"}"#,
    ),
    (
        "application/x-www-form-urlencoded",
        "message=pwned&name=pwned",
    ),
    (
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\npwned\r\n--x--\r\n",
    ),
];

/// Every state-changing route of the emulator (`ID`: an installation).
fn emulator_routes(id: &str) -> Vec<(&'static str, String)> {
    [
        ("POST", "/_emulator/rooms"),
        ("POST", "/_emulator/rooms/1/messages"),
        ("POST", "/_emulator/install"),
        ("DELETE", "/_emulator/installs/ID"),
        ("POST", "/_emulator/installs/ID/revoke"),
        ("POST", "/_emulator/rate-limit"),
        ("POST", "/_emulator/faults/capabilities"),
        ("DELETE", "/_emulator/exchanges"),
        ("POST", "/_emulator/rooms/1/participants"),
        ("DELETE", "/_emulator/rooms/1/participants/2"),
        ("PUT", "/_emulator/rooms/1/topic"),
        ("POST", "/_emulator/installs/ID/modules/x/url"),
        ("POST", "/_emulator/installs/ID/call"),
        ("POST", "/v2/room/1/notification"),
        ("POST", "/v2/room/1/webhook"),
        ("DELETE", "/v2/room/1/webhook/1"),
        ("PUT", "/v2/room/1/topic"),
        ("POST", "/v2/room/1/message"),
        ("POST", "/v2/room/1/reply"),
        ("POST", "/v2/room/1/share/link"),
        ("PUT", "/v2/room/1/share/link"),
        ("POST", "/v2/user/1/message"),
        ("POST", "/v2/addon/ui"),
        ("POST", "/v2/addon/ui/room/1"),
        ("POST", "/v2/addon/ui/user/1"),
    ]
    .into_iter()
    .map(|(m, p)| (m, p.replace("ID", id)))
    .collect()
}

async fn state(emulator: &Emulator) -> Value {
    let control = emulator.control();
    let (_, rooms) = control.get("/rooms").await;
    let (_, installs) = control.get("/installs").await;
    let (_, messages) = control.get("/rooms/1/messages").await;
    let (_, room) = control.get("/rooms/1").await;
    serde_json::json!({"rooms": rooms, "installs": installs, "messages": messages, "room": room})
}

#[tokio::test]
async fn no_page_can_change_the_emulator_with_simple_or_foreign_requests() {
    let blog = EmulateBlog::start().await;
    let work = tempfile::tempdir().expect("a temp dir");
    let port = free_port();
    let project = new_project(work.path(), &blog, port);
    let _addon = serve(&project, port).await;
    let emulator = Emulator::start(&[]).await;
    let id = emulator
        .control()
        .install(
            &format!("http://127.0.0.1:{port}/atlassian-connect.json"),
            1,
        )
        .await;
    let before = state(&emulator).await;
    let emulator_port = url::Url::parse(&emulator.url).unwrap().port().unwrap();
    let own = format!("127.0.0.1:{emulator_port}");
    for (method, path) in emulator_routes(&id) {
        for (kind, body) in SIMPLE_BODIES {
            let answer = wire::request(
                emulator_port,
                method,
                &path,
                &own,
                &[&format!("Content-Type: {kind}")],
                body,
            );
            assert_eq!(
                answer.status, 415,
                "{method} {path} with {kind}: {answer:?}"
            );
            assert!(answer.body.contains("application/json"), "{}", answer.body);
        }
        for foreign in [
            "Origin: https://evil.example",
            "Origin: null",
            "Sec-Fetch-Site: cross-site",
            "Origin: http://127.0.0.1:1",
        ] {
            let answer = wire::request(
                emulator_port,
                method,
                &path,
                &own,
                &["Content-Type: application/json", foreign],
                r#"{"message": "pwned", "name": "pwned"}"#,
            );
            assert_eq!(
                answer.status, 403,
                "{method} {path} with {foreign}: {answer:?}"
            );
        }
    }
    // The token endpoint takes its OAuth2 form, but not from another origin.
    let form = wire::request(
        emulator_port,
        "POST",
        "/v2/oauth/token",
        &own,
        &["Content-Type: application/x-www-form-urlencoded"],
        "grant_type=client_credentials",
    );
    assert_eq!(form.status, 401, "a form without credentials: {form:?}");
    let foreign = wire::request(
        emulator_port,
        "POST",
        "/v2/oauth/token",
        &own,
        &[
            "Content-Type: application/x-www-form-urlencoded",
            "Origin: https://evil.example",
        ],
        "grant_type=client_credentials",
    );
    assert_eq!(foreign.status, 403, "{foreign:?}");
    assert_eq!(
        state(&emulator).await,
        before,
        "a refused request changed something"
    );
    // The page's own origin is a program like any other.
    let own_origin = wire::request(
        emulator_port,
        "POST",
        "/_emulator/rooms",
        &own,
        &[
            "Content-Type: application/json",
            &format!("Origin: http://{own}"),
            "Sec-Fetch-Site: same-origin",
        ],
        r#"{"name": "Ops"}"#,
    );
    assert_eq!(own_origin.status, 201, "{own_origin:?}");
}

#[test]
fn connect_serve_takes_installs_and_webhooks_only_as_json_from_programs() {
    let blog = Blog::start();
    let hipchat = HipChat::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &[], &[]);
    let port = serve.port();
    let host = format!("127.0.0.1:{port}");
    let install = hipchat
        .install_body("tenant-x", "chosen-secret", Some(1))
        .to_string();
    for path in ["/installable", "/message"] {
        for (kind, body) in SIMPLE_BODIES {
            let body = if *kind == "text/plain" {
                install.as_str()
            } else {
                body
            };
            let answer = wire::request(
                port,
                "POST",
                path,
                &host,
                &[&format!("Content-Type: {kind}")],
                body,
            );
            assert_eq!(answer.status, 415, "POST {path} with {kind}: {answer:?}");
        }
        for foreign in ["Origin: https://evil.example", "Sec-Fetch-Site: cross-site"] {
            let answer = wire::request(
                port,
                "POST",
                path,
                &host,
                &["Content-Type: application/json", foreign],
                &install,
            );
            assert_eq!(answer.status, 403, "POST {path} with {foreign}: {answer:?}");
        }
    }
    let delete = wire::request(
        port,
        "DELETE",
        "/installable/tenant-x",
        &host,
        &["Origin: https://evil.example"],
        "",
    );
    assert_eq!(delete.status, 403, "{delete:?}");
    // None of it reached HipChat: no capabilities fetched, no token asked.
    assert_eq!(hipchat.token_requests("tenant-x"), 0);
    assert!(!serve.logs().contains("installed"), "{}", serve.logs());
}
