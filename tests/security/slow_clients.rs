//! Slow clients are cut within the time limits while the server keeps
//! answering everyone else; an over-limit `Content-Length` is refused
//! before any of the body is read.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::dev::{Dev, Project as Scaffold};
use crate::support::emulate::Emulator;
use crate::support::serve::{Blog, Project, Serve};
use crate::support::wire;

const LIMITS: &[&str] = &[
    "--header-timeout",
    "1",
    "--body-timeout",
    "1",
    "--idle-timeout",
    "1",
];

/// A head that never ends is closed after the header timeout (1 s), a body
/// trickled a byte at a time is answered 408 after the body timeout, a
/// kept-alive connection with nothing to do is closed after the idle
/// timeout, and meanwhile `probe` stays fast.
fn assert_slow_clients_are_cut(port: u16, probe: &str, host: &str) {
    // 40 slowloris connections: partial heads, one more header line each second.
    let mut heads: Vec<_> = (0..40)
        .map(|_| {
            let mut s = wire::connect(port);
            s.write_all(format!("GET {probe} HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
                .expect("send a partial head");
            s
        })
        .collect();
    // 10 slow bodies: complete heads, then a byte every 300 ms.
    let mut bodies: Vec<_> = (0..10)
        .map(|_| {
            let mut s = wire::connect(port);
            s.write_all(
                format!("POST /somewhere HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{")
                    .as_bytes(),
            )
            .expect("send a head");
            s
        })
        .collect();
    let started = Instant::now();
    let mut fastest_probe = Duration::MAX;
    let mut slowest_probe = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(900) {
        for s in &mut bodies {
            let _ = s.write_all(b" ");
        }
        let asked = Instant::now();
        let answer = wire::get(port, probe, host);
        assert!(answer.status == 200 || answer.status == 503, "{answer:?}");
        let took = asked.elapsed();
        fastest_probe = fastest_probe.min(took);
        slowest_probe = slowest_probe.max(took);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        slowest_probe < Duration::from_millis(500),
        "{probe} took {slowest_probe:?} under the slow clients"
    );
    for (i, s) in heads.iter_mut().enumerate() {
        let closed = wire::time_to_close(s, Duration::from_secs(5));
        let after = started.elapsed();
        assert!(
            closed.is_some(),
            "partial head {i} still open after {after:?}"
        );
        assert!(
            after < Duration::from_secs(4),
            "partial head {i} closed only after {after:?}"
        );
    }
    for (i, s) in bodies.iter_mut().enumerate() {
        let answer = wire::read_answer(s);
        let after = started.elapsed();
        assert_eq!(answer.status, 408, "slow body {i}: {answer:?}");
        assert!(
            after < Duration::from_secs(4),
            "slow body {i} answered after {after:?}"
        );
    }
    // Idle keep-alive: one request answered, then nothing.
    let mut idle = wire::connect(port);
    idle.write_all(format!("GET {probe} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .expect("send a request");
    let answer = wire::read_answer(&mut idle);
    assert!(answer.status == 200 || answer.status == 503, "{answer:?}");
    let closed = wire::time_to_close(&mut idle, Duration::from_secs(5));
    assert!(
        closed.is_some_and(|d| d >= Duration::from_millis(700) && d < Duration::from_secs(3)),
        "an idle connection closed after {closed:?}, not after about 1 s"
    );
}

/// `Content-Length` over the limit: 413 before the body is sent.
fn assert_oversized_is_refused_at_once(port: u16, host: &str, length: usize) {
    let mut s = wire::connect(port);
    let asked = Instant::now();
    s.write_all(
        format!("POST /installable HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n")
            .as_bytes(),
    )
    .expect("send the head");
    let answer = wire::read_answer(&mut s);
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "413 took {:?}",
        asked.elapsed()
    );
    assert_eq!(
        answer.header("connection").as_deref(),
        Some("close"),
        "{answer:?}"
    );
}

#[test]
fn connect_serve_cuts_slow_clients_and_refuses_oversized_bodies_at_once() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let serve = Serve::start(project.path(), LIMITS, &[]);
    let host = format!("127.0.0.1:{}", serve.port());
    assert_slow_clients_are_cut(serve.port(), "/healthz", &host);
    assert_oversized_is_refused_at_once(serve.port(), &host, 5_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_cuts_slow_clients_and_refuses_oversized_bodies_at_once() {
    let emulator = Emulator::start(LIMITS).await;
    let port = url::Url::parse(&emulator.url).unwrap().port().unwrap();
    let host = format!("127.0.0.1:{port}");
    tokio::task::spawn_blocking(move || {
        assert_slow_clients_are_cut(port, "/_emulator", &host);
        assert_oversized_is_refused_at_once(port, &host, 50_000_000);
    })
    .await
    .expect("the checks ran");
}

#[test]
fn connect_devs_public_port_cuts_slow_clients() {
    let project = Scaffold::new();
    let mut args = vec!["--port", "0"];
    args.extend_from_slice(LIMITS);
    let dev = Dev::start(&project.dir, &args, &[]);
    let port = dev.port();
    let host = format!("127.0.0.1:{port}");
    assert_slow_clients_are_cut(port, "/atlassian-connect.json", &host);
}
