//! `connect dev` as a real process: restarts on change, debounce, ignores,
//! crashes, `rs`, signals, orphans, the lent socket and the tunnel.

#[path = "dev/support.rs"]
mod support;
#[path = "dev/terminal.rs"]
mod terminal;
#[path = "dev/tunnel.rs"]
mod tunnel;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{Dev, Project, alive, assert_gone, get, poll_until, port_is_free};

const SETTLE: Duration = Duration::from_millis(700);
const LONG: Duration = Duration::from_secs(20);

#[test]
fn restarts_the_add_on_when_a_file_changes_and_serves_the_change() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.set_description("edited while running");
    poll_until(
        port,
        "/atlassian-connect.json",
        "edited while running",
        LONG,
    );
    dev.wait_for("change detected: atlassian-connect.json");
    dev.wait_for("restarted in ");
}

#[test]
fn a_burst_of_saves_restarts_the_add_on_once() {
    let project = Project::new();
    // A quiet period no write of the burst below waits for, even on a
    // loaded machine (the default 10 ms is tuned for speed).
    let dev = Dev::start(&project.dir, &["--port", "0", "--delay", "150"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    for i in 0..20 {
        project.set_description(&format!("burst {i}"));
        project.write(
            "templates/usage.html",
            &format!("usage {i} {{{{ command }}}}"),
        );
    }
    poll_until(port, "/atlassian-connect.json", "burst 19", LONG);
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarting"), 1, "{}", dev.output());
}

#[test]
fn an_editors_atomic_save_restarts_the_add_on_once() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let raw = std::fs::read_to_string(project.path("atlassian-connect.json")).expect("read");
    let edited = raw.replace(
        "\"description\": \"",
        "\"description\": \"saved atomically: ",
    );
    // Like vim or VS Code: write a sibling, then rename it over the original.
    let tmp = project.path(".atlassian-connect.json.swp");
    std::fs::write(&tmp, edited).expect("write swap file");
    std::fs::rename(&tmp, project.path("atlassian-connect.json")).expect("rename");
    poll_until(port, "/atlassian-connect.json", "saved atomically", LONG);
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarting"), 1, "{}", dev.output());
    dev.wait_for("change detected: atlassian-connect.json");
}

#[test]
fn changes_to_git_the_store_and_gitignored_files_do_not_restart() {
    let project = Project::new();
    project.write(".gitignore", "store.db*\nscratch/\n*.log\n");
    let dev = Dev::start(&project.dir, &["--port", "0", "--ignore", "notes/**"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.write(".git/index", "x");
    project.write("store.db-wal", "x");
    project.write("store.db-journal", "x");
    project.write("scratch/a.json", "{}");
    project.write("server.log", "line");
    project.write("notes/todo.md", "x");
    project.write("node_modules/x/index.js", "x");
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarting"), 0, "{}", dev.output());
    // The watcher does see project files.
    project.write("templates/extra.html", "x");
    dev.wait_for("change detected: templates/extra.html");
}

/// Runs `connect dev` with `args`, then checks that editing README.md does
/// not restart the add-on and editing a template does.
fn assert_only_templates_restart(project: &Project, args: &[&str]) {
    let dev = Dev::start(&project.dir, args, &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.write("README.md", "changed");
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarting"), 0, "{}", dev.output());
    project.write("templates/usage.html", "{{ command }}");
    dev.wait_for("change detected: templates/usage.html");
}

#[test]
fn watch_limits_restarts_to_the_given_paths() {
    let project = Project::new();
    let templates = project.path("templates").display().to_string();
    assert_only_templates_restart(&project, &["--port", "0", "--watch", &templates]);
}

#[test]
fn only_listed_extensions_restart_with_ext() {
    let project = Project::new();
    assert_only_templates_restart(&project, &["--port", "0", "--ext", "html"]);
}

#[test]
fn a_crashing_command_is_reported_and_waits_for_the_next_change() {
    let project = Project::new();
    let port = support::free_port().to_string();
    let dev = Dev::start(&project.dir, &["--port", &port, "--exec", "exit 3"], &[]);
    dev.wait_for("crashed with exit code 3; waiting for a change");
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("started "), 1, "no crash loop: {}", dev.output());
    project.write("README.md", "changed");
    dev.wait_for("change detected: README.md");
    dev.wait_for_nth("crashed with exit code 3", 2, LONG);
}

#[test]
fn a_clean_exit_is_reported_too() {
    let project = Project::new();
    let port = support::free_port().to_string();
    let dev = Dev::start(&project.dir, &["--port", &port, "--exec", "true"], &[]);
    dev.wait_for("exited cleanly (status 0); waiting for a change");
}

#[test]
fn rs_and_enter_restarts_by_hand() {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    dev.type_line("rs");
    dev.wait_for("rs: restarting connect serve");
    dev.wait_for("restarted in ");
    assert_eq!(dev.child_pids().len(), 2, "{}", dev.output());
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
}

#[test]
fn exec_gets_the_port_and_base_url_in_its_environment() {
    let project = Project::new();
    let port = support::free_port().to_string();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            &port,
            "--exec",
            "echo \"env PORT=$PORT URL=$AC_LOCAL_BASE_URL FDS=${LISTEN_FDS:-none}\"; sleep 60",
        ],
        &[],
    );
    let line = dev.wait_for(&format!("env PORT={port} "));
    assert_eq!(
        line,
        format!("env PORT={port} URL=http://localhost:{port} FDS=none")
    );
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_after_the_timeout() {
    let project = Project::new();
    let port = support::free_port().to_string();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            &port,
            "--kill-timeout",
            "200",
            "--exec",
            "trap '' TERM; echo armed; sleep 60",
        ],
        &[],
    );
    dev.wait_for("armed");
    project.write("README.md", "changed");
    dev.wait_for("did not stop within 200 ms of SIGTERM; killed it");
    dev.wait_for("restarted in ");
    let first = dev.child_pids()[0];
    assert_gone(first, Duration::from_secs(5));
}

fn stops_everything_on(signal: Signal) {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let child = dev.child_pids()[0];
    assert!(alive(child));
    dev.signal(signal);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", dev.output());
    assert_gone(child, Duration::from_secs(1));
    assert!(port_is_free(port), "port {port} still taken");
}

#[test]
fn sigint_to_dev_alone_stops_the_add_on_frees_the_port_and_exits_zero() {
    stops_everything_on(Signal::SIGINT);
}

#[test]
fn sigterm_to_dev_alone_stops_the_add_on_frees_the_port_and_exits_zero() {
    stops_everything_on(Signal::SIGTERM);
}

#[test]
fn sigkill_of_dev_leaves_no_child_behind() {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let child = dev.child_pids()[0];
    dev.signal(Signal::SIGKILL);
    dev.wait_exit(Duration::from_secs(5));
    assert_gone(child, Duration::from_secs(5));
    assert!(port_is_free(port), "port {port} still taken");
}

#[test]
fn sigkill_of_dev_also_ends_an_exec_command() {
    let project = Project::new();
    let port = support::free_port().to_string();
    let mut dev = Dev::start(&project.dir, &["--port", &port, "--exec", "sleep 60"], &[]);
    dev.wait_for("started ");
    let child = dev.child_pids()[0];
    dev.signal(Signal::SIGKILL);
    dev.wait_exit(Duration::from_secs(5));
    assert_gone(child, Duration::from_secs(5));
}

#[test]
fn no_request_fails_while_the_add_on_restarts_on_the_lent_socket() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let poller = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match get(port, "/atlassian-connect.json") {
                    Ok((200, _)) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    for round in 0..5 {
        let text = format!("round {round}");
        project.set_description(&text);
        poll_until(port, "/atlassian-connect.json", &text, LONG);
    }
    stop.store(true, Ordering::Relaxed);
    poller.join().expect("poller");
    assert_eq!(dev.count("restarted in "), 5, "{}", dev.output());
    assert!(ok.load(Ordering::Relaxed) > 0);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed requests");
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--watch", "no/such/folder"], &[]);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{}", dev.output());
    dev.wait_for("--watch no/such/folder");
}
