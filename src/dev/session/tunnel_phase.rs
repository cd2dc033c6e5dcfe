//! The tunnel's side of the dev loop: starting ngrok, reading its URL,
//! explaining its failures, and starting it again with backoff while the
//! add-on keeps serving locally.

use std::time::{Duration, Instant};

use super::{Phase, Session};
use crate::dev::tunnel::{Tunnel, TunnelEvent, errors};

/// The first and the longest pause between ngrok restarts.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));
/// How many recent ngrok lines are kept to explain a failure.
const KEPT_LINES: usize = 5;

impl Session {
    pub(super) fn start_tunnel(&mut self, first: bool) -> anyhow::Result<()> {
        let Some(tunnel) = self.tunnel.as_mut() else {
            return Ok(());
        };
        self.last_lines.clear();
        self.last_code = None;
        self.attempts += 1;
        match tunnel.spawn() {
            Ok(_) => {
                self.phase = Phase::Waiting {
                    until: Instant::now() + self.s.tunnel_timeout,
                    first,
                };
                let message = format!("starting ngrok for port {}", self.port);
                if self.status.is_terminal() {
                    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
                    bar.enable_steady_tick(Duration::from_millis(100));
                    self.spinner = Some(bar);
                } else {
                    self.status.info(&message);
                }
                Ok(())
            }
            Err(e) if first => Err(anyhow::anyhow!(
                "cannot start ngrok: {e}; {}",
                errors::INSTALL_HELP
            )),
            Err(e) => {
                self.status.warn(&format!("cannot start ngrok: {e}"));
                self.back_off();
                Ok(())
            }
        }
    }

    pub(super) fn finish_spinner(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }

    pub(super) fn back_off(&mut self) {
        let exp = self.attempts.saturating_sub(1).min(5);
        let pause = (BACKOFF.0 * 2u32.pow(exp)).min(BACKOFF.1);
        self.status.warn(&format!(
            "still serving locally at {}; starting ngrok again in {} s",
            self.local_url,
            pause.as_secs()
        ));
        self.phase = Phase::Backoff {
            until: Instant::now() + pause,
        };
    }

    pub(super) async fn on_tunnel(&mut self, event: TunnelEvent) -> anyhow::Result<()> {
        let first = matches!(self.phase, Phase::Waiting { first: true, .. });
        match event {
            TunnelEvent::Line(info, raw) => {
                if self.last_lines.len() == KEPT_LINES {
                    self.last_lines.pop_front();
                }
                self.last_lines.push_back(raw);
                if let (Some(addr), Some(t)) = (&info.web_addr, &self.tunnel) {
                    t.set_web_addr(addr);
                }
                if let Some(url) = info.url {
                    self.on_url(url).await;
                }
                if let Some(code) = info.code.filter(|c| self.last_code != Some(*c)) {
                    self.last_code = Some(code);
                    if first && errors::is_fatal(code) {
                        self.finish_spinner();
                        return Err(anyhow::anyhow!(errors::explain(code)));
                    }
                    self.status
                        .warn(&format!("ngrok: {}", errors::explain(code)));
                }
            }
            TunnelEvent::ApiUrl(url) => self.on_url(url).await,
            TunnelEvent::Exited(how) => {
                self.finish_spinner();
                if first {
                    return Err(anyhow::anyhow!(
                        self.failure(&format!("ngrok {how} before reporting a public URL"))
                    ));
                }
                self.status
                    .warn(&format!("ngrok {how}; the public URL is gone"));
                if matches!(self.phase, Phase::Up { since, .. } if since.elapsed() > Duration::from_secs(60))
                {
                    self.attempts = 1;
                }
                if let Some(t) = self.tunnel.as_mut() {
                    t.stop().await;
                }
                self.back_off();
            }
        }
        Ok(())
    }

    pub(super) async fn on_url(&mut self, url: String) {
        let url = url.trim_end_matches('/').to_string();
        let first = match &self.phase {
            Phase::Waiting { first, .. } => *first,
            Phase::Up { url: current, .. } if *current == url => return,
            Phase::Up { .. } => false,
            _ => return,
        };
        self.finish_spinner();
        // Requests through the tunnel carry its host name.
        self.s.allowed_hosts.add(&url);
        self.phase = Phase::Up {
            url: url.clone(),
            since: Instant::now(),
        };
        let changed = self.announced.as_ref() != Some(&url);
        self.announced = Some(url.clone());
        if first {
            // The ready block (with the public URL) follows once it answers.
            self.start(None, Instant::now());
            return;
        }
        if changed && (self.current.is_some() || self.candidate.is_some()) {
            // The add-on announces its base URL (descriptor, links): it
            // must learn the new one.
            self.restart(format!("new public URL {url}"), Instant::now());
        } else {
            self.status.good(&format!("tunnel back at {url}"));
        }
        if self.announced_ready {
            self.ready_block(Some(&url));
        }
    }

    pub(super) async fn on_deadline(&mut self) -> anyhow::Result<()> {
        match self.phase {
            Phase::Waiting { first, .. } => {
                self.finish_spinner();
                let message = self.failure(&format!(
                    "ngrok reported no public URL within {} s (offline? ngrok retries forever)",
                    self.s.tunnel_timeout.as_secs()
                ));
                if let Some(t) = self.tunnel.as_mut() {
                    t.stop().await;
                }
                if first {
                    return Err(anyhow::anyhow!(
                        "{message}; check the network, or raise --tunnel-timeout"
                    ));
                }
                self.status.warn(&message);
                self.back_off();
            }
            Phase::Backoff { .. } => self.start_tunnel(false)?,
            _ => {}
        }
        Ok(())
    }

    /// A failure message with the explanation of the last error code, or
    /// ngrok's last lines.
    pub(super) fn failure(&self, what: &str) -> String {
        match self.last_code {
            Some(code) => format!("{what}: {}", errors::explain(code)),
            None if self.last_lines.is_empty() => what.to_string(),
            None => format!(
                "{what}; its last output:\n  {}",
                self.last_lines
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
        }
    }
}

/// The next event of the tunnel, if there is one.
pub(super) async fn next_event(tunnel: &mut Option<Tunnel>) -> TunnelEvent {
    match tunnel {
        Some(t) => t.next().await,
        None => std::future::pending().await,
    }
}
