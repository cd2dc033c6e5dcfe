//! PostgreSQL, as atlassian-connect-express 3 and Heroku use it: the
//! sequelize spelling with `$DATABASE_URL`, two servers sharing tenants, an
//! install that survives `kill -9` of every server, an outage.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::postgres::PostgresServer;
use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

fn postgres_project(blog: &Blog) -> Project {
    let store = json!({"adapter": "sequelize", "dialect": "postgres", "url": "$DATABASE_URL"});
    Project::with_stage(json!({"development": Project::stage(&blog.url(), store)}))
}

async fn start() -> PostgresServer {
    tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_one_database_share_tenants() {
    let db = start().await;
    let blog = Blog::start();
    let project = postgres_project(&blog);
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];
    let a = Serve::start(project.path(), &[], &env);
    let b = Serve::start(project.path(), &[], &env);
    assert!(
        a.logs()
            .contains("PostgreSQL at postgres://postgres@127.0.0.1"),
        "{}",
        a.logs()
    );
    let hipchat = HipChat::start();
    let client = kit::client();
    hipchat
        .must_install_as(&a.url(), "shared", "s", Some(1))
        .await;
    assert_eq!(
        search_status(&client, &b.webhook(), "shared", "s").await,
        StatusCode::OK,
        "{}",
        b.logs()
    );
    assert!(hipchat.revoke("shared"));
    assert_eq!(
        hipchat.delete_installable(&b.url(), "shared").await,
        StatusCode::NO_CONTENT
    );
    // Within the other server's 5 s tenant cache.
    let deadline = Instant::now() + Duration::from_secs(8);
    while search_status(&client, &a.webhook(), "shared", "s").await != StatusCode::UNAUTHORIZED {
        assert!(
            Instant::now() < deadline,
            "the uninstall never reached the other server"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let health = kit::get_json(&client, &format!("{}/healthz", a.url())).await;
    assert_eq!(health, json!({"status": "ok", "store": "postgres"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_answered_204_survives_kill_9_of_every_server() {
    let db = start().await;
    let blog = Blog::start();
    let project = postgres_project(&blog);
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];
    let hipchat = HipChat::start();
    let client = kit::client();
    let mut a = Serve::start(project.path(), &[], &env);
    let mut b = Serve::start(project.path(), &[], &env);
    hipchat
        .must_install_as(&a.url(), "durable-a", "s", Some(1))
        .await;
    hipchat
        .must_install_as(&b.url(), "durable-b", "s", Some(2))
        .await;
    a.kill9();
    b.kill9();
    let c = Serve::start(project.path(), &[], &env);
    for id in ["durable-a", "durable-b"] {
        assert_eq!(
            search_status(&client, &c.webhook(), id, "s").await,
            StatusCode::OK,
            "{}",
            c.logs()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_503_quickly_and_service_resumes_by_itself() {
    let mut db = start().await;
    let blog = Blog::start();
    let project = postgres_project(&blog);
    let url = db.url();
    let serve = Serve::start(project.path(), &[], &[("DATABASE_URL", url.as_str())]);
    let hipchat = HipChat::start();
    let client = kit::client();
    hipchat
        .must_install_as(&serve.url(), "p", "s", Some(1))
        .await;

    tokio::task::block_in_place(|| db.stop());
    // Past the tenant cache, so the store is asked.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let started = Instant::now();
    assert_eq!(
        search_status(&client, &serve.webhook(), "p", "s").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
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
    assert_eq!(health["store"], "postgres");
    assert!(
        health["reason"].as_str().unwrap().contains("PostgreSQL at"),
        "{health}"
    );

    tokio::task::block_in_place(|| db.restart());
    let deadline = Instant::now() + Duration::from_secs(20);
    while search_status(&client, &serve.webhook(), "p", "s").await != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "did not recover: {}",
            serve.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
