//! HTTP written by hand on a plain socket: requests with any `Host`,
//! partial heads, trickled bodies, a `Content-Length` that is a lie.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An answer read off the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code (0 when none came).
    pub status: u16,
    /// The head, as text.
    pub head: String,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Connects to 127.0.0.1:`port`.
pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("a read timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Sends `raw` on a new connection and reads one answer.
pub fn send(port: u16, raw: &str) -> Answer {
    let mut stream = connect(port);
    stream.write_all(raw.as_bytes()).expect("send the request");
    read_answer(&mut stream)
}

/// `METHOD path` with `Host: host` and the given extra header lines, then `body`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    host: &str,
    headers: &[&str],
    body: &str,
) -> Answer {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in headers {
        raw.push_str(h);
        raw.push_str("\r\n");
    }
    if !body.is_empty() || method != "GET" {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    send(port, &raw)
}

/// `GET path` with `Host: host`.
pub fn get(port: u16, path: &str, host: &str) -> Answer {
    request(port, "GET", path, host, &[], "")
}

/// Reads one answer (head, then a body of `Content-Length`, or until the
/// server closes).
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            break Some(end);
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let Some(head_end) = head_end else {
        return Answer {
            status: 0,
            head: String::from_utf8_lossy(&data).into_owned(),
            body: String::new(),
        };
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut body = data[head_end + 4..].to_vec();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    while length.is_none_or(|n| body.len() < n) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How long until the server closes `stream` (reading and dropping
/// anything it sends), at most `limit`; `None` if still open then.
pub fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("a read timeout");
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}
