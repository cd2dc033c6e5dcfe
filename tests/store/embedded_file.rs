//! The embedded (SQLite) store: durability, two processes on one file, and
//! clear errors for files it cannot use.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connect::serve::store::{Store, StoreConfig, StoreError, TenantStore, now_unix};

use super::{tenant, token};

/// Set (to a database path) in the child process of the kill test.
const WRITER_DB: &str = "CONNECT_STORE_TEST_WRITER_DB";

fn config(path: &Path) -> StoreConfig {
    StoreConfig::Embedded {
        path: path.to_owned(),
    }
}

async fn open(path: &Path) -> Store {
    Store::open(&config(path), "")
        .await
        .expect("open embedded store")
}

async fn open_error(path: &Path) -> String {
    match Store::open(&config(path), "").await {
        Ok(_) => panic!("{} opened", path.display()),
        Err(StoreError::Open(why)) => why,
        Err(other) => panic!("expected an Open error, got {other:?}"),
    }
}

#[tokio::test]
async fn keeps_tenants_and_tokens_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/store.db");
    let later = now_unix() + 3600;
    {
        let store = open(&path).await;
        store.put_tenant(&tenant("t1")).await.unwrap();
        store
            .put_token("t1", &token("send_notification", later))
            .await
            .unwrap();
    }
    let store = open(&path).await;
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
    assert_eq!(
        store.get_token("t1", "send_notification").await.unwrap(),
        Some(token("send_notification", later))
    );
    assert_eq!(store.kind(), "embedded");
    assert!(
        store.describe().contains("store.db"),
        "{}",
        store.describe()
    );
}

#[tokio::test]
async fn a_new_store_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    store.put_tenant(&tenant("t1")).await.unwrap();
    for file in ["store.db", "store.db-wal"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
    }
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (a, b) = (open(&path).await, open(&path).await);
    a.put_tenant(&tenant("from-a")).await.unwrap();
    b.put_tenant(&tenant("from-b")).await.unwrap();
    assert_eq!(
        b.get_tenant("from-a").await.unwrap(),
        Some(tenant("from-a"))
    );
    assert_eq!(
        a.get_tenant("from-b").await.unwrap(),
        Some(tenant("from-b"))
    );
    b.delete_tenant("from-a").await.unwrap();
    assert_eq!(a.get_tenant("from-a").await.unwrap(), None);
}

/// Kills its child process (SIGKILL) when dropped, even if the test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn keeps_every_acknowledged_write_when_the_writer_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    // This test binary again, running only the writer below.
    let exe = std::env::current_exe().unwrap();
    let mut child = Killed(
        Command::new(exe)
            .args([
                "embedded_file::writer_killed_by_the_kill_test",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(WRITER_DB, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut acknowledged = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reader: Option<Store> = None;
    while acknowledged.len() < 300 {
        assert!(
            Instant::now() < deadline,
            "the writer acknowledged only {} writes",
            acknowledged.len()
        );
        let line = lines.next().expect("the writer exited early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acknowledged.push(id.to_owned());
        }
        // A second process reads the file while the writer is busy with it.
        if acknowledged.len() == 100 && reader.is_none() {
            let store = open(&path).await;
            assert_eq!(
                store.get_tenant(&acknowledged[0]).await.unwrap(),
                Some(tenant(&acknowledged[0]))
            );
            reader = Some(store);
        }
    }
    child.0.kill().unwrap();
    // Acknowledgements already written before the kill count too.
    acknowledged.extend(
        lines
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned)),
    );
    drop(child);
    drop(reader);

    let store = open(&path).await;
    for id in &acknowledged {
        assert_eq!(
            store.get_tenant(id).await.unwrap(),
            Some(tenant(id)),
            "lost {id}"
        );
        assert!(
            store
                .get_token(id, "send_notification")
                .await
                .unwrap()
                .is_some(),
            "lost the token of {id}"
        );
    }
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// The writer of the kill test: stores tenants and tokens as fast as it can
/// and prints `ACK <id>` once each write has returned, until killed.
#[tokio::test]
#[ignore = "run as a child process by keeps_every_acknowledged_write_when_the_writer_is_killed"]
async fn writer_killed_by_the_kill_test() {
    let Some(path) = std::env::var_os(WRITER_DB).map(PathBuf::from) else {
        return;
    };
    let store = open(&path).await;
    let later = now_unix() + 3600;
    for i in 0.. {
        let id = format!("tenant-{i}");
        store.put_tenant(&tenant(&id)).await.unwrap();
        store
            .put_token(&id, &token("send_notification", later))
            .await
            .unwrap();
        println!("ACK {id}");
    }
}

#[tokio::test]
async fn a_directory_as_the_store_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let why = open_error(dir.path()).await;
    assert!(why.contains(&dir.path().display().to_string()), "{why}");
    assert!(why.contains("is a directory"), "{why}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(
        &path,
        "this is a text file, not a database, but long enough to have a header",
    )
    .unwrap();
    let why = open_error(&path).await;
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(why.contains("not a readable SQLite database"), "{why}");
    assert!(why.contains("move it aside"), "{why}");
}

#[tokio::test]
async fn a_parent_that_is_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let why = open_error(&dir.path().join("file/store.db")).await;
    assert!(why.contains("cannot create the directory"), "{why}");
}

#[tokio::test]
async fn a_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(open(&path).await);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let why = open_error(&path).await;
    assert!(why.contains("newer connect"), "{why}");
}

#[tokio::test]
async fn an_unreadable_record_is_reported_as_corrupt_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = open(&path).await;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO tenants (oauth_id, data, updated_at) VALUES ('bad', '{\"clientKey\": \"bad\", \"oauthSecret\": 987654321}', 0)",
            [],
        )
        .unwrap();
    match store.get_tenant("bad").await {
        Err(StoreError::Corrupt(why)) => {
            assert!(why.contains("\"bad\""), "{why}");
            assert!(!why.contains("987654321"), "{why}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
