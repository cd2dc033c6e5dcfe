//! What an operator of several instances watches: webhooks by outcome and
//! latency, installs and uninstalls, the blog search's upstream calls and
//! cache, the store's calls, the tenants known, and the process's own
//! figures, as OpenMetrics text (Prometheus scrapes it) at `/metrics`.
//!
//! [`Metrics`] is cheap to clone; a disabled one (`--no-metrics`) records
//! nothing.

mod process;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a count of the store's tenants is reused between scrapes.
const TENANTS_TTL: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceOutcome {
    source: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Source {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheResult {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreCall {
    op: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOp {
    op: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn request_buckets() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

struct Inner {
    registry: Registry,
    webhooks: Family<Outcome, Counter>,
    webhook_seconds: Histogram,
    installs: Family<Outcome, Counter>,
    uninstalls: Family<Outcome, Counter>,
    upstream: Family<SourceOutcome, Counter>,
    upstream_seconds: Histograms<Source>,
    cache: Family<CacheResult, Counter>,
    store_calls: Family<StoreCall, Counter>,
    store_seconds: Histograms<StoreOp>,
    tenants: Gauge,
    tenants_counted: Mutex<Option<Instant>>,
    scrapes: AtomicU64,
}

/// The figures of one `connect serve` (clones share them).
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.inner.is_some())
            .finish()
    }
}

impl Metrics {
    /// Recording everything, with the process's figures.
    pub fn enabled() -> Self {
        let mut root = Registry::default();
        let inner = Inner {
            webhooks: Family::default(),
            webhook_seconds: request_buckets(),
            installs: Family::default(),
            uninstalls: Family::default(),
            upstream: Family::default(),
            upstream_seconds: Family::new_with_constructor(request_buckets),
            cache: Family::default(),
            store_calls: Family::default(),
            store_seconds: Family::new_with_constructor(request_buckets),
            tenants: Gauge::default(),
            tenants_counted: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            registry: Registry::default(),
        };
        let registry = root.sub_registry_with_prefix("connect");
        registry.register(
            "webhooks",
            "room_message webhooks answered, by outcome (answered, ignored, unauthorized, bad_request, forbidden, unavailable, error)",
            inner.webhooks.clone(),
        );
        registry.register(
            "webhook_duration_seconds",
            "time from a webhook's head to its answer",
            inner.webhook_seconds.clone(),
        );
        registry.register(
            "installs",
            "install callbacks, by outcome (ok, refused, upstream, unavailable, error)",
            inner.installs.clone(),
        );
        registry.register(
            "uninstalls",
            "uninstall callbacks, by outcome",
            inner.uninstalls.clone(),
        );
        registry.register(
            "search_upstream_requests",
            "requests to the blog, by source and outcome (ok, not_found, timeout, unreachable, status, too_large)",
            inner.upstream.clone(),
        );
        registry.register(
            "search_upstream_duration_seconds",
            "time of a request to the blog, by source",
            inner.upstream_seconds.clone(),
        );
        registry.register(
            "search_cache",
            "searches answered from the 30 s cache (hit), joined to one in flight (joined), or sent upstream (miss)",
            inner.cache.clone(),
        );
        registry.register(
            "store_calls",
            "calls to the store, by operation and outcome (ok, unavailable, corrupt)",
            inner.store_calls.clone(),
        );
        registry.register(
            "store_call_duration_seconds",
            "time of a store call, by operation",
            inner.store_seconds.clone(),
        );
        registry.register(
            "tenants",
            "installations in the store (counted at most every 15 s)",
            inner.tenants.clone(),
        );
        root.register_collector(Box::new(process::Process));
        let mut inner = inner;
        inner.registry = root;
        Metrics {
            inner: Some(Arc::new(inner)),
        }
    }

    /// Recording nothing (`--no-metrics`).
    pub fn disabled() -> Self {
        Metrics { inner: None }
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// A webhook answered with `status` after `took`.
    pub fn webhook(&self, status: u16, took: Duration) {
        if let Some(m) = &self.inner {
            m.webhooks
                .get_or_create(&Outcome {
                    outcome: outcome_of(status),
                })
                .inc();
            m.webhook_seconds.observe(took.as_secs_f64());
        }
    }

    /// An install callback answered with `status`.
    pub fn install(&self, status: u16) {
        if let Some(m) = &self.inner {
            m.installs
                .get_or_create(&Outcome {
                    outcome: lifecycle_outcome(status),
                })
                .inc();
        }
    }

    /// An uninstall callback answered with `status`.
    pub fn uninstall(&self, status: u16) {
        if let Some(m) = &self.inner {
            m.uninstalls
                .get_or_create(&Outcome {
                    outcome: lifecycle_outcome(status),
                })
                .inc();
        }
    }

    /// A request to the blog (`source`: wordpress, feed, byTag) ended with
    /// `outcome` after `took`.
    pub fn upstream(&self, source: &'static str, outcome: &'static str, took: Duration) {
        if let Some(m) = &self.inner {
            m.upstream
                .get_or_create(&SourceOutcome { source, outcome })
                .inc();
            m.upstream_seconds
                .get_or_create(&Source { source })
                .observe(took.as_secs_f64());
        }
    }

    /// A search was a cache `hit`, `joined` one in flight, or a `miss`.
    pub fn cache(&self, result: &'static str) {
        if let Some(m) = &self.inner {
            m.cache.get_or_create(&CacheResult { result }).inc();
        }
    }

    /// A store call `op` ended with `outcome` after `took`.
    pub fn store_call(&self, op: &'static str, outcome: &'static str, took: Duration) {
        if let Some(m) = &self.inner {
            m.store_calls
                .get_or_create(&StoreCall { op, outcome })
                .inc();
            m.store_seconds
                .get_or_create(&StoreOp { op })
                .observe(took.as_secs_f64());
        }
    }

    /// Whether the tenants should be counted again (at most every 15 s).
    pub fn tenants_due(&self) -> bool {
        let Some(m) = &self.inner else {
            return false;
        };
        let mut last = m.tenants_counted.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= TENANTS_TTL);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// The tenants the store holds.
    pub fn set_tenants(&self, count: u64) {
        if let Some(m) = &self.inner {
            m.tenants.set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// The OpenMetrics text of every figure; `None` when disabled.
    pub fn render(&self) -> Option<String> {
        let m = self.inner.as_ref()?;
        m.scrapes.fetch_add(1, Ordering::Relaxed);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry).ok()?;
        Some(text)
    }
}

/// The outcome label of an install's or uninstall's status: `ok`,
/// `refused` (a 4xx: bad credentials, a host not whitelisted, still
/// installed), `upstream` (HipChat did not answer well), `unavailable`
/// (the store), `error`.
pub fn lifecycle_outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        400..=499 => "refused",
        502 | 504 => "upstream",
        503 => "unavailable",
        _ => "error",
    }
}

/// The outcome label of a webhook's status.
pub fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=203 | 205..=299 => "answered",
        204 => "ignored",
        401 => "unauthorized",
        403 => "forbidden",
        400 | 404..=499 => "bad_request",
        503 => "unavailable",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_rendered_as_openmetrics_with_their_labels() {
        let m = Metrics::enabled();
        m.webhook(200, Duration::from_millis(3));
        m.webhook(401, Duration::from_millis(1));
        m.install(204);
        m.upstream("byTag", "ok", Duration::from_millis(2));
        m.cache("hit");
        m.store_call("get_tenant", "ok", Duration::from_micros(300));
        m.set_tenants(3);
        let text = m.render().unwrap();
        for line in [
            "connect_webhooks_total{outcome=\"answered\"} 1",
            "connect_webhooks_total{outcome=\"unauthorized\"} 1",
            "connect_webhook_duration_seconds_count 2",
            "connect_installs_total{outcome=\"ok\"} 1",
            "connect_search_upstream_requests_total{source=\"byTag\",outcome=\"ok\"} 1",
            "connect_search_cache_total{result=\"hit\"} 1",
            "connect_store_calls_total{op=\"get_tenant\",outcome=\"ok\"} 1",
            "connect_tenants 3",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
        ] {
            assert!(text.contains(line), "no {line} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_disabled_set_records_and_renders_nothing() {
        let m = Metrics::disabled();
        m.webhook(200, Duration::from_millis(3));
        assert!(m.render().is_none());
        assert!(!m.tenants_due());
    }
}
