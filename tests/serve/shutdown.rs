//! SIGTERM, as Heroku sends it on every deploy and daily restart: nothing
//! the server had accepted is cut off; it exits 0 within its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::serve::signed::{claims, room_message, sign};
use crate::support::serve::{Blog, BlogMode, HipChat, ID, Project, SECRET, Serve, installed};

/// How one request on a fresh connection went.
#[derive(Debug)]
enum Outcome {
    /// A whole 200 answer.
    Answered,
    /// The connection was refused: the server had stopped listening.
    Refused,
    /// Accepted, then cut off: a reset, an empty or a partial answer.
    Cut(String),
}

fn request(port: u16, term: &str) -> Vec<u8> {
    let body = room_message(ID, 1, &format!("/hascode {term}")).to_string();
    let token = sign(&claims(ID, 1), SECRET);
    format!(
        "POST /message HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: JWT {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn once(port: u16, term: &str, pause: Duration) -> Outcome {
    let mut stream = match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) => return Outcome::Cut(format!("connect: {e}")),
    };
    // Some clients take a moment between connecting and sending.
    tokio::time::sleep(pause).await;
    if let Err(e) = stream.write_all(&request(port, term)).await {
        return Outcome::Cut(format!("write: {e}"));
    }
    let mut answer = Vec::new();
    match tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await {
        Err(_) => return Outcome::Cut("no answer within 20 s".into()),
        Ok(Err(e)) => return Outcome::Cut(format!("read: {e} after {} bytes", answer.len())),
        Ok(Ok(_)) => {}
    }
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Outcome::Cut(format!("{} bytes, no complete head", answer.len()));
    };
    if !head.starts_with("HTTP/1.1 200") {
        return Outcome::Cut(format!("status line {:?}", head.lines().next()));
    }
    let length: Option<usize> = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().ok())
        })
        .flatten();
    match length {
        Some(n) if n == body.len() => Outcome::Answered,
        other => Outcome::Cut(format!(
            "body of {} bytes, content-length {other:?}",
            body.len()
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_on_fresh_connections_cuts_nothing() {
    for round in 0..3 {
        let mut w = installed().await;
        let port = w.serve.port();
        let stopping = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for client in 0..64u32 {
            let stopping = stopping.clone();
            clients.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut since_stop = None;
                for n in 0u32.. {
                    let pause = if client % 8 == 0 {
                        Duration::from_millis(150)
                    } else {
                        Duration::ZERO
                    };
                    let outcome = once(port, &format!("c{client}n{n}"), pause).await;
                    let refused = matches!(outcome, Outcome::Refused);
                    outcomes.push(outcome);
                    if stopping.load(Ordering::Acquire) {
                        let at = *since_stop.get_or_insert_with(Instant::now);
                        if refused || at.elapsed() > Duration::from_secs(5) {
                            break;
                        }
                    }
                }
                outcomes
            }));
        }
        tokio::time::sleep(Duration::from_millis(400 + 150 * round)).await;
        stopping.store(true, Ordering::Release);
        let started = Instant::now();
        let status = tokio::task::block_in_place(|| w.serve.stop_with(Signal::SIGTERM));
        let took = started.elapsed();
        let (mut answered, mut refused, mut cut) = (0, 0, Vec::new());
        for client in clients {
            for outcome in client.await.unwrap() {
                match outcome {
                    Outcome::Answered => answered += 1,
                    Outcome::Refused => refused += 1,
                    Outcome::Cut(why) => cut.push(why),
                }
            }
        }
        assert!(
            cut.is_empty(),
            "round {round}: {} of {} cut off: {cut:?}\n{}",
            cut.len(),
            answered + cut.len(),
            w.serve.logs()
        );
        assert!(answered > 64, "round {round}: only {answered} answered");
        assert!(
            refused > 0,
            "round {round}: the server never stopped listening"
        );
        assert_eq!(status.code(), Some(0), "round {round}\n{}", w.serve.logs());
        assert!(
            took < Duration::from_secs(10),
            "round {round}: took {took:?} to stop"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_grace() {
    let mut w = installed().await;
    let mut idle = TcpStream::connect(("127.0.0.1", w.serve.port()))
        .await
        .unwrap();
    // Let the server accept it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let pid = nix::unistd::Pid::from_raw(w.serve.pid() as i32);
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "expected a clean close, got {read:?}"
    );
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(1500),
        "closed before the grace: {closed_after:?}"
    );
    let status = tokio::task::block_in_place(|| w.serve.stop_with(Signal::SIGTERM));
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_during_the_grace_is_answered() {
    let mut w = installed().await;
    let port = w.serve.port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = nix::unistd::Pid::from_raw(w.serve.pid() as i32);
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream.write_all(&request(port, "late")).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("late article 1"), "{answer}");
    let status = tokio::task::block_in_place(|| w.serve.stop_with(Signal::SIGTERM));
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shutdown_timeout_bounds_the_wait_for_a_request_that_does_not_finish() {
    let blog = Blog::start();
    blog.set_mode(BlogMode::Slow(Duration::from_secs(30)));
    let project = Project::with_stage(
        json!({"development": Project::stage(&blog.url(), json!({"adapter": "memory"}))}),
    );
    let mut serve = Serve::start(project.path(), &["--shutdown-timeout", "1"], &[]);
    let hipchat = HipChat::start();
    hipchat
        .must_install_as(&serve.url(), ID, SECRET, Some(1))
        .await;
    let port = serve.port();
    let in_flight = tokio::spawn(async move { once(port, "slow", Duration::ZERO).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let status = tokio::task::block_in_place(|| serve.stop_with(Signal::SIGTERM));
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        serve.logs().contains("shutdown timeout"),
        "{}",
        serve.logs()
    );
    let _ = in_flight.await;
}
