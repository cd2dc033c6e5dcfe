//! What went wrong talking to PostgreSQL (or a pooler in front of it), in
//! words: the connection refused, reset or timed out, TLS, the password,
//! the database; a server's SQLSTATE explained and kept for searching.
//! Never a value from a row, never a password.

use std::error::Error as _;

use super::super::StoreError;
use crate::tls::{Configured, explain_certificate_problem};

/// Describes `err` from `address` while doing `what`.
pub fn describe(
    err: &tokio_postgres::Error,
    address: &str,
    what: &str,
    configured: &Configured,
) -> StoreError {
    if let Some(sentence) = explain_certificate_problem(
        err,
        &format!("PostgreSQL at {address}"),
        configured,
        crate::tls::Advice {
            settings: "the store's ",
            unverified: "use sslmode=require in the URL (or \"tls\": {\"rejectUnauthorized\": false})",
        },
    ) {
        return StoreError::Unavailable(format!("{sentence} (while {what})"));
    }
    if let Some(db) = err.as_db_error() {
        return server_error(db.code().code(), db.message(), address, what);
    }
    if let Some(io) = io_cause(err) {
        return io_error(io, address, what);
    }
    if let Some(tls) = tls_cause(err) {
        return StoreError::Unavailable(format!(
            "PostgreSQL at {address}: the TLS handshake failed ({tls}) while {what}; check that the URL's port is the database's (or its pooler's), and its TLS settings"
        ));
    }
    if err.is_closed() {
        return StoreError::Unavailable(format!(
            "PostgreSQL at {address} closed the connection while {what}; it may be restarting, or a pooler in front of it dropped the session"
        ));
    }
    let text = chain(err);
    if text.contains("server does not support TLS") {
        return StoreError::Unavailable(format!(
            "PostgreSQL at {address} does not offer TLS, but the URL or the store's `tls` asks for it (while {what}): enable TLS on the server, or use sslmode=disable (or prefer) in the URL"
        ));
    }
    if text.contains("timeout") || text.contains("timed out") {
        return timed_out(address, what);
    }
    if text.contains("invalid message") || text.contains("unexpected message") {
        return StoreError::Unavailable(format!(
            "PostgreSQL at {address} answered something that is not PostgreSQL's protocol while {what}: check that the URL's port is the database's (or its pooler's)"
        ));
    }
    StoreError::Unavailable(format!(
        "PostgreSQL at {address} failed while {what}: {}",
        one_line(&text)
    ))
}

/// The pool gave up waiting for a connection.
pub fn timed_out(address: &str, what: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "PostgreSQL at {address} did not answer within {} ms while {what}",
        super::CALL_TIMEOUT.as_millis()
    ))
}

fn io_cause(err: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // A TLS failure inside an io::Error is the TLS branch's.
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return None;
            }
            return Some(io);
        }
        source = e.source();
    }
    None
}

fn tls_cause(err: &tokio_postgres::Error) -> Option<String> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(inner.to_string());
        }
        source = e.source();
    }
    None
}

fn io_error(io: &std::io::Error, address: &str, what: &str) -> StoreError {
    use std::io::ErrorKind;
    let sentence = match io.kind() {
        ErrorKind::ConnectionRefused => format!(
            "PostgreSQL at {address} refused the connection while {what}: nothing listens at that host and port; check the URL, and that the server (or its pooler) runs"
        ),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            format!(
                "PostgreSQL at {address} reset the connection while {what}: the server or something between closed it; it may be restarting"
            )
        }
        ErrorKind::TimedOut | ErrorKind::WouldBlock => return timed_out(address, what),
        ErrorKind::NotFound | ErrorKind::AddrNotAvailable => format!(
            "PostgreSQL at {address} cannot be reached while {what}: its host name does not resolve or the address is not reachable; check the URL"
        ),
        ErrorKind::UnexpectedEof => format!(
            "PostgreSQL at {address} closed the connection before answering while {what}: check that the URL's port is the database's (or its pooler's)"
        ),
        _ => format!("PostgreSQL at {address} failed while {what}: {io}"),
    };
    StoreError::Unavailable(sentence)
}

/// A server's (or pooler's) error: the SQLSTATE explained, and kept.
pub fn server_error(code: &str, message: &str, address: &str, what: &str) -> StoreError {
    let at = format!("PostgreSQL at {address}");
    let sentence = match code {
        "28P01" | "28000" => format!(
            "{at} refused the credentials while {what} (SQLSTATE {code}): check the user and password in the URL"
        ),
        "3D000" => format!(
            "{at}: the database does not exist (SQLSTATE 3D000, while {what}); create it (createdb) or fix the URL's path"
        ),
        "42501" => format!(
            "{at} denied a permission while {what} (SQLSTATE 42501): the user needs to create and use tables in the database"
        ),
        "08P01" => format!(
            "{at}: the pooler or server refused the session while {what} (SQLSTATE 08P01, protocol violation: {}); a pooler such as PgBouncer refuses startup parameters it does not track, and connect sends none but user, database, client_encoding and application_name, so check the pooler's settings (ignore_startup_parameters) and PGOPTIONS",
            one_line(message)
        ),
        "42P05" | "26000" => format!(
            "{at}: a prepared-statement problem while {what} (SQLSTATE {code}: {}); named prepared statements do not survive transaction pooling, and connect uses none, so the pooler shares the server session with a client that does",
            one_line(message)
        ),
        "57014" => format!(
            "{at} cancelled a statement that ran longer than {} while {what} (SQLSTATE 57014); the database is overloaded or a lock is held",
            super::STATEMENT_TIMEOUT
        ),
        "53300" => format!(
            "{at} has no connection left while {what} (SQLSTATE 53300: too many clients); lower the pool size (\"pool\" in the store, or CONNECT_STORE_POOL) or raise the server's limit"
        ),
        "57P01" | "57P02" | "57P03" => format!(
            "{at} is shutting down or starting up (SQLSTATE {code}) while {what}; it is retried on the next call"
        ),
        "25006" => format!(
            "{at} is read-only (SQLSTATE 25006, a standby) while {what}: point the URL at the primary"
        ),
        _ => format!(
            "{at} failed while {what}: server error {code} ({})",
            one_line(message)
        ),
    };
    StoreError::Unavailable(sentence)
}

/// The error and its causes, as one text.
fn chain(err: &tokio_postgres::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pooler_refusing_the_session_and_statement_problems_are_explained_with_the_sqlstate() {
        let refused = server_error(
            "08P01",
            "unsupported startup parameter: options",
            "postgres://u:***@pool:6432/db",
            "reading a tenant",
        )
        .to_string();
        assert!(
            refused.contains("08P01") && refused.contains("pooler"),
            "{refused}"
        );
        assert!(
            refused.contains("unsupported startup parameter"),
            "{refused}"
        );
        let prepared = server_error(
            "42P05",
            "prepared statement \"s1\" already exists",
            "db",
            "storing a tenant",
        )
        .to_string();
        assert!(
            prepared.contains("42P05") && prepared.contains("transaction pooling"),
            "{prepared}"
        );
        let password =
            server_error("28P01", "password authentication failed", "db", "x").to_string();
        assert!(password.contains("user and password"), "{password}");
    }

    #[test]
    fn a_refused_connection_is_never_given_a_tls_hint() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = io_error(&io, "postgres://db:5432/x", "checking that it answers").to_string();
        assert!(text.contains("refused the connection"), "{text}");
        assert!(!text.to_lowercase().contains("tls"), "{text}");
    }
}
