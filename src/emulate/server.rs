//! The emulator as a server: the host double's API, the control API and the
//! page on one listener. [`Emulator`] is also what `connect dev --emulate`
//! runs in-process.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::EmulateArgs;
use crate::hipchat::host::Room;
use crate::hipchat::host::{Host, HostOptions, InstallError, Installation, RateLimits};

/// State shared by the control API, the event stream and the page.
#[derive(Clone)]
pub struct AppState {
    /// The host double.
    pub host: Host,
    /// The page's URL, with a trailing slash.
    pub chat_url: String,
    /// Flips to true when the emulator stops (ends event streams).
    pub shutdown: watch::Receiver<bool>,
    /// The forwarding origins of add-on pages.
    pub origins: super::forward::Origins,
    /// The client that forwards page requests (no redirects followed, no
    /// connection reuse: `connect dev` may replace the add-on any time).
    pub page_client: reqwest::Client,
    /// Whether each add-on answers.
    pub health: super::health::Health,
    /// Open event streams (pages watching).
    pub watchers: Arc<AtomicUsize>,
    /// What became of each typed message, for pages reloaded later.
    pub deliveries: Arc<Mutex<super::history::Deliveries>>,
    /// The host names answered besides IP addresses and localhost.
    pub hosts: crate::net::AllowedHosts,
}

/// What the emulator is started with.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// Room names, numbered from 1; empty means one room, "Development".
    pub rooms: Vec<String>,
    /// The URL add-ons reach the emulator at, when not `http://HOST:PORT`.
    pub public_url: Option<url::Url>,
    /// The REST API's rate limits.
    pub limits: RateLimits,
    /// Lean capabilities documents and token answers (see
    /// [`HostOptions::lean_documents`]).
    pub lean_documents: bool,
    /// Host names answered besides IP addresses, localhost and the public
    /// URL's host (`--allow-host`).
    pub allowed_hosts: Vec<String>,
    /// Time limits on slow clients.
    pub timeouts: crate::net::Timeouts,
}

impl EmulatorOptions {
    /// Validates the command line once.
    pub fn from_args(args: &EmulateArgs) -> anyhow::Result<Self> {
        if let Some(url) = &args.public_url
            && (!matches!(url.scheme(), "http" | "https") || url.host().is_none())
        {
            return Err(crate::error::usage(format!(
                "--public-url {url} is not an http(s) URL; give the URL add-ons reach the emulator at, e.g. http://host.docker.internal:8080"
            )));
        }
        if let Some(blank) = args.rooms.iter().find(|r| r.trim().is_empty()) {
            return Err(crate::error::usage(format!(
                "--room {blank:?} is blank; give each room a name"
            )));
        }
        for (flag, value) in [
            ("--requests-per-token", args.requests_per_token),
            ("--messages-per-room", args.messages_per_room),
        ] {
            if value == 0 {
                return Err(crate::error::usage(format!(
                    "{flag} 0 would refuse every call; give at least 1"
                )));
            }
        }
        crate::net::AllowedHosts::new(&args.allow_hosts)
            .map_err(|e| crate::error::usage(format!("--allow-host: {e}")))?;
        Ok(EmulatorOptions {
            allowed_hosts: args.allow_hosts.clone(),
            timeouts: args.timeouts.timeouts(),
            rooms: args.rooms.iter().map(|r| r.trim().to_owned()).collect(),
            public_url: args.public_url.clone(),
            limits: RateLimits {
                requests_per_token: args.requests_per_token,
                messages_per_room: args.messages_per_room,
                ..RateLimits::default()
            },
            lean_documents: args.lean_documents,
        })
    }

    /// The rooms to create, numbered from 1.
    pub fn initial_rooms(&self) -> Vec<Room> {
        let names = if self.rooms.is_empty() {
            vec!["Development".to_owned()]
        } else {
            self.rooms.clone()
        };
        (1..)
            .zip(names)
            .map(|(id, name)| Room { id, name })
            .collect()
    }
}

/// The URL a browser or add-on on this machine uses for a listener on
/// `addr`: an unspecified address becomes loopback.
pub fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// How long requests in flight (long polls, event streams) may take to end
/// once the emulator stops.
const STOP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// A bound, not yet serving emulator.
pub struct Emulator {
    listener: TcpListener,
    state: AppState,
    timeouts: crate::net::Timeouts,
    shutdown: watch::Sender<bool>,
}

impl Emulator {
    /// Binds `addr` (port 0 picks one) and sets up the host double.
    pub async fn bind(addr: SocketAddr, options: EmulatorOptions) -> anyhow::Result<Emulator> {
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr}; pick another port with --port (0 picks a free one)")
        })?;
        let local = listener.local_addr()?;
        let chat_url = match &options.public_url {
            Some(url) => format!("{}/", url.as_str().trim_end_matches('/')),
            None => local_url(local),
        };
        let mut names = options.allowed_hosts.clone();
        names.extend(
            options
                .public_url
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned)),
        );
        let hosts = crate::net::AllowedHosts::new(&names)
            .map_err(|e| crate::error::usage(format!("--allow-host: {e}")))?;
        let host = Host::new(HostOptions {
            rooms: options.initial_rooms(),
            public_base_url: Some(chat_url.trim_end_matches('/').to_owned()),
            limits: options.limits,
            lean_documents: options.lean_documents,
            ..HostOptions::default()
        })
        .context("cannot set up the HipChat host double")?;
        let (shutdown, stopping) = watch::channel(false);
        let page_client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .context("cannot set up the HTTP client for add-on pages")?;
        Ok(Emulator {
            listener,
            state: AppState {
                host,
                chat_url,
                shutdown: stopping,
                origins: super::forward::Origins::default(),
                page_client,
                health: super::health::Health::default(),
                watchers: Arc::new(AtomicUsize::new(0)),
                deliveries: Arc::default(),
                hosts,
            },
            timeouts: options.timeouts,
            shutdown,
        })
    }

    /// The chat page's URL (with a trailing slash).
    pub fn chat_url(&self) -> &str {
        &self.state.chat_url
    }

    /// The capabilities document's URL (an install's `capabilitiesUrl`).
    pub fn capabilities_url(&self) -> String {
        format!("{}v2/capabilities", self.state.chat_url)
    }

    /// The host double, for in-process callers (install, post messages).
    pub fn host(&self) -> &Host {
        &self.state.host
    }

    /// Every route: the host's `/v2/...`, the control API, the page and
    /// HipChat's JavaScript API; requests to an add-on's forwarding origin
    /// (`*.localhost`) go to the add-on.
    ///
    /// Every request passes the guard first: its `Host` must be one the
    /// emulator answers (DNS rebinding), and a state change must come from
    /// no page of another origin, with a JSON body (the token endpoint
    /// takes its OAuth2 form). Requests to a forwarding origin are the
    /// add-on's to judge beyond their `Host`.
    pub fn router(&self) -> axum::Router {
        use axum::middleware::{from_fn, from_fn_with_state};
        let guard = crate::net::Guard::with_checks(
            crate::net::Policy {
                server: "connect emulate",
                hosts: self.state.hosts.clone(),
                how_to_allow: "--allow-host NAME".into(),
            },
            |_, path, host| {
                let forwarded = host.and_then(super::forward::slug_of_host).is_some();
                crate::net::Checks {
                    origin: !forwarded,
                    json: !forwarded && path != "/v2/oauth/token",
                }
            },
        );
        let limits = crate::net::body::BodyLimits {
            max_bytes: super::forward::REQUEST_LIMIT,
            timeout: self.timeouts.body,
        };
        self.state
            .host
            .router()
            .merge(super::control::routes().with_state(self.state.clone()))
            .merge(super::ui::routes().with_state(self.state.clone()))
            .merge(super::web::routes())
            .layer(from_fn(super::web::never_framed))
            .layer(from_fn_with_state(
                self.state.clone(),
                super::forward::route_by_host,
            ))
            .layer(from_fn_with_state(limits, crate::net::body::bounded))
            .layer(from_fn_with_state(guard, crate::net::guarded))
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn serve_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        tokio::spawn(super::events::log_events(
            self.state.host.subscribe(),
            self.state.shutdown.clone(),
        ));
        tokio::spawn(
            self.state
                .health
                .clone()
                .follow(self.state.host.clone(), self.state.shutdown.clone()),
        );
        let watchers = self.state.watchers.clone();
        tokio::spawn(self.state.health.clone().probe(
            self.state.host.clone(),
            move || watchers.load(Ordering::Relaxed) > 0,
            self.state.shutdown.clone(),
        ));
        let shutdown = self.shutdown;
        let listener = self
            .listener
            .into_std()
            .context("cannot take over the emulator's socket")?;
        crate::net::server::serve(
            listener,
            true,
            |_| hyper_util::service::TowerToHyperService::new(router.clone()),
            async move {
                signal.await;
                let _ = shutdown.send(true);
            },
            STOP_DEADLINE,
            self.timeouts,
        )
        .await
        .context("the emulator's server failed")?;
        Ok(())
    }
}

impl Emulator {
    /// Serves in a background task (on the current tokio runtime) until
    /// [`RunningEmulator::stop`] or drop.
    pub fn spawn(self) -> RunningEmulator {
        let host = self.state.host.clone();
        let chat_url = self.state.chat_url.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.serve_until(async move {
            let _ = stopped.await;
        }));
        RunningEmulator {
            host,
            chat_url,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// An emulator serving in the background: what `connect dev --emulate`
/// keeps beside the add-on. Stops when dropped.
pub struct RunningEmulator {
    host: Host,
    chat_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningEmulator {
    /// The host double (clone it freely).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The chat page's URL (with a trailing slash).
    pub fn chat_url(&self) -> &str {
        &self.chat_url
    }

    /// The capabilities document's URL.
    pub fn capabilities_url(&self) -> String {
        format!("{}v2/capabilities", self.chat_url)
    }

    /// Makes the add-on at `descriptor_url` installed in `room_id` with the
    /// descriptor it serves now (see [`reinstall`]).
    pub async fn reinstall(
        &self,
        descriptor_url: &str,
        room_id: Option<u64>,
    ) -> Result<Reinstalled, InstallError> {
        reinstall(&self.host, descriptor_url, room_id).await
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.context("the emulator's task failed")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What [`reinstall`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reinstalled {
    /// Installed afresh (the first time, or the add-on's key changed).
    Installed(Installation),
    /// The existing installation took the new descriptor in place: same
    /// credentials, no call to the add-on, no second "installed" notice.
    Updated(Installation),
}

impl Reinstalled {
    /// The installation as it is now.
    pub fn installation(&self) -> &Installation {
        match self {
            Reinstalled::Installed(i) | Reinstalled::Updated(i) => i,
        }
    }
}

/// Makes the add-on at `descriptor_url` installed in `room_id` with the
/// descriptor it serves now: an installation made from that URL into that
/// room takes it in place when the key is unchanged; otherwise every
/// installation from the URL is uninstalled and the add-on installed afresh.
pub async fn reinstall(
    host: &Host,
    descriptor_url: &str,
    room_id: Option<u64>,
) -> Result<Reinstalled, InstallError> {
    let previous: Vec<Installation> = host
        .installations()
        .into_iter()
        .filter(|i| i.descriptor_url == descriptor_url)
        .collect();
    if let [only] = previous.as_slice()
        && only.room_id == room_id
        && let Some(updated) = host.update_in_place(&only.oauth_id).await?
    {
        return Ok(Reinstalled::Updated(updated));
    }
    for installation in previous {
        // Already gone (a concurrent uninstall) is what we want anyway.
        let _ = host.uninstall(&installation.oauth_id).await;
    }
    host.install(descriptor_url, room_id)
        .await
        .map(Reinstalled::Installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_rooms_given_there_is_one_development_room() {
        let rooms = EmulatorOptions::default().initial_rooms();
        assert_eq!(
            rooms,
            vec![Room {
                id: 1,
                name: "Development".into()
            }]
        );
    }

    #[test]
    fn rooms_given_are_numbered_from_one_in_order() {
        let options = EmulatorOptions {
            rooms: vec!["Ops".into(), "Support".into()],
            ..EmulatorOptions::default()
        };
        let ids: Vec<_> = options
            .initial_rooms()
            .iter()
            .map(|r| (r.id, r.name.clone()))
            .collect();
        assert_eq!(ids, vec![(1, "Ops".into()), (2, "Support".into())]);
    }

    #[test]
    fn a_wildcard_listener_is_reached_through_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("an address");
        assert_eq!(local_url(any), "http://127.0.0.1:8080/");
        let v6: SocketAddr = "[::]:9000".parse().expect("an address");
        assert_eq!(local_url(v6), "http://[::1]:9000/");
        let lo: SocketAddr = "127.0.0.1:1".parse().expect("an address");
        assert_eq!(local_url(lo), "http://127.0.0.1:1/");
    }
}
