//! Redis: two servers sharing one redis-server; an outage and recovery.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::redis::RedisServer;
use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

fn redis_project(blog: &Blog, redis: &RedisServer) -> Project {
    let stage = Project::stage(&blog.url(), json!({"adapter": "redis", "url": redis.url()}));
    Project::with_stage(json!({"development": stage}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_one_redis_share_tenants() {
    let redis = tokio::task::block_in_place(RedisServer::start);
    let blog = Blog::start();
    let project = redis_project(&blog, &redis);
    let a = Serve::start(project.path(), &[], &[]);
    let b = Serve::start(project.path(), &[], &[]);
    let hipchat = HipChat::start();
    let client = kit::client();
    hipchat
        .must_install_as(&a.url(), "shared", "s", Some(1))
        .await;
    let response = search_status(&client, &b.webhook(), "shared", "s").await;
    assert_eq!(response, StatusCode::OK, "{}", b.logs());
    assert!(hipchat.revoke("shared"));
    let deleted = hipchat.delete_installable(&b.url(), "shared").await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    let gone = search_status(&client, &a.webhook(), "shared", "s").await;
    assert_eq!(gone, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_quickly_and_service_resumes_by_itself() {
    let mut redis = tokio::task::block_in_place(RedisServer::start);
    let blog = Blog::start();
    let project = redis_project(&blog, &redis);
    let serve = Serve::start(project.path(), &[], &[]);
    let hipchat = HipChat::start();
    let client = kit::client();
    hipchat
        .must_install_as(&serve.url(), "r", "s", Some(1))
        .await;

    tokio::task::block_in_place(|| redis.stop());
    let started = Instant::now();
    let response = search_status(&client, &serve.webhook(), "r", "s").await;
    assert_eq!(response, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let health = client
        .get(format!("{}/healthz", serve.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["store"], "redis");
    assert!(
        !health["reason"].as_str().unwrap_or_default().is_empty(),
        "{health}"
    );

    tokio::task::block_in_place(|| redis.restart());
    // The tenant was lost with the unpersisted redis: re-install, then serve.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = client
            .get(format!("{}/healthz", serve.url()))
            .send()
            .await
            .unwrap();
        if health.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover: {}",
            serve.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    hipchat
        .must_install_as(&serve.url(), "r", "s", Some(1))
        .await;
    let response = search_status(&client, &serve.webhook(), "r", "s").await;
    assert_eq!(response, StatusCode::OK);
}
