//! `/metrics`: OpenMetrics text a Prometheus parser reads, scraped while
//! webhooks are answered, with counters that match what was sent; open in
//! development, behind a token (or on a port of its own) in production.

use futures_util::future::join_all;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::free_port;
use crate::support::serve::signed::deliver;
use crate::support::serve::{self as kit, Blog, Project, Serve, installed};

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

async fn scrape(client: &reqwest::Client, url: &str) -> Exposition {
    let response = client.get(url).send().await.expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = response.text().await.unwrap();
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics ({e:?}):\n{text}"))
}

/// A counter's (or gauge's) value for these labels (0 when absent).
fn counter(exposition: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(family) = exposition.families.get(family) else {
        return 0.0;
    };
    // In the family's order of label names.
    let labels: Vec<String> = family
        .get_label_names()
        .iter()
        .map(|name| {
            labels
                .iter()
                .find(|(n, _)| n == name)
                .map_or(String::new(), |(_, v)| v.to_string())
        })
        .collect();
    match family.get_sample_by_label_values(&labels).map(|s| &s.value) {
        Some(OpenMetricsValue::Counter(c)) => c.value.as_f64(),
        Some(OpenMetricsValue::Gauge(g)) => g.as_f64(),
        Some(other) => panic!("{other:?} is not a counter"),
        None => 0.0,
    }
}

fn histogram_count(exposition: &Exposition, family: &str) -> u64 {
    match exposition
        .families
        .get(family)
        .and_then(|f| f.iter_samples().next())
        .map(|s| &s.value)
    {
        Some(OpenMetricsValue::Histogram(h)) => h.count.unwrap_or(0),
        other => panic!("no histogram {family}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_during_load_parse_and_count_what_was_sent() {
    let w = installed().await;
    let url = format!("{}/metrics", w.serve.url());
    let before = scrape(&w.client, &url).await;
    assert_eq!(
        counter(&before, "connect_installs", &[("outcome", "ok")]),
        1.0
    );

    let answered = 60;
    let unauthorized = 7;
    let load = async {
        let webhook = w.serve.webhook();
        let good = (0..answered).map(|n| {
            let (client, webhook) = (&w.client, webhook.clone());
            async move {
                deliver(
                    client,
                    &webhook,
                    kit::ID,
                    kit::SECRET,
                    1,
                    &format!("/hascode t{}", n % 5),
                )
                .await
                .status()
            }
        });
        let bad = (0..unauthorized).map(|_| {
            let (client, webhook) = (&w.client, webhook.clone());
            async move {
                deliver(client, &webhook, kit::ID, "not-the-secret", 1, "/hascode x")
                    .await
                    .status()
            }
        });
        let (good, bad) = tokio::join!(join_all(good), join_all(bad));
        assert!(good.iter().all(|s| *s == StatusCode::OK), "{good:?}");
        assert!(
            bad.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
            "{bad:?}"
        );
    };
    let scrapes = async {
        let mut parsed = 0;
        for _ in 0..10 {
            scrape(&w.client, &url).await;
            parsed += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        parsed
    };
    let ((), parsed) = tokio::join!(load, scrapes);
    assert_eq!(parsed, 10);

    let after = scrape(&w.client, &url).await;
    assert_eq!(
        counter(&after, "connect_webhooks", &[("outcome", "answered")]),
        answered as f64
    );
    assert_eq!(
        counter(&after, "connect_webhooks", &[("outcome", "unauthorized")]),
        unauthorized as f64
    );
    assert_eq!(
        histogram_count(&after, "connect_webhook_duration_seconds"),
        answered + unauthorized
    );
    // Five terms: five went upstream, the rest came from the cache or
    // joined a search in flight.
    let upstream = counter(
        &after,
        "connect_search_upstream_requests",
        &[("source", "byTag"), ("outcome", "ok")],
    );
    assert_eq!(upstream, w.searches() as f64);
    let cached = counter(&after, "connect_search_cache", &[("result", "hit")])
        + counter(&after, "connect_search_cache", &[("result", "joined")]);
    assert_eq!(
        cached + counter(&after, "connect_search_cache", &[("result", "miss")]),
        answered as f64
    );
    assert!(
        counter(
            &after,
            "connect_store_calls",
            &[("op", "get_tenant"), ("outcome", "ok")]
        ) >= 1.0
    );
    assert_eq!(counter(&after, "connect_tenants", &[]), 1.0);
    assert!(counter(&after, "process_cpu_seconds", &[]) > 0.0);
    assert!(counter(&after, "process_resident_memory_bytes", &[]) > 1e6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_serves_metrics_only_with_its_token_or_on_its_own_port() {
    let blog = Blog::start();
    let mut stage = Project::stage(&blog.url(), json!({"adapter": "memory"}));
    stage["whitelist"] = json!(["127.0.0.1"]);
    let project = Project::with_stage(json!({"production": stage}));
    let client = kit::client();

    let closed = Serve::start(project.path(), &["--env", "production"], &[]);
    let answer = client
        .get(format!("{}/metrics", closed.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    let token = Serve::start(
        project.path(),
        &["--env", "production"],
        &[("CONNECT_METRICS_TOKEN", "s3cr3t-metrics")],
    );
    let url = format!("{}/metrics", token.url());
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = client.get(&url).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(&url)
        .bearer_auth("s3cr3t-metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(
        !token.logs().contains("s3cr3t-metrics"),
        "the token was logged"
    );

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let own = Serve::start(
        project.path(),
        &["--env", "production", "--metrics-listen", &listen],
        &[],
    );
    scrape(&client, &format!("http://{listen}/metrics")).await;
    let main = client
        .get(format!("{}/metrics", own.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        main.status(),
        StatusCode::NOT_FOUND,
        "not on the add-on's port"
    );

    let off = Serve::start(
        project.path(),
        &["--env", "production", "--no-metrics"],
        &[],
    );
    let answer = client
        .get(format!("{}/metrics", off.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}
