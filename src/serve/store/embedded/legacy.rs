//! The 2015 stack's SQLite layout (jugglingdb-sqlite3 in the same
//! `store.db`): a table `AddonSettings` (`id` INTEGER PRIMARY KEY,
//! `clientKey`, `key`, `val` TEXT holding JSON), written by deleting the
//! old row and inserting a new one, so the highest `id` is the newest.
//! connect never adds a column or an index to it: the Node add-on's
//! jugglingdb rebuilds a table that differs from its model, losing them.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::super::StoreResult;
use super::super::legacy::{CLIENT_INFO, LegacyRecord, parse_client_info, record};
use super::super::types::Tenant;
use super::{EmbeddedStore, op_error};

const TABLE_EXISTS: &str =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'AddonSettings'";

fn table_exists(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.query_row(TABLE_EXISTS, [], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

impl EmbeddedStore {
    /// The installation's record and the cached token under `token_key`.
    pub(in super::super) async fn legacy_find(
        &self,
        oauth_id: &str,
        token_key: &str,
    ) -> StoreResult<Option<LegacyRecord>> {
        let (oauth_id, token_key) = (oauth_id.to_owned(), token_key.to_owned());
        self.read(move |conn, path| {
            let run = || -> rusqlite::Result<Option<LegacyRecord>> {
                if !table_exists(conn)? {
                    return Ok(None);
                }
                let newest = |key: &str| -> rusqlite::Result<Option<(i64, String)>> {
                    conn.query_row(
                        "SELECT id, val FROM AddonSettings WHERE clientKey = ?1 AND key = ?2 ORDER BY id DESC LIMIT 1",
                        params![oauth_id, key],
                        |row| Ok((row.get(0)?, row.get::<_, Option<String>>(1)?.unwrap_or_default())),
                    )
                    .optional()
                };
                let Some((id, text)) = newest(CLIENT_INFO)? else {
                    return Ok(None);
                };
                Ok(Some(LegacyRecord {
                    oauth_id: oauth_id.clone(),
                    place: format!("{}, AddonSettings row {id}", path.display()),
                    info: parse_client_info(&text),
                    created_at: None,
                    token: newest(&token_key)?.map(|(_, t)| t),
                }))
            };
            run().map_err(|e| op_error(path, e))
        })
        .await
    }

    /// Every `clientInfo` record (the newest row of each installation).
    pub(in super::super) async fn legacy_list(&self) -> StoreResult<Vec<LegacyRecord>> {
        self.read(|conn, path| {
            let run = || -> rusqlite::Result<Vec<LegacyRecord>> {
                if !table_exists(conn)? {
                    return Ok(Vec::new());
                }
                let mut stmt = conn.prepare(
                    "SELECT id, clientKey, val FROM AddonSettings WHERE key = ?1
                     AND id = (SELECT max(id) FROM AddonSettings AS newer
                               WHERE newer.clientKey = AddonSettings.clientKey AND newer.key = ?1)
                     ORDER BY clientKey",
                )?;
                let rows = stmt.query_map(params![CLIENT_INFO], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    ))
                })?;
                rows.map(|row| {
                    let (id, oauth_id, text) = row?;
                    Ok(LegacyRecord {
                        oauth_id,
                        place: format!("{}, AddonSettings row {id}", path.display()),
                        info: parse_client_info(&text),
                        created_at: None,
                        token: None,
                    })
                })
                .collect()
            };
            run().map_err(|e| op_error(path, e))
        })
        .await
    }

    /// Whether the `AddonSettings` table exists.
    pub(in super::super) async fn legacy_present(&self) -> StoreResult<bool> {
        self.read(|conn, path| table_exists(conn).map_err(|e| op_error(path, e)))
            .await
    }

    /// Writes `tenant` as jugglingdb did (the old row deleted, a new one
    /// inserted); nothing when the table does not exist.
    pub(in super::super) async fn legacy_write(&self, tenant: &Tenant) -> StoreResult<()> {
        let (oauth_id, text) = (tenant.oauth_id.clone(), record::sql_text(tenant));
        self.write(move |conn, path| {
            let run = |conn: &mut rusqlite::Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if table_exists(&tx)? {
                    tx.execute(
                        "DELETE FROM AddonSettings WHERE clientKey = ?1 AND key = ?2",
                        params![oauth_id, CLIENT_INFO],
                    )?;
                    tx.execute(
                        "INSERT INTO AddonSettings (clientKey, key, val) VALUES (?1, ?2, ?3)",
                        params![oauth_id, CLIENT_INFO, text],
                    )?;
                }
                tx.commit()
            };
            run(conn).map_err(|e| op_error(path, e))
        })
        .await
    }

    /// Deletes every row of the installation (as `settings.del(clientKey)`).
    pub(in super::super) async fn legacy_delete(&self, oauth_id: &str) -> StoreResult<()> {
        let oauth_id = oauth_id.to_owned();
        self.write(move |conn, path| {
            let run = |conn: &mut rusqlite::Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if table_exists(&tx)? {
                    tx.execute(
                        "DELETE FROM AddonSettings WHERE clientKey = ?1",
                        params![oauth_id],
                    )?;
                }
                tx.commit()
            };
            run(conn).map_err(|e| op_error(path, e))
        })
        .await
    }
}
