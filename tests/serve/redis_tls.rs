//! Redis over TLS as Heroku runs it: `REDIS_URL=rediss://...` with a
//! self-signed certificate.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::redis::RedisServer;
use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

fn project(blog: &Blog, store: Value) -> Project {
    Project::with_stage(json!({"development": Project::stage(&blog.url(), store)}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_tls_redis_with_a_self_signed_certificate_and_warns_once() {
    let redis = tokio::task::block_in_place(RedisServer::start_tls);
    let blog = Blog::start();
    let store =
        json!({"adapter": "redis", "url": "$REDIS_URL", "tls": {"rejectUnauthorized": false}});
    let project = project(&blog, store);
    let url = redis.tls_url();
    let serve = Serve::start(project.path(), &[], &[("REDIS_URL", url.as_str())]);
    let hipchat = HipChat::start();
    hipchat
        .must_install_as(&serve.url(), "tls", "s", Some(1))
        .await;
    let client = kit::client();
    assert_eq!(
        search_status(&client, &serve.webhook(), "tls", "s").await,
        StatusCode::OK
    );
    assert_eq!(
        redis
            .command("EXISTS connect:com.example.blogsearch:tenant:tls")
            .unwrap(),
        ":1\r\n"
    );
    let logs = serve.logs();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("verification is off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("WARN") && warnings[0].contains("rediss://127.0.0.1"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_named_at_start_and_in_healthz() {
    let redis = tokio::task::block_in_place(RedisServer::start_tls);
    let blog = Blog::start();
    let project = project(&blog, json!({"adapter": "redis", "url": redis.tls_url()}));
    let serve = Serve::start(project.path(), &[], &[]);
    let logs = serve.logs();
    assert!(
        logs.contains("does not verify") && logs.contains("rejectUnauthorized"),
        "{logs}"
    );
    let client = kit::client();
    let health = client
        .get(format!("{}/healthz", serve.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = health.json().await.unwrap();
    let reason = health["reason"].as_str().unwrap();
    assert!(
        reason.contains("self-signed") && reason.contains("\"ca\""),
        "{reason}"
    );
    // An install is refused rather than stored somewhere unverified.
    let hipchat = HipChat::start();
    let status = hipchat
        .install_as(&serve.url(), "t", "s", Some(1))
        .await
        .status();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_in_the_project_verifies_the_server() {
    let redis = tokio::task::block_in_place(RedisServer::start_tls);
    let blog = Blog::start();
    let store =
        json!({"adapter": "redis", "url": redis.tls_url(), "tls": {"ca": "certs/redis-ca.pem"}});
    let project = project(&blog, store);
    std::fs::create_dir_all(project.file("certs")).unwrap();
    std::fs::copy(redis.ca_file(), project.file("certs/redis-ca.pem")).unwrap();
    let serve = Serve::start(project.path(), &[], &[]);
    let health = kit::get_json(&kit::client(), &format!("{}/healthz", serve.url())).await;
    assert_eq!(health["status"], "ok", "{health}");
    assert!(
        !serve.logs().contains("verification is off"),
        "{}",
        serve.logs()
    );
}
