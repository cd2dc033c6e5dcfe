//! Never without a server: a start that fails keeps the old add-on serving,
//! and when none runs the port answers 503 at once, with the reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::dev::{Dev, Project, get, get_accepting, poll_until};
use crate::{LONG, SETTLE};

/// Polls `path` continuously until stopped; counts answers that are 200.
struct Poller {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

use std::sync::Mutex;

impl Poller {
    fn start(port: u16, path: &'static str) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match get(port, path) {
                        Ok((200, _)) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => failed.lock().unwrap().push(format!("{other:?}")),
                    }
                }
            })
        };
        Poller {
            stop,
            ok,
            failed,
            thread: Some(thread),
        }
    }

    /// Stops it: (answered, failures).
    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("poller");
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.lock().unwrap().clone(),
        )
    }
}

#[test]
fn a_broken_template_keeps_the_old_add_on_serving_without_a_failed_request() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let poller = Poller::start(port, "/atlassian-connect.json");
    let first = dev.child_pids()[0];
    project.write("templates/reply.html", "{% if %}");
    let line = dev.wait_for(
        "templates/reply.html changed: connect serve crashed with exit code 2 before it answered",
    );
    assert!(
        line.contains(&format!("still serving the previous version (pid {first})")),
        "{line}"
    );
    // Its error is shown, from the add-on itself.
    dev.wait_for("serve: error: reply template `reply.html`");
    std::thread::sleep(SETTLE);
    project.write("templates/reply.html", "<p>{{ total }}</p>");
    dev.wait_for("templates/reply.html changed: restarted in ");
    std::thread::sleep(SETTLE);
    let (ok, failed) = poller.finish();
    assert!(ok > 10, "only {ok} answers");
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
}

#[test]
fn a_killed_add_on_gives_503_at_once_with_the_reason() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let pid = dev.child_pids()[0];
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the add-on");
    let killed = Instant::now();
    // Every answer from now on is 503 at once, never a hang; within a
    // second it names what happened.
    let named = loop {
        let (status, body) = get(port, "/atlassian-connect.json").expect("an answer, never a hang");
        if status != 200 {
            // 502 for a request that met the dying process, 503 after.
            assert!(status == 503 || status == 502, "{status}: {body}");
            let json: serde_json::Value =
                serde_json::from_str(&body).expect("HipChat's error envelope");
            assert_eq!(json["error"]["code"], status);
            if json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("was killed by SIGKILL")
            {
                break killed.elapsed();
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "no 503 naming the kill within a second"
        );
    };
    assert!(named < Duration::from_secs(1), "took {named:?}");
    let (status, page) = get_accepting(port, "/", "text/html").expect("a page");
    assert_eq!(status, 503);
    assert!(
        page.contains("<h1>The add-on is not running</h1>"),
        "{page}"
    );
    dev.wait_for(&format!(
        "connect serve (pid {pid}) was killed by SIGKILL; port {port} answers 503"
    ));
    // The next change starts it again.
    project.write("README.md", "changed");
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
}

#[test]
fn a_first_start_that_fails_answers_503_with_its_output_until_it_is_fixed() {
    let project = Project::new();
    project.write("templates/reply.html", "{% for %}");
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let line = dev.wait_for("connect serve crashed with exit code 2 before it answered");
    let port: u16 = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("the port in the line");
    let (status, body) = get(port, "/atlassian-connect.json").expect("an answer");
    assert_eq!(status, 503);
    assert!(
        body.contains("reply.html"),
        "the add-on's last lines: {body}"
    );
    project.write("templates/reply.html", "<p>{{ total }}</p>");
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
}

#[test]
fn a_crashing_command_is_reported_and_waits_for_the_next_change() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0", "--exec", "exit 3"], &[]);
    dev.wait_for("crashed with exit code 3 before it answered");
    std::thread::sleep(SETTLE);
    assert_eq!(
        dev.count("dev: starting "),
        1,
        "no crash loop: {}",
        dev.output()
    );
    project.write("README.md", "changed");
    dev.wait_for_nth(
        "README.md changed: exit crashed with exit code 3 before it answered",
        1,
        LONG,
    );
}

#[test]
fn a_clean_exit_is_reported_too() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0", "--exec", "true"], &[]);
    dev.wait_for("exited cleanly (status 0) before it answered");
}

#[test]
fn a_command_that_never_answers_is_reported_after_the_ready_timeout() {
    let project = Project::new();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            "0",
            "--ready-timeout",
            "1",
            "--exec",
            "echo listening elsewhere; sleep 60",
        ],
        &[],
    );
    let line = dev.wait_for("did not answer on its port");
    assert!(
        line.contains("within 1 s (does it listen on $PORT?"),
        "{line}"
    );
    let pid = dev.child_pids()[0];
    crate::support::dev::assert_gone(pid, Duration::from_secs(5));
}

#[test]
fn requests_made_during_a_slow_first_start_wait_for_it() {
    let project = Project::new();
    let port = crate::support::dev::free_port();
    let _dev = Dev::start(
        &project.dir,
        &[
            "--port",
            &port.to_string(),
            "--exec",
            "sleep 1; exec python3 -m http.server --bind 127.0.0.1 $PORT",
        ],
        &[],
    );
    // Until connect dev listens, connections are refused; after, they wait.
    let deadline = Instant::now() + LONG;
    let answer = loop {
        match get(port, "/") {
            Ok(answer) => break answer,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("no answer: {e}"),
        }
    };
    assert_eq!(answer.0, 200, "{answer:?}");
}

#[test]
fn a_folder_without_project_files_is_refused_with_status_2() {
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("shell.log"), "x").expect("a file");
    let mut dev = Dev::start(dir.path(), &["--port", "0"], &[]);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{}", dev.output());
    dev.wait_for("is not an add-on project: none of config.json, atlassian-connect.json, Procfile, package.json is there");
}

#[test]
fn the_home_folder_is_not_watched_wholesale() {
    let home = tempfile::tempdir().expect("a folder");
    std::fs::write(home.path().join("package.json"), "{}").expect("a file");
    let home_path = home.path().display().to_string();
    let mut dev = Dev::start(home.path(), &["--port", "0"], &[("HOME", &home_path)]);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{}", dev.output());
    dev.wait_for("will not watch your home folder");
}
