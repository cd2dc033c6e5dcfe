//! Only real edits restart: not connect dev's own redirected output, not a
//! file the add-on holds open, and a file rewritten right after every
//! restart is caught as a loop, reported and ignored.

use std::time::Duration;

use crate::support::dev::{Dev, Project, get, poll_until};
use crate::{LONG, SETTLE};

#[test]
fn output_redirected_into_the_project_restarts_nothing() {
    let project = Project::new();
    let out = project.path("out.txt");
    let dev = Dev::start_to(&project.dir, &["--port", "0"], &[], Some(&out));
    let port = dev.port();
    for _ in 0..20 {
        // Each request is a line of output, appended to out.txt.
        poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    }
    std::thread::sleep(SETTLE);
    assert_eq!(dev.count("restarted in "), 0, "{}", dev.output());
    assert!(
        dev.count("serve: GET /atlassian-connect.json 200") >= 20,
        "{}",
        dev.output()
    );
}

#[test]
fn a_log_file_the_add_on_holds_open_restarts_nothing() {
    let project = Project::new();
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            "0",
            "--exec",
            "exec 3>>app.log; (while true; do echo tick >&3; sleep 0.05; done) & exec python3 -m http.server --bind 127.0.0.1 $PORT",
        ],
        &[],
    );
    let port = dev.port();
    poll_until(port, "/", "Directory listing", LONG);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dev.count("restarted in "), 0, "{}", dev.output());
    assert_eq!(dev.count("changed again with each"), 0, "{}", dev.output());
}

#[test]
fn a_file_rewritten_after_every_start_is_caught_as_a_loop_and_ignored() {
    let project = Project::new();
    // Opens, writes and closes at start, as a cache or a log rotation does.
    let dev = Dev::start(
        &project.dir,
        &[
            "--port",
            "0",
            "--exec",
            "date +%s%N > cache.txt; exec python3 -m http.server --bind 127.0.0.1 $PORT",
        ],
        &[],
    );
    // Either the loop guard names the file after a few restarts, or a write
    // is seen while the child still holds the file open (then it is one of
    // the add-on's own writes and restarts nothing): both stop the loop.
    // Which one comes first is a race between the shell and the watcher.
    const LOOP: &str = "changed again with each of the last 4 starts of the add-on";
    let deadline = std::time::Instant::now() + LONG;
    let mut seen = (dev.count("restarted in "), std::time::Instant::now());
    while dev.count(LOOP) == 0 {
        let restarts = dev.count("restarted in ");
        if restarts != seen.0 {
            seen = (restarts, std::time::Instant::now());
        } else if seen.1.elapsed() > Duration::from_secs(2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the add-on kept restarting for its own writes: {}",
            dev.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(line) = dev.output().lines().find(|l| l.contains(LOOP)) {
        assert!(line.contains("cache.txt"), "{line}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let restarts = dev.count("restarted in ");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        dev.count("restarted in "),
        restarts,
        "the loop stopped: {}",
        dev.output()
    );
    // A real edit still restarts.
    project.write("README.md", "edited");
    dev.wait_for("README.md changed: restarted in ");
    let port = dev.port();
    assert_eq!(get(port, "/").expect("an answer").0, 200);
}
