//! One multiplexed connection to Redis, opened on first use and again after
//! it breaks, over our own TCP and TLS (so certificates are trusted as
//! `crate::tls` says, and a failure is known by its cause: refused, reset,
//! timed out, TLS).
//!
//! redis-rs's connection manager cannot take a TLS configuration of ours,
//! so the reconnecting is done here: callers share the live connection;
//! the first to find it gone opens the next while the others wait
//! (bounded by the store's call timeout).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// How a connection attempt failed (the store puts it in words).
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connection (or the name lookup) failed.
    Io(std::io::Error),
    /// It took longer than the connect timeout.
    TimedOut,
    /// The TLS handshake failed.
    Tls(std::io::Error),
    /// Redis refused the session (AUTH, SELECT...).
    Redis(redis::RedisError),
}

/// Where and how to connect.
#[derive(Clone)]
pub struct Connector {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS, when the URL is `rediss://`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Credentials and database.
    pub info: RedisConnectionInfo,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// How long one command may take.
    pub response_timeout: Duration,
}

impl Connector {
    async fn open(&self) -> Result<MultiplexedConnection, ConnectError> {
        let connect = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(ConnectError::Io)?;
            let _ = tcp.set_nodelay(true);
            let config =
                AsyncConnectionConfig::new().set_response_timeout(Some(self.response_timeout));
            let connection = match &self.tls {
                None => {
                    let (connection, driver) =
                        MultiplexedConnection::new_with_config(&self.info, tcp, config)
                            .await
                            .map_err(ConnectError::Redis)?;
                    tokio::spawn(driver);
                    connection
                }
                Some(tls) => {
                    let name = ServerName::try_from(self.host.clone()).map_err(|e| {
                        ConnectError::Tls(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
                    })?;
                    let stream = tokio_rustls::TlsConnector::from(tls.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(ConnectError::Tls)?;
                    let (connection, driver) =
                        MultiplexedConnection::new_with_config(&self.info, stream, config)
                            .await
                            .map_err(ConnectError::Redis)?;
                    tokio::spawn(driver);
                    connection
                }
            };
            Ok(connection)
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| ConnectError::TimedOut)?
    }
}

/// The shared, reconnecting connection; clones share it.
#[derive(Clone)]
pub struct Reconnecting {
    connector: Arc<Connector>,
    current: Arc<Mutex<Current>>,
}

#[derive(Default)]
struct Current {
    /// Counts connections opened, so that a caller forgets only the one it
    /// saw fail, not a newer one another caller opened meanwhile.
    generation: u64,
    connection: Option<MultiplexedConnection>,
}

/// A connection handed out, with the generation it belongs to.
pub struct Lease {
    /// The connection (clones share it).
    pub connection: MultiplexedConnection,
    generation: u64,
}

impl Reconnecting {
    /// Another connection to the same server, on database `db`.
    pub fn on_database(&self, db: i64) -> Self {
        let mut connector = (*self.connector).clone();
        connector.info = connector.info.set_db(db);
        Reconnecting::lazy(connector)
    }

    /// The database this connection uses.
    pub fn database(&self) -> i64 {
        self.connector.info.db()
    }

    /// Nothing is opened until the first call.
    pub fn lazy(connector: Connector) -> Self {
        Reconnecting {
            connector: Arc::new(connector),
            current: Arc::default(),
        }
    }

    /// The live connection, opening one if there is none.
    pub async fn get(&self) -> Result<Lease, ConnectError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = &current.connection {
            return Ok(Lease {
                connection: connection.clone(),
                generation: current.generation,
            });
        }
        let connection = self.connector.open().await?;
        current.generation += 1;
        current.connection = Some(connection.clone());
        Ok(Lease {
            connection,
            generation: current.generation,
        })
    }

    /// Forgets the connection of `lease` (it broke, or answers READONLY
    /// after a failover) unless a newer one replaced it already: the next
    /// call opens a new one.
    pub async fn reset(&self, lease: &Lease) {
        let mut current = self.current.lock().await;
        if current.generation == lease.generation {
            current.connection = None;
        }
    }
}
