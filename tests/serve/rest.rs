//! The REST path: the token cache (reuse, one refresh for many callers) and
//! 429 retries, through the library against the HipChat double; and the
//! install notice surviving a rate limit through the binary.

use std::sync::Arc;

use connect::hipchat::notification::Notification;
use connect::serve::hipchat_client::HostClient;
use connect::serve::store::{Store, StoreConfig, Tenant, TenantStore, now_unix};
use connect::serve::tokens::Tokens;
use reqwest::StatusCode;

use super::webhook::installed;
use crate::kit::{self, Hipchat};

async fn tenant(hipchat: &Hipchat, store: &Store) -> Tenant {
    hipchat.register("rest", "rest-secret");
    let doc = kit::client()
        .get(hipchat.capabilities_url())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let tenant = Tenant {
        oauth_id: "rest".into(),
        oauth_secret: "rest-secret".into(),
        capabilities_url: hipchat.capabilities_url(),
        capabilities: doc,
        room_id: Some(5),
        group_id: 46617,
        group_name: None,
        installed_at: now_unix(),
    };
    store.put_tenant(&tenant).await.unwrap();
    tenant
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_notifications_share_one_token_request() {
    let hipchat = Hipchat::start();
    let store = Store::open(&StoreConfig::Memory, "connect:test")
        .await
        .unwrap();
    let host = HostClient::new(kit::client());
    let tokens = Tokens::new(store.clone(), host.clone());
    let tenant = Arc::new(tenant(&hipchat, &store).await);
    let caps: connect::hipchat::capabilities::CapabilitiesDoc =
        serde_json::from_value(tenant.capabilities.clone()).unwrap();
    let url = caps.notification_url(5);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (tokens, host, tenant, url) =
            (tokens.clone(), host.clone(), tenant.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let token = tokens.get(&tenant, "send_notification").await.unwrap();
            host.notify(
                &url,
                &token.access_token,
                &Notification::html(format!("n{i}")),
            )
            .await
            .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(hipchat.notifications().len(), 50);
    assert_eq!(hipchat.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_about_to_expire_is_refreshed() {
    let hipchat = Hipchat::start();
    hipchat.set_token_lifetime(30); // inside the refresh margin
    let store = Store::open(&StoreConfig::Memory, "connect:test")
        .await
        .unwrap();
    let tokens = Tokens::new(store.clone(), HostClient::new(kit::client()));
    let tenant = tenant(&hipchat, &store).await;
    let first = tokens.get(&tenant, "send_notification").await.unwrap();
    hipchat.set_token_lifetime(3599);
    let second = tokens.get(&tenant, "send_notification").await.unwrap();
    let third = tokens.get(&tenant, "send_notification").await.unwrap();
    assert_ne!(first.access_token, second.access_token);
    assert_eq!(second.access_token, third.access_token);
    assert_eq!(hipchat.token_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_notification_is_retried_after_retry_after() {
    let hipchat = Hipchat::start();
    let store = Store::open(&StoreConfig::Memory, "connect:test")
        .await
        .unwrap();
    let host = HostClient::new(kit::client());
    let tokens = Tokens::new(store.clone(), host.clone());
    let tenant = tenant(&hipchat, &store).await;
    let token = tokens.get(&tenant, "send_notification").await.unwrap();
    let url = serde_json::from_value::<connect::hipchat::capabilities::CapabilitiesDoc>(
        tenant.capabilities.clone(),
    )
    .unwrap()
    .notification_url(5);
    hipchat.rate_limit_next(2);
    let started = std::time::Instant::now();
    host.notify(&url, &token.access_token, &Notification::html("hi"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(hipchat.rate_limited(), 2);
    assert_eq!(hipchat.notifications().len(), 1);
    // Bounded: a host that keeps refusing gets an error, not an endless loop.
    hipchat.rate_limit_next(100);
    let err = host
        .notify(&url, &token.access_token, &Notification::html("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_notice_waits_out_a_rate_limit() {
    let w = installed().await; // its notice is already posted
    w.hipchat.wait_for_notifications(1, 10).await;
    w.hipchat.rate_limit_next(1);
    let status = w
        .hipchat
        .install(&w.client, &w.serve.url(), "second", "s2", Some(9))
        .await
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let posted = w.hipchat.wait_for_notifications(2, 15).await;
    assert_eq!(posted.len(), 2, "{}", w.serve.logs());
    assert_eq!(posted[1].0, 9);
    assert_eq!(w.hipchat.rate_limited(), 1);
}
