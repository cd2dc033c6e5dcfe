//! Only real edits restart: not connect dev's own redirected output, not a
//! file the add-on holds open, and a file rewritten right after every
//! restart is caught as a loop, reported and ignored.

use std::time::Duration;

use crate::support::{Dev, Project, get, poll_until};
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
    let line = dev.wait_for_nth(
        "changed again with each of the last 4 starts of the add-on",
        1,
        LONG,
    );
    assert!(line.contains("cache.txt"), "{line}");
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
