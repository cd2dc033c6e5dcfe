//! What went wrong talking to Redis, named by what happened: refused,
//! reset, timed out, a name that does not resolve, TLS, the password.
//! Never anything that could echo a stored value.

use redis::{ErrorKind, RedisError, ServerErrorKind};

use super::super::StoreError;
use super::connection::ConnectError;
use crate::tls::{Configured, explain_certificate_problem};

/// Whether a command failed in a way a new connection may cure: the
/// connection broke, or the server behind the name is now a replica
/// (`READONLY` after a failover).
pub fn needs_new_connection(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_unrecoverable_error()
        || err.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

/// A failed connection attempt in words.
pub fn connect(
    err: ConnectError,
    address: &str,
    what: &str,
    secure: bool,
    configured: &Configured,
) -> StoreError {
    let sentence = match err {
        ConnectError::TimedOut => format!(
            "Redis at {address} did not accept a connection within {} ms while {what}: check the host and port, and that nothing (a firewall) drops the packets",
            super::CONNECT_TIMEOUT.as_millis()
        ),
        ConnectError::Io(io) => io_sentence(&io, address, what, secure),
        ConnectError::Tls(io) => {
            if let Some(sentence) = explain_certificate_problem(
                &io,
                &format!("Redis at {address}"),
                configured,
                crate::tls::Advice {
                    settings: "the store's ",
                    unverified: "set \"tls\": {\"rejectUnauthorized\": false} or end the URL with #insecure",
                },
            ) {
                format!("{sentence} (while {what})")
            } else if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) || io.to_string().contains("InvalidContentType")
                || io.to_string().contains("corrupt message")
            {
                format!(
                    "Redis at {address} does not speak TLS on that port (the TLS handshake got no TLS answer) while {what}: use a redis:// URL, or the server's TLS port"
                )
            } else {
                format!("Redis at {address}: the TLS handshake failed ({io}) while {what}")
            }
        }
        ConnectError::Redis(e) => return command(&e, address, what, secure),
    };
    StoreError::Unavailable(sentence)
}

fn io_sentence(io: &std::io::Error, address: &str, what: &str, secure: bool) -> String {
    use std::io::ErrorKind as Io;
    match io.kind() {
        Io::ConnectionRefused => format!(
            "Redis at {address} refused the connection while {what}: nothing listens at that host and port; check the URL, and that Redis runs"
        ),
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof
            if !secure =>
        {
            format!(
                "Redis at {address} closed the connection without answering while {what}; if the server requires TLS, use a rediss:// URL"
            )
        }
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            format!("Redis at {address} reset the connection while {what}; it may be restarting")
        }
        Io::TimedOut | Io::WouldBlock => {
            format!("Redis at {address} did not answer in time while {what}")
        }
        _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => format!(
            "Redis at {address} cannot be reached while {what}: its host name does not resolve; check the URL"
        ),
        _ => format!("Redis at {address} failed while {what}: {io}"),
    }
}

/// A failed command in words.
pub fn command(err: &RedisError, address: &str, what: &str, secure: bool) -> StoreError {
    if err.is_connection_refusal() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        return StoreError::Unavailable(io_sentence(&refused, address, what, secure));
    }
    match err.kind() {
        ErrorKind::AuthenticationFailed => StoreError::Unavailable(format!(
            "Redis at {address} refused the credentials while {what}: check the password (and user) in the Redis URL"
        )),
        ErrorKind::Server(ServerErrorKind::ReadOnly) => StoreError::Unavailable(format!(
            "Redis at {address} is a read-only replica while {what}: point the URL at the primary (after a failover the name should follow it)"
        )),
        ErrorKind::Server(ServerErrorKind::NoPerm) => StoreError::Unavailable(format!(
            "Redis at {address} does not let this user run a command connect needs while {what} (NOPERM): grant GET, SET, DEL, SADD, SMEMBERS, EVAL and SCAN"
        )),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StoreError::Corrupt(format!(
            "Redis at {address} answered something unexpected while {what}"
        )),
        _ if err.is_connection_dropped() && !secure => StoreError::Unavailable(format!(
            "Redis at {address} closed the connection without answering while {what}; if the server requires TLS, use a rediss:// URL"
        )),
        _ if err.is_connection_dropped() => StoreError::Unavailable(format!(
            "Redis at {address} closed the connection while {what}; it may be restarting"
        )),
        _ if err.is_timeout() => StoreError::Unavailable(format!(
            "Redis at {address} did not answer in time while {what}"
        )),
        _ => StoreError::Unavailable(format!(
            "Redis at {address} failed while {what}: {}",
            safe_description(err)
        )),
    }
}

/// A Redis error without anything that could echo stored values: parse
/// errors quote the response, server errors are reduced to their code.
pub fn safe_description(err: &RedisError) -> String {
    match err.kind() {
        ErrorKind::Io | ErrorKind::InvalidClientConfig | ErrorKind::Client => err.to_string(),
        ErrorKind::Server(_) => format!("server error {}", err.code().unwrap_or("(no code)")),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => "an answer it could not read".into(),
        _ => "an unexpected error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_says_refused_and_gives_no_tls_hint() {
        let err = ConnectError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let text = connect(
            err,
            "redis://127.0.0.1:1/",
            "checking that it answers",
            false,
            &Configured::Unverified,
        )
        .to_string();
        assert!(text.contains("refused the connection"), "{text}");
        assert!(!text.contains("TLS") && !text.contains("rediss"), "{text}");
    }

    #[test]
    fn a_plain_connection_closed_without_an_answer_suggests_tls() {
        let err = ConnectError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let text = connect(
            err,
            "redis://cache:6379/",
            "reading a tenant",
            false,
            &Configured::Unverified,
        )
        .to_string();
        assert!(text.contains("rediss://"), "{text}");
    }

    #[test]
    fn a_timeout_names_the_time() {
        let text = connect(
            ConnectError::TimedOut,
            "redis://10.0.0.9:6379/",
            "x",
            false,
            &Configured::Unverified,
        )
        .to_string();
        assert!(text.contains("300 ms"), "{text}");
    }
}
