//! The PostgreSQL store: shared by several servers, namespaced, its tables
//! created once and versioned, surviving an outage without being reopened,
//! and TLS as Heroku Postgres needs it.

use std::time::{Duration, Instant};

use connect::config::TlsOptions;
use connect::serve::store::{Store, StoreConfig, StoreError, StoreResult, TenantStore, now_unix};

use super::support::postgres::PostgresServer;
use super::{tenant, token};

async fn start() -> PostgresServer {
    tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap()
}

async fn open_url(url: String, tls: TlsOptions, prefix: &str) -> Store {
    Store::open(&StoreConfig::Postgres { url, tls, pool: 5 }, prefix)
        .await
        .expect("open a postgres store")
}

async fn open(server: &PostgresServer, prefix: &str) -> Store {
    open_url(server.url(), TlsOptions::default(), prefix).await
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

fn unavailable<T: std::fmt::Debug>(outcome: StoreResult<T>) -> String {
    match outcome {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("PostgreSQL at postgres://"), "{why}");
            why
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn two_stores_on_one_database_share_tenants_and_tokens() {
    let server = start().await;
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
    assert_eq!(
        server.sql("SELECT count(*) FROM connect_tokens").as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn add_ons_with_different_prefixes_do_not_see_each_other() {
    let server = start().await;
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
async fn instances_starting_together_create_the_tables_once_and_record_the_version() {
    let server = start().await;
    let stores: Vec<Store> = open_six(&server).await;
    let outcomes = futures_util::future::join_all(stores.iter().map(|s| s.ping())).await;
    for outcome in outcomes {
        outcome.unwrap();
    }
    assert_eq!(
        server.sql("SELECT version FROM connect_schema").as_deref(),
        Some("1")
    );
    // Records are JSON a person can query.
    stores[0].put_tenant(&tenant("t1")).await.unwrap();
    assert_eq!(
        server
            .sql("SELECT data->>'clientKey' FROM connect_tenants")
            .as_deref(),
        Some("t1")
    );
}

async fn open_six(server: &PostgresServer) -> Vec<Store> {
    let mut stores = Vec::new();
    for _ in 0..6 {
        stores.push(open(server, "connect:blog").await);
    }
    stores
}

#[tokio::test]
async fn a_database_set_up_by_a_newer_version_is_refused() {
    let server = start().await;
    open(&server, "p").await.ping().await.unwrap();
    server
        .sql("UPDATE connect_schema SET version = 99")
        .unwrap();
    let why = unavailable(timed(open(&server, "p").await.ping()).await);
    assert!(
        why.contains("newer connect") && why.contains("schema 99"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_fast_while_postgres_is_down_and_recovers_when_it_is_back() {
    let mut server = start().await;
    let store = open(&server, "connect:blog").await;
    store.put_tenant(&tenant("before")).await.unwrap();

    tokio::task::block_in_place(|| server.stop());
    for _ in 0..3 {
        unavailable(timed(store.get_tenant("before")).await);
        unavailable(timed(store.put_tenant(&tenant("during"))).await);
        unavailable(timed(store.ping()).await);
    }

    tokio::task::block_in_place(|| server.restart());
    let deadline = Instant::now() + Duration::from_secs(10);
    while timed(store.ping()).await.is_err() {
        assert!(Instant::now() < deadline, "the store did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its data survived the crash.
    assert_eq!(
        store.get_tenant("before").await.unwrap(),
        Some(tenant("before"))
    );
    store.put_tenant(&tenant("after")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_fast_while_postgres_hangs() {
    let server = start().await;
    let store = open(&server, "connect:blog").await;
    store.put_tenant(&tenant("t1")).await.unwrap();
    server.freeze();
    for _ in 0..2 {
        unavailable(timed(store.get_tenant("t1")).await);
    }
    server.thaw();
    let deadline = Instant::now() + Duration::from_secs(15);
    while timed(store.get_tenant("t1")).await.is_err() {
        assert!(Instant::now() < deadline, "the store did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_while_postgres_is_down_and_creates_its_tables_once_it_is_up() {
    let mut server = start().await;
    tokio::task::block_in_place(|| server.stop());
    let store = open(&server, "connect:blog").await;
    unavailable(timed(store.get_tenant("t1")).await);
    tokio::task::block_in_place(|| server.restart());
    let deadline = Instant::now() + Duration::from_secs(10);
    while timed(store.put_tenant(&tenant("t1"))).await.is_err() {
        assert!(Instant::now() < deadline, "the store never connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
}

#[tokio::test]
async fn a_missing_database_and_wrong_credentials_are_named() {
    let server = start().await;
    let missing = format!("postgres://postgres@127.0.0.1:{}/nosuchdb", server.port());
    let why = unavailable(timed(open_url(missing, TlsOptions::default(), "p").await.ping()).await);
    assert!(why.contains("database does not exist"), "{why}");

    server
        .sql("CREATE ROLE addon LOGIN PASSWORD 'right-pw'")
        .unwrap();
    // The test cluster trusts everyone; make this role prove its password.
    let hba = server.sql("SHOW hba_file").unwrap();
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host all addon 127.0.0.1/32 scram-sha-256\n{rules}"),
    )
    .unwrap();
    server.sql("SELECT pg_reload_conf()").unwrap();
    let wrong = format!(
        "postgres://addon:wrong-pw@127.0.0.1:{}/postgres",
        server.port()
    );
    let why = unavailable(timed(open_url(wrong, TlsOptions::default(), "p").await.ping()).await);
    assert!(why.contains("refused the credentials"), "{why}");
    assert!(!why.contains("wrong-pw"), "{why}");
}

#[tokio::test]
async fn tls_without_verification_is_what_sslmode_require_gives() {
    let server = tokio::task::spawn_blocking(PostgresServer::start_tls)
        .await
        .unwrap();
    let store = open_url(
        server.url_with("sslmode=require"),
        TlsOptions::default(),
        "p",
    )
    .await;
    store.put_tenant(&tenant("t1")).await.unwrap();
    let ssl = server
        .sql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'connect' AND s.ssl")
        .unwrap();
    assert_ne!(ssl, "0", "the store's connection is encrypted");
    // rejectUnauthorized: false means the same.
    let unverified = TlsOptions {
        verify: false,
        ca: None,
    };
    open_url(server.url(), unverified, "p")
        .await
        .ping()
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_full_refuses_an_unknown_ca_with_both_fixes_and_accepts_the_given_one() {
    let server = tokio::task::spawn_blocking(PostgresServer::start_tls)
        .await
        .unwrap();
    let store = open_url(
        server.url_with("sslmode=verify-full"),
        TlsOptions::default(),
        "p",
    )
    .await;
    let why = unavailable(timed(store.ping()).await);
    assert!(why.contains("does not verify"), "{why}");
    assert!(
        why.contains("\"ca\"") && why.contains("sslmode=require"),
        "{why}"
    );

    let tls = TlsOptions {
        verify: true,
        ca: Some(server.ca_file()),
    };
    open_url(server.url(), tls, "p").await.ping().await.unwrap();
}

#[tokio::test]
async fn a_self_signed_certificate_given_as_ca_is_pinned_and_another_is_refused_in_words() {
    // As `openssl req -x509` makes it: self-signed, basic constraints CA:TRUE.
    let server = tokio::task::spawn_blocking(PostgresServer::start_tls_self_signed)
        .await
        .unwrap();
    let pinned = TlsOptions {
        verify: true,
        ca: Some(server.ca_file()),
    };
    let store = open_url(server.url(), pinned, "p").await;
    timed(store.put_tenant(&tenant("t1"))).await.unwrap();
    assert_eq!(
        timed(store.get_tenant("t1")).await.unwrap(),
        Some(tenant("t1"))
    );

    let other = tokio::task::spawn_blocking(PostgresServer::start_tls_self_signed)
        .await
        .unwrap();
    let wrong = TlsOptions {
        verify: true,
        ca: Some(other.ca_file()),
    };
    let why = unavailable(timed(open_url(server.url(), wrong, "p").await.ping()).await);
    assert!(
        why.contains("CA:TRUE") && why.contains("holds neither"),
        "{why}"
    );
    assert!(!why.contains("OtherError"), "{why}");
}

#[tokio::test]
async fn failures_are_named_by_what_happened() {
    let port = super::support::free_port();
    let refused = unavailable(
        timed(
            open_url(
                format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                TlsOptions::default(),
                "p",
            )
            .await
            .ping(),
        )
        .await,
    );
    assert!(refused.contains("refused the connection"), "{refused}");
    assert!(!refused.contains("TLS"), "{refused}");
    let server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let no_tls = unavailable(
        timed(
            open_url(
                server.url_with("sslmode=require"),
                TlsOptions::default(),
                "p",
            )
            .await
            .ping(),
        )
        .await,
    );
    assert!(no_tls.contains("does not offer TLS"), "{no_tls}");
}
