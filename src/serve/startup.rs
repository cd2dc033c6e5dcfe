//! Start-up: resolve everything once (config, descriptor, templates, store,
//! listener), print where the add-on is, serve until a stop signal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use regex::Regex;
use url::Url;

use super::app::{self, AppState, MetricsAccess, Routes, WebhookRoute};
use super::hipchat_client::HostClient;
use super::listener::{self, ListenSource};
use super::reply::Replies;
use super::search::Search;
use super::store::{Store, TenantStore};
use super::tenants::TenantCache;
use super::tokens::Tokens;
use super::{ServeArgs, shutdown};
use crate::config::{Env, ProjectConfig};
use crate::hipchat::descriptor::{Descriptor, substitute_base_url};
use crate::hipchat::token::join_scopes;
use crate::logging::{self, LogFormat};
use crate::net::body::BodyLimits;
use crate::net::{AllowedHosts, Guard, Policy, Timeouts};

/// Idle pooled connections kept per upstream host.
const POOL_PER_HOST: usize = 256;

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let env = Env::from_process();
    let config = ProjectConfig::load(&args.project.dir, args.project.stage.as_deref(), &env)
        .map_err(|e| crate::error::usage(e.to_string()))?;
    // Under `connect dev`, which shows these lines in its own style and
    // prints the start-up summary itself.
    let under_dev = env.get("CONNECT_DEV") == Some("1");
    let format = args
        .log_format
        .unwrap_or(if config.stage == "production" || under_dev {
            LogFormat::Json
        } else {
            LogFormat::Human
        });
    logging::init(format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }

    // Development keeps the add-on on this machine; production (Heroku,
    // containers) must be reachable from outside.
    let host = args.host.unwrap_or(if config.stage == "production" {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    });
    let source = listener::source(
        &env,
        std::process::id(),
        SocketAddr::new(host, args.port.unwrap_or(config.port)),
    );
    let std_listener = listener::open(source)?;
    if source == ListenSource::Inherited {
        // SAFETY: no other thread exists yet (the runtime is built below).
        unsafe { listener::forget_inherited_variables() };
    }
    let port = std_listener
        .local_addr()
        .context("cannot read the listening address")?
        .port();
    let base_url = config.base_url_for_port(port, &env);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let deadline = Duration::from_secs(args.shutdown_timeout);
    let own_socket = source != ListenSource::Inherited;
    let hosts = allowed_hosts(&args.allow_hosts, &base_url)?;
    let metrics = if args.no_metrics {
        crate::serve::metrics::Metrics::disabled()
    } else {
        crate::serve::metrics::Metrics::enabled()
    };
    let metrics_access = match env.get("CONNECT_METRICS_TOKEN").map(str::trim) {
        Some(token) if !token.is_empty() => MetricsAccess::Token(token.to_owned()),
        _ if config.stage == "production" => MetricsAccess::Closed,
        _ => MetricsAccess::Open,
    };
    let metrics_listener = args
        .metrics_listen
        .map(|addr| {
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .with_context(|| {
                    format!("cannot listen on --metrics-listen {addr}; is another server using it?")
                })
        })
        .transpose()?;
    let outcome = runtime.block_on(serve(
        config,
        base_url,
        std_listener,
        Listening {
            own_socket,
            deadline,
            timeouts: args.timeouts.timeouts(),
            hosts,
            metrics,
            metrics_access,
            metrics_listener,
        },
        under_dev,
    ));
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// The names answered: `--allow-host` (or `CONNECT_ALLOWED_HOSTS`) and
/// the base URL's host, besides IP addresses and localhost.
fn allowed_hosts(given: &[String], base_url: &Url) -> anyhow::Result<AllowedHosts> {
    let mut names: Vec<String> = given
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    names.extend(base_url.host_str().map(str::to_owned));
    AllowedHosts::new(&names).map_err(|e| crate::error::usage(format!("--allow-host: {e}")))
}

/// How the server listens and lets go.
struct Listening {
    own_socket: bool,
    deadline: Duration,
    timeouts: Timeouts,
    hosts: AllowedHosts,
    metrics: crate::serve::metrics::Metrics,
    metrics_access: MetricsAccess,
    metrics_listener: Option<TcpListener>,
}

async fn serve(
    config: ProjectConfig,
    base_url: Url,
    std_listener: TcpListener,
    listening: Listening,
    under_dev: bool,
) -> anyhow::Result<()> {
    let Listening {
        own_socket,
        deadline,
        timeouts,
        hosts,
        metrics,
        metrics_access,
        metrics_listener,
    } = listening;
    let base = base_url.as_str().trim_end_matches('/').to_string();
    let descriptor_path = config.descriptor_path();
    let raw = std::fs::read_to_string(&descriptor_path)
        .with_context(|| format!("cannot read the descriptor {}", descriptor_path.display()))?;
    let descriptor_json = substitute_base_url(&raw, &base);
    let descriptor = Descriptor::parse(&descriptor_json)
        .map_err(|e| crate::error::usage(format!("{}: {e}", descriptor_path.display())))?;
    let routes = routes(&config.base_path, &base_url, &descriptor)
        .map_err(|e| crate::error::usage(format!("{}: {e}", descriptor_path.display())))?;
    let replies =
        Replies::load(&config.templates_dir()).map_err(|e| crate::error::usage(e.to_string()))?;

    let store = Store::open(&config.store, &format!("connect:{}", descriptor.key))
        .await
        .context("cannot open the store")?
        .with_metrics(metrics.clone())
        .with_legacy(config.legacy);
    // Redis connects lazily: say now, not at the first install, that it is
    // unreachable. Serving starts anyway and recovers when it comes back.
    if let Err(err) = store.ping().await {
        tracing::warn!("{err}; webhooks and installs answer 503 until the store answers");
    }

    crate::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(POOL_PER_HOST)
        .pool_idle_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let host = HostClient::new(http.clone());
    let search_http = search_client(&config.search.tls, http)?;
    let search = Search::new(
        search_http,
        config.search.clone(),
        config.max_results_displayed,
    )
    .map_err(crate::error::usage)?
    .with_metrics(metrics.clone());
    let descriptor_scopes = descriptor.scopes.clone();
    let state = Arc::new(AppState {
        descriptor_json,
        scope: join_scopes(&descriptor.scopes),
        descriptor,
        tokens: Tokens::new(store.clone(), host.clone()),
        tenants: TenantCache::default(),
        store: store.clone(),
        host,
        search,
        replies,
        whitelist: config.whitelist.clone(),
        enforce_whitelist: config.enforce_whitelist,
        max_token_age: config.max_token_age,
        max_results_displayed: config.max_results_displayed,
        metrics,
        metrics_access,
        legacy_token_key: crate::serve::store::legacy::token_key(&descriptor_scopes),
        takeover_notes: Default::default(),
    });
    let guard = Guard::strict(Policy {
        server: "connect serve",
        hosts,
        how_to_allow: "--allow-host NAME (or CONNECT_ALLOWED_HOSTS=NAME)".into(),
    });
    let limits = BodyLimits {
        max_bytes: app::BODY_LIMIT,
        timeout: timeouts.body,
    };
    let router = app::router(state.clone(), &routes, guard.clone(), limits);
    if let Some(listener) = metrics_listener {
        let addr = listener.local_addr().ok();
        let metrics_router = app::metrics_router(state.clone(), guard);
        tokio::spawn(async move {
            // Ends with the process: a scraper's connection is nothing to drain.
            let served = crate::net::server::serve(
                listener,
                true,
                |_| hyper_util::service::TowerToHyperService::new(metrics_router.clone()),
                std::future::pending(),
                Duration::ZERO,
                timeouts,
            )
            .await;
            if let Err(err) = served {
                tracing::warn!("the metrics listener stopped: {err}");
            }
        });
        if let Some(addr) = addr {
            tracing::info!(%addr, "serving /metrics");
        }
    }

    let local = std_listener
        .local_addr()
        .context("cannot read the listening address")?;
    // Signal handlers first: a stop signal sent right after the start-up
    // lines must be handled gracefully, not kill the process.
    let signalled = shutdown::handlers(under_dev).context("cannot listen for stop signals")?;
    if under_dev {
        tracing::debug!(stage = %config.stage, store = %store.describe(), "ready");
    } else {
        tracing::info!(stage = %config.stage, store = %store.describe(), search = %state.search.describe(), "ready");
        // One write, errors ignored: a closed stdout must not stop the server.
        let banner = format!(
            "connect serve: {} ({}) listening on {local}\n  base URL:   {base}\n  descriptor: {base}/atlassian-connect.json\n  store:      {}\n  search:     {}\n",
            state.descriptor.name,
            config.stage,
            store.describe(),
            state.search.describe()
        );
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }

    let stopped = crate::net::server::serve(
        std_listener,
        own_socket,
        |_| hyper_util::service::TowerToHyperService::new(router.clone()),
        signalled,
        deadline,
        timeouts,
    )
    .await
    .context("the server stopped")?;
    if stopped.abandoned > 0 {
        tracing::warn!(
            connections = stopped.abandoned,
            timeout_secs = deadline.as_secs(),
            "connections still open at the shutdown timeout; stopping anyway"
        );
    }
    if !under_dev {
        tracing::info!("stopped");
    }
    Ok(())
}

/// The client the blog search uses: the shared one, or one of its own
/// when `search.tls` says how to check the blog's certificate.
fn search_client(
    tls: &crate::config::TlsOptions,
    shared: reqwest::Client,
) -> anyhow::Result<reqwest::Client> {
    if *tls == crate::config::TlsOptions::default() {
        return Ok(shared);
    }
    let config = crate::tls::client_config(&tls.trust(), true)
        .map_err(|e| crate::error::usage(format!("{e} (the search's `tls.ca`)")))?;
    reqwest::Client::builder()
        .pool_max_idle_per_host(POOL_PER_HOST)
        .pool_idle_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(config)
        .build()
        .context("cannot build the HTTP client for the blog search")
}

/// The paths to serve, from the descriptor's URLs (which must be ours).
fn routes(base_path: &str, base_url: &Url, descriptor: &Descriptor) -> Result<Routes, String> {
    let fixed = [
        format!("{base_path}/atlassian-connect.json"),
        format!("{base_path}/healthz"),
        format!("{base_path}/metrics"),
    ];
    let ours = |field: &str, text: &str| -> Result<String, String> {
        let url = Url::parse(text).map_err(|e| format!("`{field}` is not a URL: {e}"))?;
        if url.origin() != base_url.origin() {
            tracing::warn!(field, url = text, base = %base_url, "a descriptor URL points outside this server's base URL; serving its path anyway");
        }
        let path = url.path().trim_end_matches('/').to_string();
        let valid = path.starts_with('/')
            && !path.contains(['{', '}', '*'])
            && !path.split('/').any(|segment| segment.starts_with(':'));
        if !valid {
            return Err(format!(
                "`{field}` has the path `{path}`, which cannot be served; use a plain path such as {{{{localBaseUrl}}}}/webhook"
            ));
        }
        if fixed.contains(&path) {
            return Err(format!(
                "`{field}` uses the path `{path}`, which the server keeps for itself; choose another"
            ));
        }
        Ok(path)
    };
    let callback = ours(
        "capabilities.installable.callbackUrl",
        &descriptor.callback_url,
    )?;
    let mut webhooks: Vec<WebhookRoute> = Vec::new();
    for hook in descriptor.room_message_webhooks() {
        let path = ours("capabilities.webhook.url", &hook.url)?;
        if path == callback {
            return Err(format!(
                "the webhook path `{path}` is also the installable callback path; choose another"
            ));
        }
        if webhooks.iter().any(|w| w.path == path) {
            continue;
        }
        let pattern = match &hook.pattern {
            Some(p) => Some(Regex::new(p).map_err(|e| format!("webhook pattern `{p}`: {e}"))?),
            None => None,
        };
        webhooks.push(WebhookRoute { path, pattern });
    }
    if webhooks.is_empty() {
        tracing::warn!(
            "the descriptor declares no room_message webhook; the add-on will never be asked to search"
        );
    }
    Ok(Routes {
        base_path: base_path.to_string(),
        callback,
        webhooks,
    })
}
