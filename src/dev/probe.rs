//! Is a new generation of the add-on ready? It is once it answers HTTP on
//! its private port: any status counts (an add-on need not serve the
//! descriptor to be up), the descriptor's path is what is asked for.
//!
//! `connect serve` gets its socket already bound, so the first probe is
//! accepted at once and answered the moment the server serves; an add-on
//! that binds by itself is probed again (every 1 to 4 ms) while it
//! refuses connections.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest pause between two probes.
const MAX_PAUSE: Duration = Duration::from_millis(4);
/// One probe may take this long (a server that accepts but never answers
/// is probed again).
const ONE_PROBE: Duration = Duration::from_secs(2);

/// Returns (with the HTTP status) once 127.0.0.1:`port` answers
/// `GET path`; loops until then. The caller bounds it with a timeout and
/// races it against the process exiting.
pub async fn until_ready(port: u16, path: &str, host: &str) -> u16 {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Ok(Some(status)) = tokio::time::timeout(ONE_PROBE, once(port, path, host)).await {
            return status;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

async fn once(port: u16, path: &str, host: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        crate::serve::app::PROBE_AGENT
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_of(&head)
}

/// The status of an HTTP/1.x status line (pure).
pub fn status_of(head: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(head).ok()?.lines().next()?;
    let mut words = line.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/1."))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_of_a_status_line() {
        assert_eq!(
            status_of(b"HTTP/1.1 200 OK\r\nContent-Type: x\r\n"),
            Some(200)
        );
        assert_eq!(status_of(b"HTTP/1.0 404 Not Found\r\n"), Some(404));
        assert_eq!(status_of(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_of(b""), None);
    }

    #[tokio::test]
    async fn waits_for_a_server_that_starts_late() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
        });
        let status =
            tokio::time::timeout(Duration::from_secs(5), until_ready(port, "/x", "localhost"))
                .await
                .expect("ready in time");
        assert_eq!(status, 204);
        server.await.unwrap();
    }
}
