//! The embedded store: one SQLite file in the project.
//!
//! WAL journal with `synchronous=FULL`: a commit is on disk before the call
//! returns, so an install acknowledged to HipChat survives `kill -9` and a
//! power cut. A busy timeout lets two processes share the file (`connect
//! dev` starts the new server while the old one is still exiting). SQLite
//! calls block, so they run on tokio's blocking pool, never on the runtime.
//! Writes share one connection; reads take one from a small pool, so they
//! go on in parallel and never wait behind a write's fsync (WAL allows it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod legacy;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::types::{decode, encode};
use super::{CachedToken, StoreError, StoreResult, StoredTenant, Tenant, TenantStore, now_unix};

/// The schema this version writes; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

/// How long a call waits for another process holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_V1: &str = "
CREATE TABLE tenants (
    oauth_id   TEXT PRIMARY KEY NOT NULL,
    data       TEXT NOT NULL CHECK (json_valid(data)),
    updated_at INTEGER NOT NULL
);
CREATE TABLE tokens (
    oauth_id   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    data       TEXT NOT NULL CHECK (json_valid(data)),
    PRIMARY KEY (oauth_id, scope)
) WITHOUT ROWID;
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
";

/// Idle read connections kept open; more are opened under load.
const IDLE_READERS: usize = 4;

/// A store in an SQLite file; clones share its connections.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database at `path`, with its parent
    /// directories, and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<EmbeddedStore> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || open_blocking(path))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the SQLite worker failed: {e}")))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    // Runs `f` with the write connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            // A panic while holding the lock cannot leave a transaction open
            // (rusqlite rolls back on drop), so a poisoned lock is still usable.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn, &inner.path)
        })
        .await
    }

    // Runs `f` with a read connection from the pool on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let idle = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_reader(&inner.path).map_err(|e| op_error(&inner.path, e))?,
            };
            let outcome = f(&conn, &inner.path);
            let mut idle = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
            outcome
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("the SQLite worker failed: {e}")))?
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    // No CREATE: the writer made the file; a file deleted since is an error,
    // not a new empty store.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn open_blocking(path: PathBuf) -> StoreResult<EmbeddedStore> {
    let shown = path.display();
    if path.is_dir() {
        return Err(StoreError::Open(format!(
            "{shown} is a directory, not a database file: point the store setting at a file such as {}",
            path.join("store.db").display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Open(format!(
                "cannot create the directory {} for the store file {shown}: {e}; check its permissions or choose another path",
                parent.display()
            ))
        })?;
    }
    create_private(&path)?;
    let mut conn = Connection::open(&path).map_err(|e| open_error(&path, &e))?;
    configure(&mut conn).map_err(|e| open_error(&path, &e))?;
    migrate(&mut conn, &path)?;
    Ok(EmbeddedStore {
        inner: Arc::new(Inner {
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        }),
    })
}

// The file holds every tenant's OAuth secret: a new one is readable by its
// owner only (SQLite gives its -wal and -shm files the same mode). An
// existing file keeps the mode its owner chose.
fn create_private(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Open(format!(
            "cannot create the store file {}: {e}; check the directory's permissions or choose another path",
            path.display()
        ))),
    }
}

fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The first statement that reads the file: a file that is not a
    // database fails here.
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    // IMMEDIATE takes the write lock first, so two processes opening a new
    // file at once do not both try to create the tables.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| open_error(path, &e))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| open_error(path, &e))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA_V1)
                .map_err(|e| open_error(path, &e))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(|e| open_error(path, &e))?;
        }
        SCHEMA_VERSION => {}
        newer => {
            return Err(StoreError::Open(format!(
                "{} was written by a newer connect (store schema {newer}, this one knows {SCHEMA_VERSION}): \
                 upgrade connect or point the store setting at another file",
                path.display()
            )));
        }
    }
    tx.commit().map_err(|e| open_error(path, &e))
}

fn open_error(path: &Path, err: &rusqlite::Error) -> StoreError {
    let shown = path.display();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Open(format!(
            "{shown} is not a readable SQLite database ({err}): move it aside, or delete it \
             (and its -wal/-shm files) to start with an empty store"
        )),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Open(format!(
            "{shown} stayed locked by another process for more than {} s: stop that process and retry",
            BUSY_TIMEOUT.as_secs()
        )),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::Open(format!(
                "cannot open {shown} for reading and writing ({err}): check that it is a writable file \
             in a writable directory"
            ))
        }
        _ => StoreError::Open(format!("cannot open {shown}: {err}")),
    }
}

// Errors during normal operation: corruption is reported as such; anything
// else (locked too long, disk full, I/O) may pass, so the caller may retry.
fn op_error(path: &Path, err: rusqlite::Error) -> StoreError {
    let shown = path.display();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(format!(
            "{shown} is damaged ({err}): move it aside and reinstall the add-on"
        )),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(format!(
                "{shown} stayed locked by another process for more than {} s",
                BUSY_TIMEOUT.as_secs()
            ))
        }
        _ => StoreError::Unavailable(format!("SQLite error on {shown}: {err}")),
    }
}

fn sql_time(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl TenantStore for EmbeddedStore {
    async fn get_tenant(&self, oauth_id: &str) -> StoreResult<Option<Tenant>> {
        let oauth_id = oauth_id.to_owned();
        self.read(move |conn, path| {
            let data: Option<String> = conn
                .prepare_cached("SELECT data FROM tenants WHERE oauth_id = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row(params![oauth_id], |row| row.get(0))
                        .optional()
                })
                .map_err(|e| op_error(path, e))?;
            data.map(|d| {
                decode(
                    &d,
                    &format!("tenant record {oauth_id:?}"),
                    &path.display().to_string(),
                )
            })
            .transpose()
        })
        .await
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let oauth_id = tenant.oauth_id.clone();
        let data = encode(tenant)?;
        self.write(move |conn, path| {
            conn.prepare_cached(
                "INSERT INTO tenants (oauth_id, data, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (oauth_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            )
            .and_then(|mut stmt| stmt.execute(params![oauth_id, data, sql_time(now_unix())]))
            .map_err(|e| op_error(path, e))?;
            Ok(())
        })
        .await
    }

    async fn delete_tenant(&self, oauth_id: &str) -> StoreResult<()> {
        let oauth_id = oauth_id.to_owned();
        self.write(move |conn, path| {
            let run = |conn: &mut Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute("DELETE FROM tokens WHERE oauth_id = ?1", params![oauth_id])?;
                tx.execute("DELETE FROM tenants WHERE oauth_id = ?1", params![oauth_id])?;
                tx.commit()
            };
            run(conn).map_err(|e| op_error(path, e))
        })
        .await
    }

    async fn get_token(&self, oauth_id: &str, scope: &str) -> StoreResult<Option<CachedToken>> {
        let (oauth_id, scope) = (oauth_id.to_owned(), scope.to_owned());
        self.read(move |conn, path| {
            let data: Option<String> = conn
                .prepare_cached("SELECT data FROM tokens WHERE oauth_id = ?1 AND scope = ?2 AND expires_at > ?3")
                .and_then(|mut stmt| {
                    stmt.query_row(params![oauth_id, scope, sql_time(now_unix())], |row| row.get(0))
                        .optional()
                })
                .map_err(|e| op_error(path, e))?;
            data.map(|d| decode(&d, &format!("token record of {oauth_id:?}"), &path.display().to_string())).transpose()
        })
        .await
    }

    async fn put_token(&self, oauth_id: &str, token: &CachedToken) -> StoreResult<()> {
        let oauth_id = oauth_id.to_owned();
        let (scope, expires_at) = (token.scope.clone(), sql_time(token.expires_at));
        let data = encode(token)?;
        self.write(move |conn, path| {
            let now = sql_time(now_unix());
            let run = |conn: &mut Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Expired tokens go here so the table cannot grow without bound.
                tx.execute("DELETE FROM tokens WHERE expires_at <= ?1", params![now])?;
                if expires_at <= now {
                    tx.execute("DELETE FROM tokens WHERE oauth_id = ?1 AND scope = ?2", params![oauth_id, scope])?;
                } else {
                    tx.execute(
                        "INSERT OR REPLACE INTO tokens (oauth_id, scope, expires_at, data) VALUES (?1, ?2, ?3, ?4)",
                        params![oauth_id, scope, expires_at, data],
                    )?;
                }
                tx.commit()
            };
            run(conn).map_err(|e| op_error(path, e))
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.count_tenants().await.map(drop)
    }

    async fn count_tenants(&self) -> StoreResult<u64> {
        self.read(|conn, path| {
            conn.query_row("SELECT count(*) FROM tenants", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| op_error(path, e))
        })
        .await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<StoredTenant>> {
        self.read(|conn, path| {
            let shown = path.display().to_string();
            let mut stmt = conn
                .prepare("SELECT oauth_id, data FROM tenants ORDER BY oauth_id")
                .map_err(|e| op_error(path, e))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(|e| op_error(path, e))?;
            let mut listed = Vec::new();
            for row in rows {
                let (oauth_id, data) = row.map_err(|e| op_error(path, e))?;
                listed.push(StoredTenant {
                    place: format!("{shown}, table tenants"),
                    oauth_id: oauth_id.clone(),
                    tenant: decode(&data, &format!("tenant record {oauth_id:?}"), &shown)
                        .map_err(|e| e.to_string()),
                });
            }
            Ok(listed)
        })
        .await
    }

    async fn insert_tenant_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        let oauth_id = tenant.oauth_id.clone();
        let data = encode(tenant)?;
        self.write(move |conn, path| {
            conn.prepare_cached(
                "INSERT INTO tenants (oauth_id, data, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (oauth_id) DO NOTHING",
            )
            .and_then(|mut stmt| stmt.execute(params![oauth_id, data, sql_time(now_unix())]))
            .map(|inserted| inserted == 1)
            .map_err(|e| op_error(path, e))
        })
        .await
    }

    async fn put_tenants(&self, tenants: &[Tenant]) -> StoreResult<()> {
        let rows: Vec<(String, String)> = tenants
            .iter()
            .map(|t| Ok((t.oauth_id.clone(), encode(t)?)))
            .collect::<StoreResult<_>>()?;
        self.write(move |conn, path| {
            let run = |conn: &mut Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = sql_time(now_unix());
                for (oauth_id, data) in &rows {
                    tx.execute(
                        "INSERT INTO tenants (oauth_id, data, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (oauth_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                        params![oauth_id, data, now],
                    )?;
                }
                tx.commit()
            };
            run(conn).map_err(|e| op_error(path, e))
        })
        .await
    }
}
