//! Any add-on, not only `connect serve`: a Procfile's `web:` command, the
//! 2015 Node add-on through `npm start`, `.env`; every one restarts
//! without a failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::dev::{Dev, Project, get, node_fixture, poll_until};
use crate::{LONG, SETTLE};

/// Polls `path` through `rounds` restarts made by `restart(round)`, each
/// awaited by its "restarted in" line; returns (answered, failed).
fn through_restarts(
    dev: &Dev,
    port: u16,
    path: &'static str,
    rounds: usize,
    restart: impl Fn(usize),
) -> (usize, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let poller = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match get(port, path) {
                    Ok((200, _)) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    for round in 0..rounds {
        restart(round);
        dev.wait_for_nth("restarted in ", round + 1, LONG);
        // A person's pace: an edit right after a restart looks like the
        // add-on's own doing (see the restart-loop guard).
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    poller.join().expect("poller");
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

#[test]
fn no_request_fails_while_connect_serve_restarts() {
    let project = Project::new();
    let dev = Dev::start(&project.dir, &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/atlassian-connect.json", "hascode", LONG);
    let (ok, failed) = through_restarts(&dev, port, "/atlassian-connect.json", 5, |round| {
        project.set_description(&format!("round {round}"));
    });
    assert!(ok > 0);
    assert_eq!(failed, 0, "failed requests: {}", dev.output());
}

const SLOW_PYTHON: &str = r#"import http.server, os, time
time.sleep(1)  # a slow boot, like the 2015 Node stack's
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("served by %d with %s" % (os.getpid(), os.environ.get("GREETING", "no greeting"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("python add-on on port", os.environ["PORT"])
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn python_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("app.py"), SLOW_PYTHON).expect("app.py");
    std::fs::write(dir.path().join("Procfile"), "web: python3 app.py\n").expect("Procfile");
    dir
}

#[test]
fn a_procfile_add_on_that_boots_slowly_restarts_without_a_failed_request() {
    let dir = python_project();
    let dev = Dev::start(dir.path(), &["--port", "0"], &[]);
    dev.wait_for("dev: starting `python3 app.py` (from Procfile)");
    let port = dev.port();
    poll_until(port, "/", "served by", LONG);
    let (ok, failed) = through_restarts(&dev, port, "/", 3, |round| {
        std::fs::write(dir.path().join("notes.txt"), format!("{round}")).expect("write");
    });
    assert!(ok > 10, "only {ok} answers");
    assert_eq!(failed, 0, "failed requests: {}", dev.output());
    dev.wait_for("python3: python add-on on port");
}

#[test]
fn the_env_file_reaches_the_add_on_and_an_edit_restarts_it_without_showing_values() {
    let dir = python_project();
    std::fs::write(dir.path().join(".gitignore"), ".env\n").expect(".gitignore");
    std::fs::write(dir.path().join(".env"), "GREETING=hello-from-dotenv\n").expect(".env");
    let dev = Dev::start(dir.path(), &["--port", "0"], &[]);
    let port = dev.port();
    poll_until(port, "/", "hello-from-dotenv", LONG);
    std::fs::write(dir.path().join(".env"), "GREETING=edited-value\n").expect(".env");
    dev.wait_for(".env changed: restarted in ");
    poll_until(port, "/", "edited-value", LONG);
    // The real environment wins over the file.
    drop(dev);
    let dev = Dev::start(
        dir.path(),
        &["--port", "0"],
        &[("GREETING", "from-the-shell")],
    );
    let port = dev.port();
    poll_until(port, "/", "from-the-shell", LONG);
    std::thread::sleep(SETTLE);
    let output = dev.output();
    assert!(
        !output.contains("edited-value") && !output.contains("hello-from-dotenv"),
        "{output}"
    );
}

#[test]
fn a_bad_env_file_is_named_by_line_without_its_content() {
    let dir = python_project();
    std::fs::write(dir.path().join(".env"), "OK=1\nthis is s3cret\n").expect(".env");
    let dev = Dev::start(dir.path(), &["--port", "0"], &[]);
    let line = dev.wait_for(".env: line 2 is not KEY=VALUE");
    assert!(!dev.output().contains("s3cret"), "{line}");
}

#[test]
fn the_2015_node_add_on_runs_with_npm_start_and_restarts_without_a_failed_request() {
    let dir = node_fixture();
    let dev = Dev::start(
        dir.path(),
        &["--port", "0"],
        &[("SEARCH_HOST", "http://127.0.0.1:9")],
    );
    dev.wait_for("dev: starting `npm start` (from package.json)");
    let port = dev.port();
    let descriptor = poll_until(
        port,
        "/atlassian-connect.json",
        "com.example.hascode-node",
        LONG,
    );
    assert!(
        descriptor.contains(&format!("http://localhost:{port}")),
        "the public URL: {descriptor}"
    );
    let (ok, failed) = through_restarts(&dev, port, "/atlassian-connect.json", 3, |round| {
        std::fs::write(dir.path().join("routes/extra.js"), format!("// {round}\n")).expect("write");
    });
    assert!(ok > 10, "only {ok} answers");
    assert_eq!(failed, 0, "failed requests: {}", dev.output());
}
