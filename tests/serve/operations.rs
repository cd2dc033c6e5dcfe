//! Operations: descriptor and redirect, base path, health, start-up line,
//! graceful stop, the inherited listener, bad configuration, load.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::serve::signed::{deliver, search_status};
use crate::support::serve::{
    self as kit, Blog, BlogMode, HipChat, ID, Project, SECRET, Serve, installed,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_descriptor_with_its_base_url_and_redirects_home_to_it() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &[], &[]);
    let client = kit::client();
    let descriptor =
        kit::get_json(&client, &format!("{}/atlassian-connect.json", serve.url())).await;
    assert_eq!(
        descriptor["links"]["self"],
        format!("{}/atlassian-connect.json", serve.url())
    );
    assert_eq!(
        descriptor["capabilities"]["webhook"][0]["url"],
        format!("{}/message", serve.url())
    );
    let home = client
        .get(format!("{}/", serve.url()))
        .send()
        .await
        .unwrap();
    assert!(home.status().is_redirection());
    assert_eq!(home.headers()["location"], "/atlassian-connect.json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_every_route_with_the_base_urls_path() {
    let blog = Blog::start();
    let mut stage = Project::stage(
        &blog.url(),
        json!({"adapter": "jugglingdb", "type": "memory"}),
    );
    stage["localBaseUrl"] = json!("http://127.0.0.1:$port/addon");
    let project = Project::with_stage(json!({"development": stage}));
    let serve = Serve::start(project.path(), &[], &[]);
    let client = kit::client();
    let base = format!("{}/addon", serve.url());
    let descriptor = client
        .get(format!("{base}/atlassian-connect.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(descriptor.status(), StatusCode::OK);
    let descriptor: serde_json::Value = descriptor.json().await.unwrap();
    assert_eq!(
        descriptor["capabilities"]["installable"]["callbackUrl"],
        format!("{base}/installable")
    );
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(format!("{}/healthz", serve.url()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let hipchat = HipChat::start();
    hipchat.must_install_as(&base, "t", "s", Some(1)).await;
    assert_eq!(
        search_status(&client, &format!("{base}/message"), "t", "s").await,
        StatusCode::OK
    );
    let home = client.get(&base).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/addon/atlassian-connect.json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_health_and_prints_where_it_runs() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), &[], &[]);
    let health = kit::get_json(&kit::client(), &format!("{}/healthz", serve.url())).await;
    assert_eq!(health, json!({"status": "ok", "store": "embedded"}));
    let logs = serve.logs();
    assert!(
        logs.contains("GET") && logs.contains("/healthz") && logs.contains("200"),
        "request log line missing: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishes_requests_in_flight_on_sigterm_and_exits_zero() {
    let mut w = installed().await;
    w.blog.set_mode(BlogMode::Slow(Duration::from_millis(1500)));
    let (client, url) = (w.client.clone(), w.serve.webhook());
    let in_flight =
        tokio::spawn(async move { deliver(&client, &url, ID, SECRET, 1, "/hascode slow").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = tokio::task::block_in_place(|| w.serve.stop_with(Signal::SIGTERM));
    assert_eq!(status.code(), Some(0));
    let response = in_flight.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let note: serde_json::Value = response.json().await.unwrap();
    assert!(note["message"].as_str().unwrap().contains("slow article 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_on_sigint_with_exit_code_zero() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let mut serve = Serve::start(project.path(), &[], &[]);
    assert_eq!(serve.stop_with(Signal::SIGINT).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uses_the_listening_socket_passed_as_fd_three() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve = Serve::try_start_with(
        project.path(),
        &[],
        &[("LISTEN_FDS", "1")],
        move |command| {
            // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let fd = nix::unistd::dup2_raw(&listener, 3).map_err(std::io::Error::from)?;
                    std::mem::forget(fd);
                    Ok(())
                });
            }
        },
    )
    .unwrap();
    assert_eq!(serve.port(), port);
    let response = kit::client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_stops_start_up_naming_the_key() {
    let blog = Blog::start();
    let mut stage = Project::stage(&blog.url(), json!({"adapter": "memory"}));
    stage["maxResultsDisplayed"] = json!("many");
    let project = Project::with_stage(json!({"development": stage}));
    let err = Serve::try_start(project.path(), &[], &[])
        .err()
        .expect("must not start");
    assert!(
        err.contains("maxResultsDisplayed") && err.contains("config.json"),
        "{err}"
    );
    assert!(err.contains("exit status: 2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_reply_template_stops_start_up_naming_the_file() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    std::fs::write(project.file("templates/reply.html"), "{% for %}").unwrap();
    let err = Serve::try_start(project.path(), &[], &[])
        .err()
        .expect("must not start");
    assert!(err.contains("reply.html"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_two_hundred_concurrent_webhooks_and_loses_none() {
    let w = installed().await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, url) = (w.client.clone(), w.serve.webhook());
        tasks.push(tokio::spawn(async move {
            let response =
                deliver(&client, &url, ID, SECRET, 1, &format!("/hascode term{i}")).await;
            let status = response.status();
            let note: serde_json::Value = response.json().await.unwrap();
            (i, status, note)
        }));
    }
    for task in tasks {
        let (i, status, note) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(
            note["message"]
                .as_str()
                .unwrap()
                .contains(&format!("term{i} article 1")),
            "{note}"
        );
    }
    assert_eq!(w.blog.queries().len(), 200);
    assert!(
        !w.serve.logs().contains(SECRET),
        "the secret must never be logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warns_that_the_memory_store_loses_installs_on_restart() {
    let blog = Blog::start();
    let stage = Project::stage(
        &blog.url(),
        json!({"adapter": "jugglingdb", "type": "memory"}),
    );
    let project = Project::with_stage(json!({"development": stage}));
    let serve = Serve::start(project.path(), &["--log-format", "json"], &[]);
    let logs = serve.logs();
    let warning = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["level"] == "WARN")
        .unwrap_or_else(|| panic!("no warning in {logs}"));
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("lost on restart"),
        "{warning}"
    );
}
