//! Telling a TLS certificate failure apart from other connection errors,
//! in words a person can act on, with the fix that applies to what was
//! configured (never rustls's debug text).

use std::error::Error;
use std::path::PathBuf;

use rustls::{CertificateError, OtherError};

/// How certificates were to be checked, for the advice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Configured {
    /// Against the system's roots.
    SystemRoots,
    /// Against the certificates of this file only.
    CaFile(PathBuf),
    /// Not at all.
    Unverified,
}

/// What is wrong with a server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Self-signed, or signed by a CA not trusted here.
    UnknownIssuer,
    /// A CA's certificate presented as the server's own, not the one trusted.
    CaAsServer,
    /// Issued for another host name.
    OtherName,
    /// Past its end date.
    Expired,
    /// Before its start date.
    NotYetValid,
    /// Revoked by its CA.
    Revoked,
    /// Its signature does not verify.
    BadSignature,
    /// Anything else webpki objects to.
    Other,
}

impl Problem {
    fn words(self) -> &'static str {
        match self {
            Problem::UnknownIssuer => {
                "it is self-signed or signed by a CA that is not trusted here"
            }
            Problem::CaAsServer => {
                "it is a CA certificate (basic constraints CA:TRUE) presented as the server's own"
            }
            Problem::OtherName => "it was issued for another host name",
            Problem::Expired => "it has expired",
            Problem::NotYetValid => "it is not valid yet (check this machine's clock)",
            Problem::Revoked => "it has been revoked",
            Problem::BadSignature => "its signature does not verify",
            Problem::Other => "webpki refuses it",
        }
    }
}

/// What is wrong with the server's certificate, in words, if `err` (or
/// anything in its chain of causes) is a certificate verification failure.
pub fn certificate_problem(err: &(dyn Error + 'static)) -> Option<String> {
    find(err).map(|(problem, detail)| match (problem, detail) {
        (Problem::OtherName, Some(detail)) => detail,
        (problem, _) => problem.words().to_owned(),
    })
}

/// Where the advice points: whose `tls` settings (`the store's `), and
/// how this client skips verification (`set "tls": {"rejectUnauthorized":
/// false} or end the URL with #insecure`).
#[derive(Clone, Copy, Debug)]
pub struct Advice<'a> {
    /// Whose settings, e.g. `the store's `.
    pub settings: &'a str,
    /// How to accept the certificate unverified.
    pub unverified: &'a str,
}

/// The whole sentence for a refused certificate of `server` (`Redis at
/// rediss://cache:6380`): what is wrong, and the fix for what was
/// configured.
pub fn explain_certificate_problem(
    err: &(dyn Error + 'static),
    server: &str,
    configured: &Configured,
    advice: Advice<'_>,
) -> Option<String> {
    let Advice {
        settings,
        unverified,
    } = advice;
    let (problem, detail) = find(err)?;
    let what = match (problem, &detail) {
        (Problem::OtherName, Some(detail)) => detail.clone(),
        _ => problem.words().to_owned(),
    };
    let fix = match (problem, configured) {
        (Problem::UnknownIssuer | Problem::CaAsServer, Configured::CaFile(path)) => format!(
            "{} holds neither that certificate nor the CA that signed it: check that it is the right file (for a self-signed server, its own certificate)",
            path.display()
        ),
        (Problem::UnknownIssuer | Problem::CaAsServer, _) => format!(
            "to trust it, give the CA that signed it, or the server's own certificate if it is self-signed, as {settings}\"tls\": {{\"ca\": \"path/to/cert.pem\"}}; to accept it unverified (Heroku Redis, for one, uses self-signed certificates), {unverified}"
        ),
        (Problem::OtherName, _) => {
            "connect by the name it was issued for, or issue it for this name too (a subjectAltName)".to_owned()
        }
        (Problem::Expired, _) => "renew the server's certificate".to_owned(),
        (Problem::NotYetValid, _) => {
            "check the clock of this machine and of the server".to_owned()
        }
        (Problem::Revoked | Problem::BadSignature | Problem::Other, _) => {
            "have the server present a valid certificate".to_owned()
        }
    };
    Some(format!(
        "{server} presented a TLS certificate that does not verify ({what}); {fix}"
    ))
}

/// The problem and, for a wrong name, its sentence.
fn find(err: &(dyn Error + 'static)) -> Option<(Problem, Option<String>)> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = as_rustls(e) {
            return classify(tls);
        }
        // Some clients keep rustls's error where `source()` cannot reach it
        // (wrapped in an Arc); its text still names it.
        if let Some(rest) = e.to_string().split(INVALID_CERTIFICATE).nth(1) {
            return Some(classify_text(rest.trim()));
        }
        current = e.source();
    }
    None
}

// How rustls starts the text of `Error::InvalidCertificate`.
const INVALID_CERTIFICATE: &str = "invalid peer certificate: ";

fn as_rustls<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn classify(err: &rustls::Error) -> Option<(Problem, Option<String>)> {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return None;
    };
    Some(match cert {
        CertificateError::UnknownIssuer => (Problem::UnknownIssuer, None),
        CertificateError::NotValidForName => (Problem::OtherName, None),
        CertificateError::NotValidForNameContext { .. } => {
            let text = err.to_string();
            let detail = text
                .split(INVALID_CERTIFICATE)
                .nth(1)
                .and_then(|rest| rest.strip_prefix("certificate not valid for name "))
                .map(other_name);
            (Problem::OtherName, detail)
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            (Problem::Expired, None)
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            (Problem::NotYetValid, None)
        }
        CertificateError::Revoked => (Problem::Revoked, None),
        CertificateError::BadSignature => (Problem::BadSignature, None),
        CertificateError::Other(OtherError(inner))
            if inner.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity) =>
        {
            (Problem::CaAsServer, None)
        }
        _ => (Problem::Other, None),
    })
}

// `"127.0.0.1"; certificate is only valid for DnsName("cache.example") or
// IpAddress(10.0.0.1)` -> `it was issued for cache.example or 10.0.0.1,
// not for 127.0.0.1`.
fn other_name(detail: &str) -> String {
    let expected = detail.split('"').nth(1).filter(|e| !e.is_empty());
    let Some(expected) = expected else {
        return Problem::OtherName.words().into();
    };
    let presented: Vec<String> = detail
        .split_once("only valid for ")
        .map(|(_, names)| {
            names
                .split(" or ")
                .map(|n| {
                    let n = n.trim();
                    let inner = n
                        .split_once('(')
                        .map_or(n, |(_, rest)| rest.trim_end_matches(')'));
                    inner.trim_matches('"').to_owned()
                })
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if presented.is_empty() {
        format!("{}, not for {expected}", Problem::OtherName.words())
    } else {
        format!(
            "it was issued for {}, not for {expected}",
            presented.join(" or ")
        )
    }
}

// The same from rustls's text: a variant's name (`UnknownIssuer`) or, for
// the variants with details, their sentence.
fn classify_text(rest: &str) -> (Problem, Option<String>) {
    if let Some(detail) = rest.strip_prefix("certificate not valid for name ") {
        return (Problem::OtherName, Some(other_name(detail)));
    }
    if rest.starts_with("certificate expired") {
        return (Problem::Expired, None);
    }
    if rest.starts_with("certificate not valid yet") {
        return (Problem::NotYetValid, None);
    }
    if rest.contains("CaUsedAsEndEntity") {
        return (Problem::CaAsServer, None);
    }
    let name: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let problem = match name.as_str() {
        "UnknownIssuer" => Problem::UnknownIssuer,
        "NotValidForName" | "NotValidForNameContext" => Problem::OtherName,
        "Expired" | "ExpiredContext" => Problem::Expired,
        "NotValidYet" | "NotValidYetContext" => Problem::NotYetValid,
        "Revoked" => Problem::Revoked,
        "BadSignature" => Problem::BadSignature,
        _ => Problem::Other,
    };
    (problem, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADVICE: Advice<'static> = Advice {
        settings: "the store's ",
        unverified: "set \"tls\": {\"rejectUnauthorized\": false}",
    };

    #[test]
    fn finds_a_certificate_error_wrapped_in_an_io_error() {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let problem = certificate_problem(&io).expect("a certificate problem");
        assert!(problem.contains("self-signed"), "{problem}");
    }

    #[test]
    fn finds_it_in_the_text_of_an_error_that_hides_its_cause() {
        let hidden = std::io::Error::other(format!(
            "failed: {}",
            rustls::Error::InvalidCertificate(CertificateError::Expired)
        ));
        assert_eq!(
            certificate_problem(&hidden).as_deref(),
            Some("it has expired")
        );
        let name = std::io::Error::other(
            "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"cache.example\")",
        );
        assert_eq!(
            certificate_problem(&name).as_deref(),
            Some("it was issued for cache.example, not for 127.0.0.1")
        );
        let ca =
            std::io::Error::other("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))");
        assert!(certificate_problem(&ca).unwrap().contains("CA:TRUE"));
    }

    #[test]
    fn a_ca_used_as_the_servers_own_certificate_is_named_in_words() {
        let err = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            std::sync::Arc::new(webpki::Error::CaUsedAsEndEntity),
        )));
        let text = explain_certificate_problem(
            &err,
            "Redis at rediss://cache:6380",
            &Configured::CaFile("/etc/cert.pem".into()),
            ADVICE,
        )
        .unwrap();
        assert!(text.contains("CA:TRUE"), "{text}");
        assert!(text.contains("/etc/cert.pem holds neither"), "{text}");
        assert!(!text.contains("OtherError"), "no debug text: {text}");
    }

    #[test]
    fn the_fix_depends_on_what_was_configured() {
        let err = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let system = explain_certificate_problem(
            &err,
            "PostgreSQL at db:5432",
            &Configured::SystemRoots,
            ADVICE,
        )
        .unwrap();
        assert!(system.contains("\"ca\""), "{system}");
        assert!(system.contains("rejectUnauthorized"), "{system}");
        let file = explain_certificate_problem(
            &err,
            "PostgreSQL at db:5432",
            &Configured::CaFile("ca.pem".into()),
            ADVICE,
        )
        .unwrap();
        assert!(file.contains("ca.pem holds neither"), "{file}");
        assert!(!file.contains("rejectUnauthorized"), "{file}");
    }

    #[test]
    fn other_errors_are_not_certificate_problems() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&io), None);
        let handshake = std::io::Error::other(rustls::Error::HandshakeNotComplete);
        assert_eq!(certificate_problem(&handshake), None);
    }
}
