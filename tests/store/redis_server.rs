//! The Redis store: shared by several servers, namespaced, and surviving an
//! outage of Redis without being reopened.

use std::time::{Duration, Instant};

use connect::serve::store::{Store, StoreConfig, StoreError, StoreResult, TenantStore, now_unix};

use super::support::redis::RedisServer;
use super::{tenant, token};

async fn open(server: &RedisServer, prefix: &str) -> Store {
    let config = StoreConfig::Redis {
        url: server.url(),
        tls: Default::default(),
    };
    Store::open(&config, prefix)
        .await
        .expect("open redis store")
}

// Fails when a call hangs: it must come back, failed or not, well within this.
const HANG: Duration = Duration::from_secs(3);

async fn timed<T>(call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let started = Instant::now();
    let outcome = call.await;
    assert!(
        started.elapsed() < HANG,
        "a store call took {:?}",
        started.elapsed()
    );
    outcome
}

fn assert_unavailable<T: std::fmt::Debug>(outcome: StoreResult<T>) {
    match outcome {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("Redis at redis://127.0.0.1:"), "{why}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn two_stores_on_one_redis_share_tenants_and_tokens() {
    let server = RedisServer::start();
    let (a, b) = (
        open(&server, "connect:blog").await,
        open(&server, "connect:blog").await,
    );
    let later = now_unix() + 3600;
    a.put_tenant(&tenant("t1")).await.unwrap();
    a.put_token("t1", &token("send_notification", later))
        .await
        .unwrap();
    assert_eq!(b.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
    assert_eq!(
        b.get_token("t1", "send_notification").await.unwrap(),
        Some(token("send_notification", later))
    );

    b.delete_tenant("t1").await.unwrap();
    assert_eq!(a.get_tenant("t1").await.unwrap(), None);
    assert_eq!(a.get_token("t1", "send_notification").await.unwrap(), None);
}

#[tokio::test]
async fn add_ons_with_different_prefixes_do_not_see_each_other() {
    let server = RedisServer::start();
    let (blog, other) = (
        open(&server, "connect:blog").await,
        open(&server, "connect:other").await,
    );
    blog.put_tenant(&tenant("t1")).await.unwrap();
    assert_eq!(other.get_tenant("t1").await.unwrap(), None);
    other.delete_tenant("t1").await.unwrap();
    assert_eq!(blog.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
}

#[tokio::test]
async fn deleting_a_tenant_leaves_no_key_behind() {
    let server = RedisServer::start();
    let store = open(&server, "connect:blog").await;
    let later = now_unix() + 3600;
    store.put_tenant(&tenant("t1")).await.unwrap();
    store
        .put_token("t1", &token("send_notification", later))
        .await
        .unwrap();
    store
        .put_token("t1", &token("view_group", later))
        .await
        .unwrap();
    let keys = server.command("KEYS connect:blog:*").unwrap();
    assert!(
        keys.starts_with("*4\r\n"),
        "expected tenant, set and two tokens: {keys}"
    );
    assert!(
        keys.contains("connect:blog:token:t1:send_notification"),
        "{keys}"
    );

    store.delete_tenant("t1").await.unwrap();
    assert_eq!(server.command("KEYS *").unwrap(), "*0\r\n");
}

#[tokio::test]
async fn tokens_are_stored_with_their_remaining_lifetime_as_ttl() {
    let server = RedisServer::start();
    let store = open(&server, "connect:blog").await;
    store
        .put_token("t1", &token("send_notification", now_unix() + 600))
        .await
        .unwrap();
    let ttl = server
        .command("TTL connect:blog:token:t1:send_notification")
        .unwrap();
    let ttl: u64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn fails_fast_while_redis_is_down_and_recovers_when_it_is_back() {
    let mut server = RedisServer::start();
    let store = open(&server, "connect:blog").await;
    store.put_tenant(&tenant("before")).await.unwrap();

    server.stop();
    for _ in 0..3 {
        assert_unavailable(timed(store.get_tenant("before")).await);
        assert_unavailable(timed(store.put_tenant(&tenant("during"))).await);
        assert_unavailable(timed(store.ping()).await);
    }

    server.restart();
    // The same store, not reopened: it reconnects by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    while timed(store.ping()).await.is_err() {
        assert!(Instant::now() < deadline, "the store did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.put_tenant(&tenant("after")).await.unwrap();
    assert_eq!(
        store.get_tenant("after").await.unwrap(),
        Some(tenant("after"))
    );
}

#[tokio::test]
async fn fails_fast_while_redis_hangs_and_recovers_when_it_answers_again() {
    let server = RedisServer::start();
    let store = open(&server, "connect:blog").await;
    store.put_tenant(&tenant("t1")).await.unwrap();

    server.freeze();
    for _ in 0..3 {
        assert_unavailable(timed(store.get_tenant("t1")).await);
    }
    server.thaw();
    let deadline = Instant::now() + Duration::from_secs(10);
    while timed(store.get_tenant("t1")).await.is_err() {
        assert!(Instant::now() < deadline, "the store did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
}

#[tokio::test]
async fn the_first_call_after_a_restart_succeeds() {
    let mut server = RedisServer::start();
    let store = open(&server, "connect:blog").await;
    store.ping().await.unwrap();
    server.stop();
    assert_unavailable(timed(store.ping()).await);
    server.restart();
    timed(store.put_tenant(&tenant("t1"))).await.unwrap();
}

#[tokio::test]
async fn opens_while_redis_is_down_and_serves_once_it_is_up() {
    let mut server = RedisServer::start();
    server.stop();
    let store = open(&server, "connect:blog").await;
    assert_unavailable(timed(store.get_tenant("t1")).await);
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while timed(store.put_tenant(&tenant("t1"))).await.is_err() {
        assert!(Instant::now() < deadline, "the store never connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
}

#[tokio::test]
async fn uses_the_password_and_database_in_the_url() {
    let server = RedisServer::start_with_password(Some("pw-7f3a"));
    let db3 = server.url().replace("/0", "/3");
    let store = Store::open(
        &StoreConfig::Redis {
            url: db3,
            tls: Default::default(),
        },
        "p",
    )
    .await
    .unwrap();
    store.put_tenant(&tenant("t1")).await.unwrap();
    let keyspace = server.command("INFO keyspace").unwrap();
    assert!(keyspace.contains("db3:keys=1,"), "{keyspace}");
    assert!(!keyspace.contains("db0:"), "{keyspace}");
    assert!(
        !store.describe().contains("pw-7f3a"),
        "{}",
        store.describe()
    );

    let wrong = server.url().replace("pw-7f3a", "not-the-password");
    let store = Store::open(
        &StoreConfig::Redis {
            url: wrong,
            tls: Default::default(),
        },
        "p",
    )
    .await
    .unwrap();
    match timed(store.get_tenant("t1")).await {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("password"), "{why}");
            assert!(!why.contains("not-the-password"), "{why}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    for url in ["", "localhost:6379", "redis://"] {
        match Store::open(
            &StoreConfig::Redis {
                url: url.to_owned(),
                tls: Default::default(),
            },
            "p",
        )
        .await
        {
            Err(StoreError::Open(why)) => assert!(why.contains("redis://"), "{url}: {why}"),
            other => panic!("{url}: expected an Open error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_failover_behind_a_stable_name_keeps_working() {
    // A primary and its replica behind a relay standing for a DNS name.
    let old = RedisServer::start();
    let new = RedisServer::start();
    assert!(
        new.command(&format!("REPLICAOF 127.0.0.1 {}", old.port()))
            .is_some()
    );
    let relay = super::support::relay::Relay::start(old.port()).await;
    let store = Store::open(
        &StoreConfig::Redis {
            url: format!("redis://127.0.0.1:{}/0", relay.port()),
            tls: Default::default(),
        },
        "connect:blog",
    )
    .await
    .unwrap();
    store.put_tenant(&tenant("before")).await.unwrap();
    // The replica has caught up.
    let deadline = Instant::now() + Duration::from_secs(10);
    while new.command("EXISTS connect:blog:tenant:before").as_deref() != Some(":1\r\n") {
        assert!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Failover: the replica is promoted, the name follows it, and the old
    // primary becomes a replica that answers READONLY on the connection
    // the store still holds.
    assert!(new.command("REPLICAOF NO ONE").is_some());
    relay.point_at(new.port());
    assert!(
        old.command(&format!("REPLICAOF 127.0.0.1 {}", new.port()))
            .is_some()
    );
    timed(store.put_tenant(&tenant("after"))).await.unwrap();
    assert_eq!(
        timed(store.get_tenant("before")).await.unwrap(),
        Some(tenant("before"))
    );
    assert_eq!(
        new.command("EXISTS connect:blog:tenant:after").as_deref(),
        Some(":1\r\n")
    );
}
