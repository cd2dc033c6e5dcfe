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
        current = e.source();
    }
    None
}

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
    Some(
        match cert {
            CertificateError::UnknownIssuer => {
                "it is self-signed or signed by a CA this machine does not trust"
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "it was issued for another host name"
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired",
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (check this machine's clock)"
            }
            CertificateError::Revoked => "it has been revoked",
            CertificateError::BadSignature => "its signature does not verify",
            CertificateError::BadEncoding => "it cannot be decoded",
            _ => return Some(err.to_string()),
        }
        .to_string(),
    )
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
    fn other_errors_are_not_certificate_problems() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&io), None);
        let handshake = std::io::Error::other(rustls::Error::HandshakeNotComplete);
        assert_eq!(certificate_problem(&handshake), None);
    }
}
