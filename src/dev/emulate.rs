//! `connect dev --emulate`: the HipChat emulator in-process beside the
//! add-on, with the add-on installed into room 1.
//!
//! After every (re)start of the add-on the session calls
//! [`DevEmulator::started`]; a background task then waits (bounded) for the
//! descriptor to answer and installs the add-on if the descriptor it serves
//! differs from the one last installed (the first start, an edited
//! `atlassian-connect.json`, a new tunnel URL). A changed descriptor is
//! applied to the installation in place (same credentials, no second install
//! call, so the add-on posts no second "installed" notice); only a changed
//! add-on key uninstalls and installs afresh. An add-on whose store may be
//! in memory (config.json says so, or names no store and the add-on is not
//! `connect serve`: atlassian-connect-express keeps installs in memory by
//! default) would forget its installs on every restart: it is sent the same
//! installation again after each one (and so may post its "installed"
//! notice again, as it would in HipChat).
//!
//! The descriptor is always fetched from the add-on's local URL. With
//! `--tunnel` the add-on announces its public URL in the descriptor, so
//! the emulator then sends the install and the webhooks through the tunnel,
//! as HipChat would; that works whenever the tunnel does.
//!
//! On exit the emulator simply stops: no uninstall is sent, so the add-on's
//! store keeps the last tenant (a few rows in `store.db`, never used again:
//! the next `connect dev --emulate` installs with new credentials).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::status::Status;
use crate::emulate::{Emulator, EmulatorOptions, RunningEmulator};
use crate::hipchat::host::Host;

/// The emulator's port when `--emulate-port` is not given (that of
/// `connect emulate`); a free one is used when it is taken.
pub const DEFAULT_PORT: u16 = 8080;
/// The room the add-on is installed into.
pub const ROOM: u64 = 1;
/// How long the add-on may take to serve its descriptor after a (re)start.
const READY_WAIT: Duration = Duration::from_secs(15);
/// How often the descriptor is polled while waiting.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long the emulator may take to stop on exit.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The emulator beside the add-on, and the task that installs it.
pub struct DevEmulator {
    running: RunningEmulator,
    starts: mpsc::UnboundedSender<String>,
    task: JoinHandle<()>,
}

impl DevEmulator {
    /// Binds the emulator on 127.0.0.1 (`port` `None`: [`DEFAULT_PORT`], or
    /// any free port when that is taken) and starts serving it on the
    /// current runtime; prints the chat URL.
    /// `forgets_installs`: the add-on's store may be in memory, so after
    /// each restart it is sent its installation again.
    pub async fn start(
        port: Option<u16>,
        status: Status,
        forgets_installs: bool,
        allowed_hosts: &[String],
        timeouts: crate::net::Timeouts,
    ) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let at = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let options = EmulatorOptions {
            allowed_hosts: allowed_hosts.to_vec(),
            timeouts,
            ..EmulatorOptions::default()
        };
        let emulator = match port {
            Some(port) => Emulator::bind(at(port), options).await.map_err(|e| {
                anyhow::anyhow!(
                    "--emulate-port {port}: the emulator cannot listen on 127.0.0.1:{port} ({}); choose another port, or 0 for any free one",
                    e.root_cause()
                )
            })?,
            None => match Emulator::bind(at(DEFAULT_PORT), options.clone()).await {
                Ok(emulator) => emulator,
                Err(_) => {
                    status.warn(&format!(
                        "port {DEFAULT_PORT} is taken; the emulator uses a free port instead (choose one with --emulate-port)"
                    ));
                    Emulator::bind(at(0), options)
                        .await
                        .context("cannot start the emulator")?
                }
            },
        };
        let running = emulator.spawn();
        status.good(&format!(
            "HipChat emulator: chat at {} (the add-on goes into room {ROOM})",
            running.chat_url()
        ));
        let (starts, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(install_loop(
            running.host().clone(),
            rx,
            status,
            forgets_installs,
        ));
        Ok(Self {
            running,
            starts,
            task,
        })
    }

    /// The chat page's URL.
    pub fn chat_url(&self) -> &str {
        self.running.chat_url()
    }

    /// The add-on was (re)started and serves its descriptor at
    /// `descriptor_url` (soon): install it when its descriptor changed.
    pub fn started(&self, descriptor_url: String) {
        // The task only ends when this value is dropped.
        let _ = self.starts.send(descriptor_url);
    }

    /// Stops installing and serving (without uninstalling the add-on).
    pub async fn stop(self) {
        self.task.abort();
        let _ = tokio::time::timeout(STOP_WAIT, self.running.stop()).await;
    }
}

/// The descriptor URL of an add-on served at `base_url` (pure).
pub fn descriptor_url(base_url: &str) -> String {
    format!("{}/atlassian-connect.json", base_url.trim_end_matches('/'))
}

/// Whether an add-on serving `served` must be (re)installed, given the
/// descriptor of the last successful install, if any (pure).
pub fn needs_install(last: Option<&(String, String)>, url: &str, served: &str) -> bool {
    last.is_none_or(|(u, body)| u != url || body != served)
}

async fn install_loop(
    host: Host,
    mut starts: mpsc::UnboundedReceiver<String>,
    status: Status,
    forgets_installs: bool,
) {
    // A fresh connection for every poll: a kept-alive one would reach the
    // add-on being replaced, which still serves the old descriptor.
    let client = match reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            status.error(&format!(
                "emulator: cannot make an HTTP client ({e}); the add-on is not installed"
            ));
            return;
        }
    };
    // The descriptor URL and body of the last successful install, and the
    // installation's oauthId.
    let mut last: Option<((String, String), String)> = None;
    while let Some(mut url) = starts.recv().await {
        // Only the latest start matters.
        while let Ok(newer) = starts.try_recv() {
            url = newer;
        }
        let Some(served) = wait_for_descriptor(&client, &url).await else {
            status.warn(&format!(
                "emulator: the add-on did not serve {url} within {} s; it is installed after its next restart",
                READY_WAIT.as_secs()
            ));
            continue;
        };
        if !needs_install(last.as_ref().map(|(d, _)| d), &url, &served) {
            if forgets_installs && let Some((_, oauth_id)) = &last {
                resend(&host, oauth_id, &status).await;
            }
            continue;
        }
        match crate::emulate::reinstall(&host, &url, Some(ROOM)).await {
            Ok(done) => {
                let install = done.installation();
                let updated = matches!(done, crate::emulate::Reinstalled::Updated(_));
                let line = if updated {
                    format!(
                        "emulator: updated {} ({}) in room {ROOM} from its changed descriptor{}",
                        install.name,
                        install.key,
                        if forgets_installs {
                            ""
                        } else {
                            " (same installation, no new install call)"
                        }
                    )
                } else {
                    format!(
                        "emulator: {} {} ({}) in room {ROOM}",
                        if last.is_some() {
                            "reinstalled"
                        } else {
                            "installed"
                        },
                        install.name,
                        install.key
                    )
                };
                status.good(&line);
                if updated && forgets_installs {
                    resend(&host, &install.oauth_id, &status).await;
                }
                last = Some(((url, served), install.oauth_id.clone()));
            }
            Err(e) => {
                last = None;
                status.error(&format!(
                    "emulator: cannot install the add-on: {e}; fix it and save (it is installed again after the restart)"
                ));
            }
        }
    }
}

/// Gives an add-on that may have forgotten its installs on restart (a store
/// in memory) its installation again, same credentials, and says so.
async fn resend(host: &Host, oauth_id: &str, status: &Status) {
    match host.resend_install(oauth_id).await {
        Ok(Some(install)) => status.good(&format!(
            "emulator: sent {} ({}) its installation in room {ROOM} again, in case the restart emptied its store",
            install.name, install.key
        )),
        Ok(None) => {}
        Err(e) => status.warn(&format!(
            "emulator: sending the add-on its installation again after the restart failed: {e} (harmless if its store kept it; otherwise signed calls to it fail until the next restart)"
        )),
    }
}

/// The descriptor's body once the add-on serves it with a 2xx, or `None`
/// after [`READY_WAIT`].
async fn wait_for_descriptor(client: &reqwest::Client, url: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
            && let Ok(body) = response.text().await
        {
            return Some(body);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_is_at_the_root_of_the_base_url() {
        assert_eq!(
            descriptor_url("http://localhost:3000/addon"),
            "http://localhost:3000/addon/atlassian-connect.json"
        );
        assert_eq!(
            descriptor_url("http://localhost:3000/"),
            "http://localhost:3000/atlassian-connect.json"
        );
    }

    #[test]
    fn installs_first_then_only_when_the_served_descriptor_changes() {
        let url = "http://localhost:3000/atlassian-connect.json";
        assert!(needs_install(None, url, "{}"));
        let last = (url.to_string(), "{\"a\":1}".to_string());
        assert!(!needs_install(Some(&last), url, "{\"a\":1}"));
        assert!(needs_install(Some(&last), url, "{\"a\":2}"));
        assert!(needs_install(
            Some(&last),
            "http://localhost:4000/atlassian-connect.json",
            "{\"a\":1}"
        ));
    }
}
