//! The tenant stores, through the public `Store` API: every backend passes
//! the same behaviour tests; backend-specific ones (durability, sharing,
//! outages) live in `store/`.

mod support;

#[path = "store/embedded_file.rs"]
mod embedded_file;
#[path = "store/postgres_server.rs"]
mod postgres_server;
#[path = "store/redis_server.rs"]
mod redis_server;
#[path = "store/redis_tls.rs"]
mod redis_tls;

use std::time::Duration;

use connect::config::TlsOptions;
use connect::serve::store::{CachedToken, Store, StoreConfig, Tenant, TenantStore, now_unix};
use support::postgres::PostgresServer;
use support::redis::RedisServer;
use tempfile::TempDir;

/// A store plus whatever must live as long as it (its directory, its server).
struct Fixture {
    store: Store,
    _dir: Option<TempDir>,
    _server: Option<Box<dyn std::any::Any>>,
}

async fn memory() -> Fixture {
    let store = Store::open(&StoreConfig::Memory, "connect:test")
        .await
        .expect("open memory store");
    Fixture {
        store,
        _dir: None,
        _server: None,
    }
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = StoreConfig::Embedded {
        path: dir.path().join("store.db"),
    };
    let store = Store::open(&config, "connect:test")
        .await
        .expect("open embedded store");
    Fixture {
        store,
        _dir: Some(dir),
        _server: None,
    }
}

async fn redis() -> Fixture {
    let server = RedisServer::start();
    let config = StoreConfig::Redis {
        url: server.url(),
        tls: Default::default(),
    };
    let store = Store::open(&config, "connect:test")
        .await
        .expect("open redis store");
    Fixture {
        store,
        _dir: None,
        _server: Some(Box::new(server)),
    }
}

async fn redis_tls() -> Fixture {
    let server = tokio::task::spawn_blocking(RedisServer::start_tls)
        .await
        .unwrap();
    let config = StoreConfig::Redis {
        url: server.tls_url(),
        tls: TlsOptions {
            verify: true,
            ca: Some(server.ca_file()),
        },
    };
    let store = Store::open(&config, "connect:test")
        .await
        .expect("open a TLS redis store");
    Fixture {
        store,
        _dir: None,
        _server: Some(Box::new(server)),
    }
}

async fn postgres() -> Fixture {
    let server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let config = StoreConfig::Postgres {
        url: server.url(),
        tls: TlsOptions::default(),
        pool: 5,
    };
    let store = Store::open(&config, "connect:test")
        .await
        .expect("open a postgres store");
    Fixture {
        store,
        _dir: None,
        _server: Some(Box::new(server)),
    }
}

fn tenant(oauth_id: &str) -> Tenant {
    Tenant {
        oauth_id: oauth_id.to_owned(),
        oauth_secret: format!("secret-of-{oauth_id}"),
        capabilities_url: "https://hipchat.example/v2/capabilities".to_owned(),
        capabilities: serde_json::json!({"links": {"self": "https://hipchat.example/v2/capabilities"}}),
        room_id: Some(2589171),
        group_id: 46617,
        group_name: Some("Example".to_owned()),
        installed_at: 1_700_000_000,
        stale_since: None,
    }
}

fn token(scope: &str, expires_at: u64) -> CachedToken {
    CachedToken {
        access_token: format!("token-for-{scope}-{expires_at}"),
        expires_at,
        scope: scope.to_owned(),
        group_id: 46617,
        group_name: Some("Example".to_owned()),
    }
}

async fn stores_reads_and_replaces_a_tenant(f: Fixture) {
    let store = &f.store;
    assert_eq!(store.get_tenant("t1").await.unwrap(), None);
    let mut t1 = tenant("t1");
    t1.room_id = None;
    t1.group_name = None;
    store.put_tenant(&t1).await.unwrap();
    store.put_tenant(&tenant("t2")).await.unwrap();
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(t1.clone()));

    let mut replaced = t1.clone();
    replaced.oauth_secret = "a new secret".to_owned();
    store.put_tenant(&replaced).await.unwrap();
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(replaced));
    assert_eq!(store.get_tenant("t2").await.unwrap(), Some(tenant("t2")));
}

async fn deleting_a_tenant_removes_its_tokens_and_nothing_else(f: Fixture) {
    let store = &f.store;
    let later = now_unix() + 3600;
    for id in ["gone", "kept"] {
        store.put_tenant(&tenant(id)).await.unwrap();
        store
            .put_token(id, &token("send_notification", later))
            .await
            .unwrap();
        store
            .put_token(id, &token("view_group", later))
            .await
            .unwrap();
    }
    store.delete_tenant("gone").await.unwrap();

    assert_eq!(store.get_tenant("gone").await.unwrap(), None);
    assert_eq!(
        store.get_token("gone", "send_notification").await.unwrap(),
        None
    );
    assert_eq!(store.get_token("gone", "view_group").await.unwrap(), None);
    assert_eq!(
        store.get_tenant("kept").await.unwrap(),
        Some(tenant("kept"))
    );
    assert_eq!(
        store.get_token("kept", "view_group").await.unwrap(),
        Some(token("view_group", later))
    );
    // Deleting again (HipChat retries uninstalls) is not an error.
    store.delete_tenant("gone").await.unwrap();
    store.delete_tenant("never-installed").await.unwrap();
}

async fn keeps_one_token_per_tenant_and_scope(f: Fixture) {
    let store = &f.store;
    let later = now_unix() + 3600;
    store
        .put_token("t1", &token("send_notification", later))
        .await
        .unwrap();
    store
        .put_token("t1", &token("view_room", later))
        .await
        .unwrap();
    store
        .put_token("t2", &token("send_notification", later + 1))
        .await
        .unwrap();
    assert_eq!(
        store.get_token("t1", "send_notification").await.unwrap(),
        Some(token("send_notification", later))
    );
    assert_eq!(
        store.get_token("t1", "view_room").await.unwrap(),
        Some(token("view_room", later))
    );
    assert_eq!(
        store.get_token("t2", "send_notification").await.unwrap(),
        Some(token("send_notification", later + 1))
    );
    assert_eq!(store.get_token("t2", "view_room").await.unwrap(), None);

    store
        .put_token("t1", &token("send_notification", later + 60))
        .await
        .unwrap();
    assert_eq!(
        store.get_token("t1", "send_notification").await.unwrap(),
        Some(token("send_notification", later + 60))
    );
}

async fn tokens_are_not_returned_once_expired(f: Fixture) {
    let store = &f.store;
    let now = now_unix();
    store
        .put_token("t1", &token("send_notification", now + 3600))
        .await
        .unwrap();
    // An already expired token replaces (removes) the cached one.
    store
        .put_token("t1", &token("send_notification", now.saturating_sub(5)))
        .await
        .unwrap();
    assert_eq!(
        store.get_token("t1", "send_notification").await.unwrap(),
        None
    );

    // Two seconds, so that a clock tick between here and the write still
    // leaves the token alive when it is read back.
    let soon = now_unix() + 2;
    store
        .put_token("t1", &token("view_room", soon))
        .await
        .unwrap();
    assert_eq!(
        store.get_token("t1", "view_room").await.unwrap(),
        Some(token("view_room", soon))
    );
    while now_unix() < soon {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get_token("t1", "view_room").await.unwrap(), None);
}

async fn ids_and_scopes_containing_separators_stay_apart(f: Fixture) {
    let store = &f.store;
    let later = now_unix() + 3600;
    store.put_token("a:b", &token("c", later)).await.unwrap();
    store
        .put_token("a", &token("b:c", later + 1))
        .await
        .unwrap();
    assert_eq!(
        store.get_token("a:b", "c").await.unwrap(),
        Some(token("c", later))
    );
    assert_eq!(
        store.get_token("a", "b:c").await.unwrap(),
        Some(token("b:c", later + 1))
    );
    store.put_tenant(&tenant("a:b")).await.unwrap();
    store.delete_tenant("a").await.unwrap();
    assert_eq!(store.get_tenant("a:b").await.unwrap(), Some(tenant("a:b")));
    assert!(store.get_token("a:b", "c").await.unwrap().is_some());
}

async fn many_concurrent_writers_lose_nothing(f: Fixture) {
    let later = now_unix() + 3600;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                let id = format!("tenant-{i}");
                store.put_tenant(&tenant(&id)).await.unwrap();
                store
                    .put_token(&id, &token("send_notification", later))
                    .await
                    .unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for i in 0..64 {
        let id = format!("tenant-{i}");
        assert_eq!(
            f.store.get_tenant(&id).await.unwrap(),
            Some(tenant(&id)),
            "{id}"
        );
        assert!(
            f.store
                .get_token(&id, "send_notification")
                .await
                .unwrap()
                .is_some(),
            "{id}"
        );
    }
}

async fn answers_ping(f: Fixture) {
    f.store.ping().await.unwrap();
}

// Every backend runs every behaviour test, as `<backend>::<behaviour>`.
macro_rules! for_every_backend {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $test() { super::$test(super::memory().await).await })*
        }
        mod embedded {
            $(#[tokio::test] async fn $test() { super::$test(super::embedded().await).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $test() { super::$test(super::redis().await).await })*
        }
        mod redis_over_tls {
            $(#[tokio::test] async fn $test() { super::$test(super::redis_tls().await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $test() { super::$test(super::postgres().await).await })*
        }
    };
}

for_every_backend!(
    stores_reads_and_replaces_a_tenant,
    deleting_a_tenant_removes_its_tokens_and_nothing_else,
    keeps_one_token_per_tenant_and_scope,
    tokens_are_not_returned_once_expired,
    ids_and_scopes_containing_separators_stay_apart,
    many_concurrent_writers_lose_nothing,
    answers_ping,
);

#[test]
fn describes_each_backend_without_secrets() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = StoreConfig::Redis {
        url: "redis://:hunter2@127.0.0.1:1/3".to_owned(),
        tls: Default::default(),
    };
    let store = runtime.block_on(Store::open(&config, "p")).unwrap();
    assert_eq!(store.kind(), "redis");
    assert!(
        !store.describe().contains("hunter2"),
        "{}",
        store.describe()
    );
    assert!(!format!("{store:?}").contains("hunter2"));
    assert!(!format!("{:?}", tenant("x")).contains("secret-of-x"));
    assert!(!format!("{:?}", token("s", 1)).contains("token-for"));
}
