//! `connect dev --emulate`: the real binary on a project made by `connect
//! new`, searching a blog double, with the HipChat emulator beside it; the
//! emulator is driven through its control API.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use support::dev::{Dev, Project, assert_gone, port_is_free};
use support::emulate::{Blog, http_client};

const LONG: Duration = Duration::from_secs(20);

/// A project whose development stage searches `blog`.
fn project_searching(blog: &Blog) -> Project {
    let project = Project::new();
    let path = project.path("config.json");
    let text = std::fs::read_to_string(&path).expect("config.json");
    let mut config: Value = connect::config::parse_text(&text).expect("config.json parses");
    config["development"]["search"] = json!({"source": "byTag", "url": format!("{}/wp-content/byTag.php?tag={{tag}}", blog.url), "tagUrl": format!("{}/tag/{{tag}}/", blog.url)});
    project.write("config.json", &config.to_string());
    project
}

/// The emulator's URL (with a trailing slash) from the start-up line.
fn chat_url(dev: &Dev) -> String {
    let line = dev.wait_for("HipChat emulator: chat at ");
    line.split("chat at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string()
}

async fn get_json(url: &str) -> Value {
    let response = http_client().get(url).send().await.expect("GET answers");
    assert!(response.status().is_success(), "GET {url}: {response:?}");
    response.json().await.expect("a JSON body")
}

/// The installations, once there is exactly one.
async fn the_install(chat: &str) -> Value {
    let installs = get_json(&format!("{chat}_emulator/installs")).await;
    let list = installs.as_array().expect("a list of installs");
    assert_eq!(list.len(), 1, "{installs:#}");
    list[0].clone()
}

/// Says `message` in room 1; returns the delivery to the add-on.
async fn say(chat: &str, message: &str) -> Value {
    let response = http_client()
        .post(format!("{chat}_emulator/rooms/1/messages"))
        .json(&json!({ "message": message }))
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(response.status().as_u16(), 201);
    let posted: Value = response.json().await.expect("a JSON body");
    posted["deliveries"][0].clone()
}

/// Waits for a notification in room 1 whose HTML contains `needle`.
async fn reply_containing(chat: &str, needle: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let messages = get_json(&format!("{chat}_emulator/rooms/1/messages")).await;
        let found = messages.as_array().and_then(|list| {
            list.iter()
                .find(|m| {
                    m["kind"] == "notification"
                        && m["html"].as_str().is_some_and(|h| h.contains(needle))
                })
                .cloned()
        });
        if let Some(found) = found {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reply with {needle:?} in room 1: {messages:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_the_add_on_into_the_emulator_updates_it_on_a_descriptor_change_and_stops_on_sigint()
 {
    let blog = Blog::start().await;
    let project = project_searching(&blog);
    let mut dev = Dev::start(
        &project.dir,
        &["--port", "0", "--emulate", "--emulate-port", "0"],
        &[],
    );
    let chat = chat_url(&dev);
    let ready = dev.wait_for("    chat:");
    assert!(ready.ends_with(&chat), "{ready:?} vs {chat}");

    dev.wait_for("emulator: installed addon (com.example.addon) in room 1");
    let first = the_install(&chat).await;
    assert_eq!(first["roomId"], 1, "{first:#}");
    assert!(
        first["descriptorUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!(":{}/atlassian-connect.json", dev.port()))),
        "{first:#}"
    );
    let delivery = say(&chat, "/hascode rust").await;
    assert!(
        delivery["status"].as_u64().is_some_and(|s| s < 300),
        "{delivery:#}"
    );
    let reply = reply_containing(&chat, &format!("{}/rust-article-1/", blog.url)).await;
    assert_eq!(reply["oauthId"], first["oauthId"]);

    project.set_description("Finds articles, now with a new description");
    dev.wait_for_nth(
        "emulator: updated addon (com.example.addon) in room 1",
        1,
        LONG,
    );
    let second = the_install(&chat).await;
    assert_eq!(
        second["oauthId"], first["oauthId"],
        "a changed descriptor is taken in place: {second:#}"
    );
    let messages = get_json(&format!(
        "{chat}_emulator/rooms/1/messages?kind=notification"
    ))
    .await;
    let notices = messages
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|n| {
                    n["message"]
                        .as_str()
                        .is_some_and(|t| t.contains("installed"))
                })
                .count()
        })
        .unwrap_or(0);
    assert!(notices <= 1, "one install notice at most: {messages:#}");
    say(&chat, "/hascode tokio").await;
    let reply = reply_containing(&chat, &format!("{}/tokio-article-1/", blog.url)).await;
    assert_eq!(reply["oauthId"], second["oauthId"]);

    // A restart that leaves the descriptor as it was does not reinstall.
    project.write("templates/usage.html", "Try {{ command }} TAG");
    dev.wait_for_nth("restarted in ", 2, LONG);
    // The replaced add-on serves what it already accepted (the emulator's
    // kept-alive connection among them) until it has stopped.
    let pids = dev.child_pids();
    assert_gone(pids[pids.len() - 2], Duration::from_secs(5));
    say(&chat, "/hascode").await;
    reply_containing(&chat, "Try /hascode TAG").await;
    assert_eq!(the_install(&chat).await["oauthId"], second["oauthId"]);
    assert_eq!(dev.count("emulator: updated"), 1, "{}", dev.output());
    assert_eq!(dev.count("emulator: reinstalled"), 0, "{}", dev.output());

    let children = dev.child_pids();
    dev.signal(Signal::SIGINT);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", dev.output());
    for child in children {
        assert_gone(child, Duration::from_secs(2));
    }
    let emulator_port = url::Url::parse(&chat)
        .ok()
        .and_then(|u| u.port())
        .expect("a port in the chat URL");
    assert!(port_is_free(emulator_port), "the emulator still listens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_install_is_reported_and_the_next_good_descriptor_is_installed() {
    let blog = Blog::start().await;
    let project = project_searching(&blog);
    let descriptor = project.path("atlassian-connect.json");
    let good = std::fs::read_to_string(&descriptor).expect("descriptor");
    let mut doc: Value = serde_json::from_str(&good).expect("descriptor JSON");
    doc["capabilities"]["installable"]["allowRoom"] = json!(false);
    std::fs::write(&descriptor, doc.to_string()).expect("write");

    let dev = Dev::start(
        &project.dir,
        &["--port", "0", "--emulate", "--emulate-port", "0"],
        &[],
    );
    let chat = chat_url(&dev);
    dev.wait_for("emulator: cannot install the add-on: the add-on com.example.addon does not allow room installs");
    let installs = get_json(&format!("{chat}_emulator/installs")).await;
    assert_eq!(installs, json!([]));

    std::fs::write(&descriptor, good).expect("write");
    dev.wait_for("emulator: installed addon");
    the_install(&chat).await;
}

#[test]
fn emulate_port_without_emulate_is_a_usage_error() {
    let project = Project::new();
    let output = std::process::Command::new(support::dev::connect())
        .args(["dev", "--emulate-port", "0"])
        .current_dir(&project.dir)
        .output()
        .expect("run connect dev");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--emulate"), "{stderr}");
}

/// With --tunnel the descriptor is still fetched locally, but it names the
/// public URL, so the install goes through the tunnel: the fake ngrok
/// tunnels nothing, so the failure is reported and the loop keeps going.
/// (`.invalid` never resolves: nothing leaves this machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_tunnel_the_descriptor_is_fetched_locally_and_the_install_follows_its_public_urls() {
    let blog = Blog::start().await;
    let project = project_searching(&blog);
    let ngrok = support::dev::fake_ngrok().display().to_string();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            "0",
            "--tunnel",
            "--ngrok",
            &ngrok,
            "--url",
            "addon.tunnel.invalid",
            "--emulate",
            "--emulate-port",
            "0",
        ],
        &[("FAKE_NGROK_MODE", "json")],
    );
    let chat = chat_url(&dev);
    dev.wait_for(
        "emulator: cannot install the add-on: the install callback https://addon.tunnel.invalid/installable could not be reached",
    );
    let exchanges = get_json(&format!("{chat}_emulator/exchanges")).await;
    let local = format!("http://localhost:{}/atlassian-connect.json", dev.port());
    let fetched = exchanges.as_array().is_some_and(|list| {
        list.iter()
            .any(|e| e["kind"] == "descriptor" && e["url"] == local.as_str())
    });
    assert!(fetched, "no descriptor fetch from {local}: {exchanges:#}");
    // Still serving, still watching.
    support::dev::poll_until(
        dev.port(),
        "/atlassian-connect.json",
        "addon.tunnel.invalid",
        LONG,
    );
}

#[test]
fn an_emulator_port_in_use_is_named_with_the_fix() {
    let project = Project::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let output = std::process::Command::new(support::dev::connect())
        .args(["dev", "--port", "0", "--emulate", "--emulate-port", &port])
        .current_dir(&project.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run connect dev");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "--emulate-port {port}: the emulator cannot listen"
        )) && stderr.contains("0 for any free one"),
        "{stderr}"
    );
}

/// The 2015 Node add-on keeps installs in memory (atlassian-connect-express's
/// jugglingdb memory store), so every restart forgets its tenant: the
/// emulator sends it the same installation again, and the room keeps
/// working across restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_on_with_a_memory_store_gets_its_installation_again_after_each_restart() {
    let blog = Blog::start().await;
    let dir = support::dev::node_fixture();
    let dev = Dev::start(
        dir.path(),
        &["--port", "0", "--emulate", "--emulate-port", "0"],
        &[("SEARCH_HOST", &blog.url)],
    );
    let chat = chat_url(&dev);
    dev.wait_for("emulator: installed HasCode (Node) (com.example.hascode-node) in room 1");
    let first = the_install(&chat).await;
    let delivery = say(&chat, "/hascode rust").await;
    assert_eq!(delivery["status"], 204, "{delivery:#}");
    reply_containing(&chat, &format!("{}/rust-article-1/", blog.url)).await;

    for (round, term) in ["tokio", "serde"].iter().enumerate() {
        std::fs::write(dir.path().join("routes/extra.js"), format!("// {round}\n")).expect("write");
        dev.wait_for_nth(
            "emulator: sent HasCode (Node) (com.example.hascode-node) its installation in room 1 again, in case the restart emptied its store",
            round + 1,
            LONG,
        );
        let delivery = say(&chat, &format!("/hascode {term}")).await;
        assert_eq!(
            delivery["status"],
            204,
            "the restarted add-on knows its installation: {delivery:#}\n{}",
            dev.output()
        );
        reply_containing(&chat, &format!("{}/{term}-article-1/", blog.url)).await;
    }
    // The same installation throughout, sent again, never made anew.
    assert_eq!(the_install(&chat).await["oauthId"], first["oauthId"]);
    assert_eq!(dev.count("emulator: installed"), 1, "{}", dev.output());
    let exchanges = get_json(&format!("{chat}_emulator/exchanges")).await;
    let resent = exchanges
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|e| {
                    e["kind"] == "install"
                        && e["note"].as_str().is_some_and(|n| n.contains("again"))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(resent, 2, "{exchanges:#}");
}
