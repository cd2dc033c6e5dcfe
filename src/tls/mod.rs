//! TLS for every outgoing connection (stores, blogs, HipChat hosts), with
//! rustls and the ring provider, no OpenSSL, trusting certificates the way
//! Node's TLS does:
//!
//! - by default the system's roots, and the host name;
//! - a `ca` file replaces them: its certificates are the only trust
//!   anchors, and a server presenting exactly one of them is accepted even
//!   when it is a self-signed certificate marked as a CA (what `openssl req
//!   -x509` makes, and how most people pin a self-hosted Redis or
//!   PostgreSQL; webpki alone refuses that as "CA used as end entity");
//! - `rejectUnauthorized: false` encrypts without checking who answers.
//!
//! [`problems`] turns a refused certificate into a sentence with the fix
//! that applies to what was configured.

mod problems;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use problems::{Advice, Configured, certificate_problem, explain_certificate_problem};

/// Installs ring as the process-wide rustls crypto provider. Call before
/// building any `reqwest::Client`; calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Which certificates a connection trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The system's roots.
    System,
    /// Only the certificates in this PEM file (CAs, or the server's own).
    File(PathBuf),
    /// None: encrypted, but any server can answer (`rejectUnauthorized: false`).
    Insecure,
}

impl Trust {
    /// What was configured, for messages.
    pub fn configured(&self) -> Configured {
        match self {
            Trust::System => Configured::SystemRoots,
            Trust::File(path) => Configured::CaFile(path.clone()),
            Trust::Insecure => Configured::Unverified,
        }
    }
}

/// A refused TLS set-up: the CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The file cannot be read.
    #[error("cannot read the CA file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds no certificate.
    #[error(
        "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the server's certificate or the CA that signed it",
        path.display()
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A certificate in it is not one rustls can use.
    #[error("the CA file {} holds a certificate that cannot be used: {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What rustls said, in words.
        reason: String,
    },
}

/// Reads every certificate of a PEM file.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let pem = std::fs::read(path).map_err(|source| SetupError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(SetupError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// A client configuration trusting `trust`; `check_name` is false only for
/// PostgreSQL's `sslmode=verify-ca` (the chain, not the name).
pub fn client_config(trust: &Trust, check_name: bool) -> Result<ClientConfig, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = verifier(trust, check_name, provider.clone())?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Unusable {
            path: PathBuf::new(),
            reason: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// The certificate verifier for `trust`.
fn verifier(
    trust: &Trust,
    check_name: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, SetupError> {
    Ok(match trust {
        Trust::Insecure => Arc::new(verify::Unverified::new(provider)),
        Trust::System => Arc::new(verify::Pinning::new(
            system_roots(),
            Vec::new(),
            provider,
            check_name,
        )),
        Trust::File(path) => {
            let certs = read_certificates(path)?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in &certs {
                // A certificate webpki cannot take as an anchor may still
                // be pinned (matched byte for byte).
                let _ = roots.add(cert.clone());
            }
            if roots.is_empty() {
                return Err(SetupError::Unusable {
                    path: path.clone(),
                    reason: "none of its certificates is a usable trust anchor".into(),
                });
            }
            Arc::new(verify::Pinning::new(roots, certs, provider, check_name))
        }
    })
}

/// The system's roots (`/etc/ssl/certs` and friends); empty when none load.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    for cert in loaded.certs {
        let _ = roots.add(cert);
    }
    roots
}

#[cfg(test)]
mod tests;
