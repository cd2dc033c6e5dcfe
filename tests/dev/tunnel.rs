//! `connect dev --tunnel` against the fake ngrok (tests/fixtures/fake-ngrok).

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::support::dev::{Dev, Project, assert_gone, fake_ngrok, poll_until};

const LONG: Duration = Duration::from_secs(20);

fn tunnel_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["--port", "0", "--tunnel", "--ngrok"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(fake_ngrok().display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn start(project: &Project, mode: &str, extra: &[&str], envs: &[(&str, &str)]) -> Dev {
    let args = tunnel_args(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut all = vec![("FAKE_NGROK_MODE", mode), ("FAKE_NGROK_NAME", "fake1")];
    all.extend_from_slice(envs);
    Dev::start(&project.dir, &args, &all)
}

/// The ready block names the public, descriptor and inspector URLs, and
/// the add-on announces the public URL in its descriptor.
fn assert_tunnelled(dev: &Dev) {
    let public = "https://fake1.ngrok-free.app";
    dev.wait_for(&format!("public:      {public}"));
    dev.wait_for(&format!("descriptor:  {public}/atlassian-connect.json"));
    dev.wait_for("inspector:   http://127.0.0.1:");
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", public, LONG);
}

#[test]
fn reads_the_public_url_from_json_logs_with_an_addr_object() {
    let project = Project::new();
    let dev = start(&project, "json", &[], &[]);
    assert_tunnelled(&dev);
}

#[test]
fn reads_the_public_url_from_json_logs_with_an_addr_string() {
    let project = Project::new();
    let dev = start(&project, "json-old", &[], &[]);
    assert_tunnelled(&dev);
}

#[test]
fn reads_the_public_url_from_logfmt_logs() {
    let project = Project::new();
    let dev = start(&project, "logfmt", &[], &[]);
    assert_tunnelled(&dev);
}

#[test]
fn falls_back_to_the_agent_api_when_the_log_has_no_url() {
    let project = Project::new();
    let dev = start(&project, "api-only", &[], &[]);
    assert_tunnelled(&dev);
}

#[test]
fn passes_a_reserved_url_through_to_ngrok() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let args_file = tmp.path().join("args");
    let args_text = args_file.display().to_string();
    let dev = start(
        &project,
        "json",
        &["--url", "myaddon.ngrok.app"],
        &[("FAKE_NGROK_ARGSFILE", &args_text)],
    );
    dev.wait_for("public:      https://myaddon.ngrok.app");
    let args = std::fs::read_to_string(&args_file).expect("args file");
    let port = dev.port();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "http",
            &port.to_string(),
            "--log",
            "stdout",
            "--log-format",
            "json",
            "--url",
            "myaddon.ngrok.app"
        ]
    );
}

fn fails_with(mode: &str, needles: &[&str]) {
    let project = Project::new();
    let mut dev = start(&project, mode, &[], &[]);
    let status = dev.wait_exit(LONG);
    assert_eq!(status.code(), Some(1), "{}", dev.output());
    for needle in needles {
        dev.wait_for(needle);
    }
    assert!(
        dev.child_pids().is_empty(),
        "the add-on must not start: {}",
        dev.output()
    );
}

#[test]
fn explains_a_missing_authtoken() {
    fails_with(
        "4018",
        &["ERR_NGROK_4018", "ngrok config add-authtoken TOKEN"],
    );
}

#[test]
fn explains_a_bad_authtoken() {
    fails_with(
        "105",
        &["ERR_NGROK_105", "ngrok config add-authtoken TOKEN"],
    );
}

#[test]
fn explains_another_agent_session() {
    fails_with("108", &["ERR_NGROK_108", "stop the other `ngrok`"]);
}

#[test]
fn explains_a_url_already_online() {
    fails_with("334", &["ERR_NGROK_334", "choose another with --url"]);
}

#[test]
fn gives_up_when_ngrok_never_comes_online() {
    let project = Project::new();
    let mut dev = start(&project, "offline", &["--tunnel-timeout", "1"], &[]);
    let status = dev.wait_exit(LONG);
    assert_eq!(status.code(), Some(1), "{}", dev.output());
    dev.wait_for("ngrok reported no public URL within 1 s");
    dev.wait_for("no such host");
}

#[test]
fn explains_how_to_install_ngrok_when_it_is_missing() {
    let project = Project::new();
    let mut dev = Dev::start(
        &project.dir,
        &["--port", "0", "--tunnel"],
        &[("PATH", "/nonexistent")],
    );
    let status = dev.wait_exit(LONG);
    assert_eq!(status.code(), Some(1), "{}", dev.output());
    dev.wait_for("ngrok is not installed");
    dev.wait_for("https://ngrok.com/download");
}

#[test]
fn keeps_serving_and_restarts_ngrok_when_it_exits_later() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state").display().to_string();
    let dev = start(
        &project,
        "exit-later",
        &[],
        &[
            ("FAKE_NGROK_STATE", &state),
            ("FAKE_NGROK_EXIT_AFTER_MS", "300"),
        ],
    );
    assert_tunnelled(&dev);
    dev.wait_for("the public URL is gone");
    dev.wait_for("still serving locally at http://localhost:");
    let port = dev.port();
    poll_until(
        port,
        "/atlassian-connect.json",
        "fake1.ngrok-free.app",
        LONG,
    );
    dev.wait_for_nth("public:      https://fake1.ngrok-free.app", 2, LONG);
    // Same URL again: the add-on keeps running, not restarted.
    assert_eq!(dev.child_pids().len(), 1, "{}", dev.output());
}

#[test]
fn a_new_public_url_after_an_ngrok_restart_restarts_the_add_on_with_it() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state").display().to_string();
    let args = tunnel_args(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // No FAKE_NGROK_NAME: every ngrok run gets a random URL, like a free plan.
    let dev = Dev::start(
        &project.dir,
        &args,
        &[
            ("FAKE_NGROK_MODE", "exit-later"),
            ("FAKE_NGROK_STATE", &state),
        ],
    );
    let first = dev.wait_for("public:      https://");
    dev.wait_for("the public URL is gone");
    let second = dev.wait_for_nth("public:      https://", 2, LONG);
    assert_ne!(first, second);
    let url = second.rsplit(' ').next().expect("url").to_string();
    dev.wait_for(&format!("new public URL {url}: restarted in "));
    poll_until(dev.port(), "/atlassian-connect.json", &url, LONG);
}

#[test]
fn the_tunnel_survives_add_on_restarts() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let pids = tmp.path().join("pids");
    let pids_text = pids.display().to_string();
    let dev = start(&project, "json", &[], &[("FAKE_NGROK_PIDFILE", &pids_text)]);
    assert_tunnelled(&dev);
    project.set_description("edited behind the tunnel");
    poll_until(
        dev.port(),
        "/atlassian-connect.json",
        "edited behind the tunnel",
        LONG,
    );
    let started = std::fs::read_to_string(&pids).expect("pid file");
    assert_eq!(started.lines().count(), 1, "ngrok started once: {started}");
}

#[test]
fn sigkill_of_dev_also_ends_ngrok() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let pids = tmp.path().join("pids");
    let pids_text = pids.display().to_string();
    let mut dev = start(&project, "json", &[], &[("FAKE_NGROK_PIDFILE", &pids_text)]);
    assert_tunnelled(&dev);
    let ngrok: i32 = std::fs::read_to_string(&pids)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let child = dev.child_pids()[0];
    dev.signal(Signal::SIGKILL);
    dev.wait_exit(LONG);
    assert_gone(child, Duration::from_secs(5));
    assert_gone(ngrok, Duration::from_secs(5));
}

#[test]
fn sigterm_stops_ngrok_and_the_add_on() {
    let project = Project::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let pids = tmp.path().join("pids");
    let pids_text = pids.display().to_string();
    let mut dev = start(&project, "json", &[], &[("FAKE_NGROK_PIDFILE", &pids_text)]);
    assert_tunnelled(&dev);
    let ngrok: i32 = std::fs::read_to_string(&pids)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    dev.signal(Signal::SIGTERM);
    assert_eq!(dev.wait_exit(LONG).code(), Some(0), "{}", dev.output());
    assert_gone(ngrok, Duration::from_secs(1));
    assert_gone(dev.child_pids()[0], Duration::from_secs(1));
}
