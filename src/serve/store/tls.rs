//! Telling a TLS certificate failure apart from other connection errors,
//! in words a person can act on.

use std::error::Error;

use rustls::CertificateError;

/// What is wrong with the server's certificate, if `err` (or anything in
/// its chain of causes) is a certificate verification failure.
pub(crate) fn certificate_problem(err: &(dyn Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = as_rustls(e) {
            return describe(tls);
        }
        // Some clients keep rustls's error where `source()` cannot reach it
        // (redis wraps the io::Error in an Arc); its text still names it.
        if let Some(rest) = e.to_string().split(INVALID_CERTIFICATE).nth(1) {
            return Some(describe_name(rest.trim()));
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

fn describe(err: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return None;
    };
    Some(match cert {
        CertificateError::UnknownIssuer => UNKNOWN_ISSUER.into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            OTHER_NAME.into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => EXPIRED.into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            NOT_YET.into()
        }
        CertificateError::Revoked => REVOKED.into(),
        CertificateError::BadSignature => BAD_SIGNATURE.into(),
        _ => err.to_string(),
    })
}

// `"127.0.0.1"; certificate is only valid for DnsName("cache.example")`
// -> `it was issued for cache.example, not 127.0.0.1`.
fn other_name(detail: &str) -> String {
    let quoted = regex::Regex::new(r#""([^"]*)""#).expect("a valid pattern");
    let mut names = quoted.captures_iter(detail).map(|c| c[1].to_string());
    let Some(expected) = names.next() else {
        return OTHER_NAME.into();
    };
    let presented: Vec<String> = names.collect();
    if presented.is_empty() {
        format!("{OTHER_NAME}, not for {expected}")
    } else {
        format!(
            "it was issued for {}, not for {expected}",
            presented.join(" or ")
        )
    }
}

const UNKNOWN_ISSUER: &str = "it is self-signed or signed by a CA this machine does not trust";
const OTHER_NAME: &str = "it was issued for another host name";
const EXPIRED: &str = "it has expired";
const NOT_YET: &str = "it is not valid yet (check this machine's clock)";
const REVOKED: &str = "it has been revoked";
const BAD_SIGNATURE: &str = "its signature does not verify";

// The same descriptions from rustls's text: a variant's name
// (`UnknownIssuer`) or, for the variants with details, their sentence.
fn describe_name(rest: &str) -> String {
    if let Some(detail) = rest.strip_prefix("certificate not valid for name ") {
        return other_name(detail);
    }
    if rest.starts_with("certificate expired") {
        return EXPIRED.into();
    }
    if rest.starts_with("certificate not valid yet") {
        return NOT_YET.into();
    }
    let name: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    match name.as_str() {
        "UnknownIssuer" => UNKNOWN_ISSUER.into(),
        "NotValidForName" | "NotValidForNameContext" => OTHER_NAME.into(),
        "Expired" | "ExpiredContext" => EXPIRED.into(),
        "NotValidYet" | "NotValidYetContext" => NOT_YET.into(),
        "Revoked" => REVOKED.into(),
        "BadSignature" => BAD_SIGNATURE.into(),
        _ => format!("{INVALID_CERTIFICATE}{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn other_errors_are_not_certificate_problems() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&io), None);
        let handshake = std::io::Error::other(rustls::Error::HandshakeNotComplete);
        assert_eq!(certificate_problem(&handshake), None);
    }
}
