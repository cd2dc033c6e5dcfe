//! The REST path: the token cache (reuse, one refresh for many callers) and
//! 429 retries, through the library against the HipChat double; and the
//! install notice surviving a rate limit through the binary.

use std::sync::Arc;
use std::time::Duration;

use connect::hipchat::capabilities::CapabilitiesDoc;
use connect::hipchat::host::{Credentials, HostOptions, RateLimits};
use connect::hipchat::notification::Notification;
use connect::serve::hipchat_client::HostClient;
use connect::serve::store::{Store, StoreConfig, Tenant, TenantStore, now_unix};
use connect::serve::tokens::Tokens;
use reqwest::StatusCode;

use crate::support::serve::host::{GROUP_ID, SCOPES};
use crate::support::serve::{self as kit, HipChat, installed};

/// The REST path's parts: a memory store, the host client and the tokens.
struct Rest {
    store: Store,
    host: HostClient,
    tokens: Tokens,
}

async fn rest() -> Rest {
    let store = Store::open(&StoreConfig::Memory, "connect:test")
        .await
        .unwrap();
    let host = HostClient::new(kit::client());
    let tokens = Tokens::new(store.clone(), host.clone());
    Rest {
        store,
        host,
        tokens,
    }
}

/// A tenant `rest` in room 5, known to the host and stored as an install
/// would store it.
async fn tenant(hipchat: &HipChat, store: &Store) -> Tenant {
    let credentials = Credentials {
        oauth_id: "rest".into(),
        oauth_secret: "rest-secret".into(),
    };
    hipchat.register_client(&credentials, SCOPES, Some(5));
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
        group_id: GROUP_ID,
        group_name: None,
        installed_at: now_unix(),
        stale_since: None,
    };
    store.put_tenant(&tenant).await.unwrap();
    tenant
}

/// The tenant's room notification URL, from its capabilities.
fn notification_url(tenant: &Tenant) -> String {
    serde_json::from_value::<CapabilitiesDoc>(tenant.capabilities.clone())
        .unwrap()
        .notification_url(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_notifications_share_one_token_request() {
    // Room flood control would refuse most of 50 notices in a minute; this
    // test is about the token cache.
    let hipchat = HipChat::start_with(HostOptions {
        limits: RateLimits {
            messages_per_room: 1000,
            ..RateLimits::default()
        },
        ..HostOptions::default()
    });
    let Rest {
        store,
        host,
        tokens,
    } = rest().await;
    let tenant = Arc::new(tenant(&hipchat, &store).await);
    let url = notification_url(&tenant);
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
    assert_eq!(hipchat.notification_count(5), 50);
    assert_eq!(hipchat.token_requests("rest"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_about_to_expire_is_refreshed() {
    let hipchat = HipChat::start();
    hipchat.set_token_lifetime(Duration::from_secs(30)); // inside the refresh margin
    let Rest { store, tokens, .. } = rest().await;
    let tenant = tenant(&hipchat, &store).await;
    let first = tokens.get(&tenant, "send_notification").await.unwrap();
    hipchat.set_token_lifetime(Duration::from_secs(3599));
    let second = tokens.get(&tenant, "send_notification").await.unwrap();
    let third = tokens.get(&tenant, "send_notification").await.unwrap();
    assert_ne!(first.access_token, second.access_token);
    assert_eq!(second.access_token, third.access_token);
    assert_eq!(hipchat.token_requests("rest"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_notification_is_retried_after_retry_after() {
    let hipchat = HipChat::start();
    let Rest {
        store,
        host,
        tokens,
    } = rest().await;
    let tenant = tenant(&hipchat, &store).await;
    let token = tokens.get(&tenant, "send_notification").await.unwrap();
    let url = notification_url(&tenant);
    hipchat.force_rate_limit(2);
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
    assert_eq!(hipchat.notification_count(5), 1);
    // Bounded: a host that keeps refusing gets an error, not an endless loop.
    hipchat.force_rate_limit(100);
    let err = host
        .notify(&url, &token.access_token, &Notification::html("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_notice_waits_out_a_rate_limit() {
    let w = installed().await; // its notice is already posted
    assert_eq!(w.hipchat.wait_for_notices(1, 10).await.len(), 1);
    w.hipchat.force_rate_limit(1);
    let status = w
        .hipchat
        .install_as(&w.serve.url(), "second", "s2", Some(9))
        .await
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let posted = w.hipchat.wait_for_notices(2, 15).await;
    assert_eq!(posted.len(), 2, "{}", w.serve.logs());
    assert_eq!(posted[1].room_id, 9);
    assert_eq!(w.hipchat.rate_limited(), 1);
}
