//! Whether each installed add-on answers, for the page's "down" mark.
//!
//! Known from what happens anyway (an exchange that got no answer, or a
//! 5xx, marks it down; any answer marks it up) and, while a page is open,
//! from a TCP connection to its address every few seconds: a connection
//! only, no HTTP request, so nothing shows in the add-on's own log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::hipchat::host::{Host, Installation};

/// How often open pages get the add-ons checked.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// How long a connection may take before the add-on counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One add-on's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reachability {
    /// Whether it answered last time.
    pub up: bool,
    /// Why not.
    pub reason: Option<String>,
}

/// Reachability of every installation, shared by the forwarding origin,
/// the probe and the control API.
#[derive(Clone)]
pub struct Health {
    states: Arc<Mutex<HashMap<String, Reachability>>>,
    changes: broadcast::Sender<(String, Reachability)>,
}

impl Default for Health {
    fn default() -> Self {
        let (changes, _) = broadcast::channel(64);
        Health {
            states: Arc::default(),
            changes,
        }
    }
}

impl Health {
    fn set(&self, oauth_id: &str, state: Reachability) {
        let changed = {
            let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
            states.insert(oauth_id.to_owned(), state.clone()) != Some(state.clone())
        };
        if changed {
            let _ = self.changes.send((oauth_id.to_owned(), state));
        }
    }

    /// It did not answer, or answered with a server error.
    pub fn failed(&self, installation: Option<&Installation>, reason: &str) {
        if let Some(i) = installation {
            self.set(
                &i.oauth_id,
                Reachability {
                    up: false,
                    reason: Some(reason.to_owned()),
                },
            );
        }
    }

    /// It answered.
    pub fn answered(&self, installation: Option<&Installation>) {
        if let Some(i) = installation {
            self.set(
                &i.oauth_id,
                Reachability {
                    up: true,
                    reason: None,
                },
            );
        }
    }

    /// An installation's state (up until known otherwise).
    pub fn of(&self, oauth_id: &str) -> Reachability {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(oauth_id)
            .cloned()
            .unwrap_or(Reachability {
                up: true,
                reason: None,
            })
    }

    /// Changes as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<(String, Reachability)> {
        self.changes.subscribe()
    }

    /// Follows the host's exchanges: a call that got no answer or a 5xx
    /// marks its add-on down, any other answer up.
    pub async fn follow(self, host: Host, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut events = host.subscribe();
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            match event {
                Ok(crate::hipchat::host::HostEvent::Exchange { exchange }) => {
                    if exchange.direction != crate::hipchat::host::Direction::ToAddOn {
                        continue;
                    }
                    let Some(id) = exchange.oauth_id.as_deref() else {
                        continue;
                    };
                    match exchange.status {
                        None => self.set(
                            id,
                            Reachability {
                                up: false,
                                reason: exchange.error.clone(),
                            },
                        ),
                        Some(s) if s >= 500 => self.set(
                            id,
                            Reachability {
                                up: false,
                                reason: Some(format!("answered HTTP {s}")),
                            },
                        ),
                        Some(_) => self.set(
                            id,
                            Reachability {
                                up: true,
                                reason: None,
                            },
                        ),
                    }
                }
                Ok(crate::hipchat::host::HostEvent::Uninstalled { oauth_id, .. }) => {
                    self.states
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&oauth_id);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// While `watching()` says a page is open, connects to each add-on's
    /// callback address every few seconds.
    pub async fn probe(
        self,
        host: Host,
        watching: impl Fn() -> bool + Send + 'static,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(PROBE_EVERY) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            if !watching() {
                continue;
            }
            for installation in host.installations() {
                let Some(addr) = address_of(&installation.callback_url) else {
                    continue;
                };
                let connected =
                    tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&addr))
                        .await;
                match connected {
                    Ok(Ok(_)) => {
                        // A connection says the process is there; keep a
                        // server error seen on a real call until one succeeds.
                        let current = self.of(&installation.oauth_id);
                        let refused = current.reason.as_deref().is_some_and(|r| {
                            r.contains("refused")
                                || r.contains("does not answer")
                                || r.contains("timed out")
                        });
                        if !current.up && refused {
                            self.answered(Some(&installation));
                        }
                    }
                    Ok(Err(e)) => self.failed(Some(&installation), &format!("{addr}: {e}")),
                    Err(_) => self.failed(
                        Some(&installation),
                        &format!("{addr}: no connection within 2 s"),
                    ),
                }
            }
        }
    }
}

/// `host:port` of a URL.
fn address_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let port = url.port_or_known_default()?;
    // An IPv6 host displays in brackets already.
    Some(format!("{}:{port}", url.host()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_callback_urls() {
        assert_eq!(
            address_of("http://127.0.0.1:3000/installable").as_deref(),
            Some("127.0.0.1:3000")
        );
        assert_eq!(
            address_of("https://addon.example/installable").as_deref(),
            Some("addon.example:443")
        );
        assert_eq!(
            address_of("http://[::1]:3000/i").as_deref(),
            Some("[::1]:3000")
        );
    }
}
