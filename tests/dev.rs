//! `connect dev` as a real process: restarts on change, debounce, ignores,
//! crashes, `rs`, signals, orphans, the tunnel, and the promise that the
//! developer is never left without a server.

#[path = "dev/addons.rs"]
mod addons;
#[path = "dev/failures.rs"]
mod failures;
#[path = "dev/own_writes.rs"]
mod own_writes;
mod support;
#[path = "dev/terminal.rs"]
mod terminal;
#[path = "dev/tunnel.rs"]
mod tunnel;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::dev::{Dev, Project, alive, assert_gone, poll_until, port_is_free};

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
    dev.wait_for("atlassian-connect.json changed: restarted in ");
}

#[test]
fn one_line_per_restart_printed_once_the_new_add_on_answers() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.write("templates/usage.html", "usage {{ command }}");
    let line = dev.wait_for("templates/usage.html changed: restarted in ");
    assert!(line.contains(" ms (pid "), "{line}");
    std::thread::sleep(SETTLE);
    let output = dev.output();
    let dev_lines: Vec<&str> = output.lines().filter(|l| l.contains("] dev: ")).collect();
    let after_ready: Vec<&&str> = dev_lines
        .iter()
        .skip_while(|l| !l.contains("started connect serve"))
        .skip(1)
        .collect();
    assert_eq!(after_ready.len(), 1, "{output}");
    // connect serve's own banner is not printed under connect dev.
    assert!(!output.contains("connect serve: "), "{output}");
    assert!(!output.contains("Some("), "no debug formatting: {output}");
}

#[test]
fn a_burst_of_saves_restarts_the_add_on_once() {
    let project = Project::new();
    // A quiet period no write of the burst below waits for, even on a
    // loaded machine (the default 5 ms is tuned for speed).
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
    assert_eq!(dev.count("restarted in "), 1, "{}", dev.output());
    dev.wait_for("atlassian-connect.json, templates/usage.html changed: restarted in ");
}

#[test]
fn an_editors_atomic_save_is_reported_by_the_real_file_name() {
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
    assert_eq!(dev.count("restarted in "), 1, "{}", dev.output());
    dev.wait_for("atlassian-connect.json changed: restarted in ");
}

#[test]
fn sed_in_place_is_reported_by_the_file_it_edited_not_its_temporary_file() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let status = std::process::Command::new("sed")
        .args(["-i", "s/Usage:/Use:/"])
        .arg(project.path("templates/usage.html"))
        .status()
        .expect("run sed");
    assert!(status.success());
    dev.wait_for("templates/usage.html changed: restarted in ");
    assert!(!dev.output().contains("templates/sed"), "{}", dev.output());
}

#[test]
fn changes_to_git_the_store_and_gitignored_files_do_not_restart() {
    let project = Project::new();
    project.write(".gitignore", "store.db*\nscratch/\n*.log\n");
    let dev = Dev::start(&project.dir, &["--port", "0", "--ignore", "notes/**"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.write(".git/index", "x");
    // Appended, not overwritten: the running add-on's store must stay sound.
    project.append("store.db-wal", "x");
    project.write("store.db-journal", "x");
    project.write("scratch/a.json", "{}");
    project.write("server.log", "line");
    project.write("notes/todo.md", "x");
    project.write("node_modules/x/index.js", "x");
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarted in "), 0, "{}", dev.output());
    // (A stray rollback journal would make SQLite wait for a lock.)
    std::fs::remove_file(project.path("store.db-journal")).expect("remove the journal");
    // The watcher does see project files.
    project.write("templates/extra.html", "x");
    dev.wait_for("templates/extra.html changed: restarted in ");
}

/// Runs `connect dev` with `args`, then checks that editing README.md does
/// not restart the add-on and editing a template does.
fn assert_only_templates_restart(project: &Project, args: &[&str]) {
    let dev = Dev::start(&project.dir, args, &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    project.write("README.md", "changed");
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarted in "), 0, "{}", dev.output());
    project.write("templates/usage.html", "{{ command }}");
    dev.wait_for("templates/usage.html changed: restarted in ");
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
fn rs_and_enter_restarts_by_hand() {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    dev.type_line("rs");
    dev.wait_for("rs: restarted in ");
    assert_eq!(dev.child_pids().len(), 2, "{}", dev.output());
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
}

#[test]
fn the_add_on_gets_a_private_port_and_the_public_base_url() {
    let project = Project::new();
    let public = support::dev::free_port();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            &public.to_string(),
            "--exec",
            "echo \"env PORT=$PORT URL=$AC_LOCAL_BASE_URL FDS=${LISTEN_FDS:-none}\"; exec python3 -m http.server --bind 127.0.0.1 $PORT",
        ],
        &[],
    );
    let line = dev.wait_for("echo: env PORT=");
    let private: u16 = line
        .split("PORT=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("a private port");
    assert_ne!(private, public);
    assert!(
        line.ends_with(&format!("URL=http://localhost:{public} FDS=none")),
        "{line}"
    );
    dev.wait_for("dev: started echo");
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_after_the_timeout() {
    let project = Project::new();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            "0",
            "--kill-timeout",
            "200",
            "--exec",
            "trap '' TERM; echo armed; exec python3 -m http.server --bind 127.0.0.1 $PORT",
        ],
        &[],
    );
    let port = dev.port();
    poll_until(port, "/", "Directory listing", LONG);
    let first = dev.child_pids()[0];
    project.write("README.md", "changed");
    dev.wait_for("README.md changed: restarted in ");
    dev.wait_for("did not stop within 200 ms of SIGTERM; killed it");
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
    let mut dev = Dev::start(&project.dir, &["--port", "0", "--exec", "sleep 60"], &[]);
    dev.wait_for("dev: starting ");
    let child = dev.child_pids()[0];
    dev.signal(Signal::SIGKILL);
    dev.wait_exit(Duration::from_secs(5));
    assert_gone(child, Duration::from_secs(5));
}

#[test]
fn serves_on_loopback_only_unless_host_says_otherwise() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    assert_eq!(support::dev::listening_addresses(port), vec!["127.0.0.1"]);
    drop(dev);
    let dev = Dev::start(&project.dir, &["--port", "0", "--host", "0.0.0.0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    assert_eq!(support::dev::listening_addresses(port), vec!["0.0.0.0"]);
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let project = Project::new();
    let mut dev = Dev::start(&project.dir, &["--watch", "no/such/folder"], &[]);
    let status = dev.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{}", dev.output());
    dev.wait_for("--watch no/such/folder");
}
