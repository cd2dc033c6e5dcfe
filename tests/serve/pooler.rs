//! PostgreSQL behind PgBouncer in transaction pooling mode, with fewer
//! server connections than clients, as Heroku's connection pooling,
//! Supabase and Neon hand it out: two `connect serve` instances take
//! installs, webhooks and uninstall/reinstall churn at once without a
//! single failure or a prepared-statement or protocol error.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::pgbouncer::PgBouncer;
use crate::support::postgres::PostgresServer;
use crate::support::serve::signed::search_status;
use crate::support::serve::{self as kit, Blog, HipChat, Project, Serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_through_pgbouncer_in_transaction_mode_never_fail() {
    let db = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let bouncer = PgBouncer::start(&db, 2);
    let blog = Blog::start();
    // More clients (2 x 4) than the pooler's server connections (2).
    let store =
        json!({"adapter": "sequelize", "dialect": "postgres", "url": bouncer.url(), "pool": 4});
    let project = Project::with_stage(json!({"development": Project::stage(&blog.url(), store)}));
    let a = Serve::start(project.path(), &[], &[]);
    let b = Serve::start(project.path(), &[], &[]);
    let servers = [&a, &b];
    let hipchat = HipChat::start();
    let client = kit::client();

    for round in 0..3 {
        // Installs, half through each server, all at once.
        let installs = (0..12).map(|i| {
            let base = servers[i % 2].url();
            let hipchat = &hipchat;
            async move {
                let id = format!("t{i}");
                let response = hipchat
                    .install_as(&base, &id, &format!("s{round}"), Some(1))
                    .await;
                (
                    id,
                    response.status(),
                    response.text().await.unwrap_or_default(),
                )
            }
        });
        for (id, status, body) in join_all(installs).await {
            assert_eq!(
                status,
                StatusCode::NO_CONTENT,
                "round {round}: install {id}: {body}\n{}\n{}",
                a.logs(),
                b.logs()
            );
        }
        // Webhooks for every tenant through the other server, many at once.
        let webhooks = (0..48).map(|n| {
            let url = servers[(n + 1) % 2].webhook();
            let client = &client;
            async move {
                let id = format!("t{}", n % 12);
                (
                    id.clone(),
                    search_status(client, &url, &id, &format!("s{round}")).await,
                )
            }
        });
        for (id, status) in join_all(webhooks).await {
            assert_eq!(
                status,
                StatusCode::OK,
                "round {round}: webhook for {id}\n{}\n{}",
                a.logs(),
                b.logs()
            );
        }
        // Uninstall half of them (the next round installs them again).
        let uninstalls = (0..6).map(|i| {
            let base = servers[i % 2].url();
            let hipchat = &hipchat;
            async move {
                let id = format!("t{i}");
                assert!(hipchat.revoke(&id));
                (id.clone(), hipchat.delete_installable(&base, &id).await)
            }
        });
        for (id, status) in join_all(uninstalls).await {
            assert_eq!(
                status,
                StatusCode::NO_CONTENT,
                "round {round}: uninstall {id}\n{}\n{}",
                a.logs(),
                b.logs()
            );
        }
    }
    for logs in [a.logs(), b.logs()] {
        for trouble in [
            "42P05",
            "26000",
            "08P01",
            "prepared statement",
            "protocol",
            "ERROR",
            "WARN",
        ] {
            assert!(!logs.contains(trouble), "{trouble} in:\n{logs}");
        }
    }
    let pooler = bouncer.log();
    assert!(
        !pooler.contains("unsupported startup parameter"),
        "{pooler}"
    );
    let health = kit::get_json(&client, &format!("{}/healthz", a.url())).await;
    assert_eq!(health, json!({"status": "ok", "store": "postgres"}));
}
