//! TLS set-up for outgoing HTTPS (reqwest over rustls with the ring provider,
//! no OpenSSL).

/// Installs ring as the process-wide rustls crypto provider. Call before
/// building any `reqwest::Client`; calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
