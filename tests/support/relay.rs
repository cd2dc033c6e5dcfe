//! A TCP relay on a free loopback port standing for a stable name in front
//! of a server that can change (a failover behind a DNS name): new
//! connections go to the current target; open ones stay where they were.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

/// A running relay (stopped when dropped).
pub struct Relay {
    port: u16,
    target: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Relays to 127.0.0.1:`target`.
    pub async fn start(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let target = Arc::new(AtomicU16::new(target));
        let to = target.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let port = to.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay { port, target, task }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends new connections to 127.0.0.1:`target` from now on.
    pub fn point_at(&self, target: u16) {
        self.target.store(target, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
