//! Runs an axum router on a free loopback port in a thread of its own (so
//! it keeps answering whatever the test's runtime does); stopped on drop.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A router served on 127.0.0.1 until dropped.
pub struct Double {
    addr: SocketAddr,
    https: bool,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Double {
    /// Serves `router` on a free port.
    pub fn spawn(router: axum::Router) -> Double {
        Double::spawn_with(router, None)
    }

    /// Serves `router` over TLS with the certificate and key of `certs`.
    pub fn spawn_tls(router: axum::Router, certs: &crate::support::tls::TestCerts) -> Double {
        use rustls::pki_types::pem::PemObject;
        let chain = rustls::pki_types::CertificateDer::pem_file_iter(certs.cert())
            .expect("the certificate file")
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM certificates");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(certs.key()).expect("the key");
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a server certificate");
        Double::spawn_with(router, Some(std::sync::Arc::new(config)))
    }

    fn spawn_with(
        router: axum::Router,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> Double {
        let https = tls.is_some();
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for a double");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("double address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("double runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                match tls {
                    None => {
                        let _ = axum::serve(listener, router)
                            .with_graceful_shutdown(async move {
                                let _ = stopped.await;
                            })
                            .await;
                    }
                    Some(config) => serve_tls(listener, router, config, stopped).await,
                }
            });
            runtime.shutdown_background();
        });
        Double {
            addr,
            https,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

// Each connection: the TLS handshake, then hyper serving the router.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: std::sync::Arc<rustls::ServerConfig>,
    stopped: oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(stopped);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A client that refuses our certificate ends the handshake.
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
