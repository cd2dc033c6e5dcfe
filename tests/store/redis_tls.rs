//! Redis over TLS (`rediss://`), as Heroku Redis requires: verified against
//! the system roots or a CA file, or deliberately unverified; a certificate
//! that does not verify is never accepted silently.

use connect::config::TlsOptions;
use connect::serve::store::{Store, StoreConfig, StoreError, TenantStore};

use super::support::redis::RedisServer;
use super::tenant;

async fn open(url: String, tls: TlsOptions) -> Store {
    Store::open(&StoreConfig::Redis { url, tls }, "connect:blog")
        .await
        .expect("open a TLS redis store")
}

fn unverified() -> TlsOptions {
    TlsOptions {
        verify: false,
        ca: None,
    }
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_is_refused_with_both_fixes() {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    // The test CA is not among the system's roots.
    let store = open(server.tls_url(), TlsOptions::default()).await;
    for outcome in [store.ping().await, store.put_tenant(&tenant("t1")).await] {
        match outcome {
            Err(StoreError::Unavailable(why)) => {
                assert!(why.contains("does not verify"), "{why}");
                assert!(why.contains("self-signed or signed by a CA"), "{why}");
                assert!(why.contains("\"ca\""), "{why}");
                assert!(why.contains("\"rejectUnauthorized\": false"), "{why}");
                assert!(why.contains("#insecure"), "{why}");
            }
            other => panic!("expected a certificate error, got {other:?}"),
        }
    }
    assert_eq!(
        server.command("DBSIZE").unwrap(),
        ":0\r\n",
        "nothing was written"
    );
}

#[tokio::test]
async fn reject_unauthorized_false_accepts_a_self_signed_certificate() {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    let store = open(server.tls_url(), unverified()).await;
    store.put_tenant(&tenant("t1")).await.unwrap();
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
    assert_eq!(server.command("DBSIZE").unwrap(), ":1\r\n");
}

#[tokio::test]
async fn the_insecure_url_fragment_accepts_it_too() {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    let store = open(
        format!("{}#insecure", server.tls_url()),
        TlsOptions::default(),
    )
    .await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_ca_file_verifies_the_certificate() {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    let tls = TlsOptions {
        verify: true,
        ca: Some(server.ca_file()),
    };
    let store = open(server.tls_url(), tls).await;
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let server = tokio::task::spawn_blocking(|| RedisServer::start_tls_for(&["cache.example"]))
        .await
        .unwrap();
    let tls = TlsOptions {
        verify: true,
        ca: Some(server.ca_file()),
    };
    match open(server.tls_url(), tls).await.ping().await {
        Err(StoreError::Unavailable(why)) => {
            assert!(
                why.contains("issued for cache.example, not for 127.0.0.1"),
                "{why}"
            )
        }
        other => panic!("expected a host name error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plain_url_to_a_tls_port_suggests_rediss() {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    let plain = server.tls_url().replace("rediss://", "redis://");
    let store = open(plain, TlsOptions::default()).await;
    match store.ping().await {
        Err(StoreError::Unavailable(why)) => assert!(why.contains("rediss://"), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_self_signed_certificate_given_as_ca_is_pinned_and_another_is_refused_in_words() {
    // As `openssl req -x509` makes it: self-signed, basic constraints CA:TRUE.
    let server = tokio::task::spawn_blocking(RedisServer::start_tls_self_signed)
        .await
        .unwrap();
    let pinned = TlsOptions {
        verify: true,
        ca: Some(server.ca_file()),
    };
    let store = open(server.tls_url(), pinned).await;
    store.put_tenant(&tenant("t1")).await.unwrap();
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));

    let other = tokio::task::spawn_blocking(RedisServer::start_tls_self_signed)
        .await
        .unwrap();
    let wrong = TlsOptions {
        verify: true,
        ca: Some(other.ca_file()),
    };
    match open(server.tls_url(), wrong).await.ping().await {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("CA:TRUE"), "{why}");
            assert!(why.contains("holds neither"), "{why}");
            assert!(
                !why.contains("OtherError") && !why.contains("CaUsedAsEndEntity"),
                "{why}"
            );
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_called_refused_not_a_tls_problem() {
    let port = super::support::free_port();
    for url in [
        format!("redis://127.0.0.1:{port}/0"),
        format!("rediss://127.0.0.1:{port}/0"),
    ] {
        match open(url.clone(), TlsOptions::default()).await.ping().await {
            Err(StoreError::Unavailable(why)) => {
                assert!(why.contains("refused the connection"), "{url}: {why}");
                assert!(
                    !why.contains("TLS") && !why.contains("use a rediss"),
                    "{url}: {why}"
                );
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
