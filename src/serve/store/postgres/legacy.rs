//! The 2015 stack's PostgreSQL layout: a table `"AddonSettings"` with
//! `"id"`, `"clientKey"`, `"key"`, `"val"` in the same database, as
//! jugglingdb-postgres (`val` varchar) or sequelize (`val` json; ACE 1.x
//! and 2.0 also `createdAt`/`updatedAt`, not null) created it. Its columns
//! are read from the catalog and written as they are; nothing is ever
//! added to the table (the Node add-on's adapters drop what they do not
//! know).

use std::sync::Arc;

use tokio_postgres::types::Type;

use super::super::StoreResult;
use super::super::legacy::{CLIENT_INFO, LegacyRecord, parse_client_info, record};
use super::super::types::Tenant;
use super::{PostgresStore, SET_TIMEOUT};

/// A row as read: `id`, `key` or `clientKey`, `val` as text, `createdAt`.
type Row = (i64, Option<String>, Option<String>, Option<i64>);

/// The table's columns, as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `val` is `json`/`jsonb` (sequelize) rather than text (jugglingdb).
    json: bool,
    /// `createdAt` and `updatedAt` exist (sequelize in ACE 1.x and 2.0).
    timestamps: bool,
}

impl PostgresStore {
    // The table's layout; found once, re-looked for while it is absent
    // (the Node add-on creates it when it starts beside us).
    async fn legacy_layout(&self) -> StoreResult<Option<Layout>> {
        if let Some(layout) = self.legacy_layout.get() {
            return Ok(Some(*layout));
        }
        let columns: Vec<(String, String)> = self
            .run("looking for the 2015 add-on's table", |client| async move {
                client
                    .query_typed(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns
                         WHERE table_name = 'AddonSettings' AND table_schema = current_schema()",
                        &[],
                    )
                    .await
                    .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .await?;
        let has = |name: &str| columns.iter().any(|(c, _)| c == name);
        if !(has("clientKey") && has("key") && has("val") && has("id")) {
            return Ok(None);
        }
        let layout = Layout {
            json: columns
                .iter()
                .any(|(c, t)| c == "val" && (t == "json" || t == "jsonb")),
            timestamps: has("createdAt") && has("updatedAt"),
        };
        let _ = self.legacy_layout.set(layout);
        Ok(Some(layout))
    }

    /// The installation's record and the cached token under `token_key`.
    pub(in super::super) async fn legacy_find(
        &self,
        oauth_id: &str,
        token_key: &str,
    ) -> StoreResult<Option<LegacyRecord>> {
        let Some(layout) = self.legacy_layout().await? else {
            return Ok(None);
        };
        let created = if layout.timestamps {
            "extract(epoch from \"createdAt\")::bigint"
        } else {
            "NULL::bigint"
        };
        let query = Arc::new(format!(
            "SELECT \"id\"::bigint, \"key\"::text, \"val\"::text, {created} FROM \"AddonSettings\"
             WHERE \"clientKey\" = $1 AND \"key\" IN ($2, $3) ORDER BY \"id\" DESC"
        ));
        let rows: Vec<Row> = self
            .run("reading the 2015 add-on's record", |client| {
                let query = query.clone();
                async move {
                    client
                        .query_typed(
                            &query,
                            &[
                                (&oauth_id, Type::TEXT),
                                (&CLIENT_INFO, Type::TEXT),
                                (&token_key, Type::TEXT),
                            ],
                        )
                        .await
                        .map(|rows| {
                            rows.iter()
                                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                                .collect()
                        })
                }
            })
            .await?;
        let newest = |key: &str| rows.iter().find(|(_, k, _, _)| k.as_deref() == Some(key));
        let Some((id, _, text, created)) = newest(CLIENT_INFO) else {
            return Ok(None);
        };
        Ok(Some(LegacyRecord {
            oauth_id: oauth_id.to_owned(),
            place: format!("PostgreSQL at {}, \"AddonSettings\" row {id}", self.address),
            info: parse_client_info(text.as_deref().unwrap_or("")),
            created_at: created.and_then(|c| u64::try_from(c).ok()),
            token: newest(token_key).and_then(|(_, _, t, _)| t.clone()),
        }))
    }

    /// Every `clientInfo` record (the newest row of each installation).
    pub(in super::super) async fn legacy_list(&self) -> StoreResult<Vec<LegacyRecord>> {
        let Some(layout) = self.legacy_layout().await? else {
            return Ok(Vec::new());
        };
        let created = if layout.timestamps {
            "extract(epoch from \"createdAt\")::bigint"
        } else {
            "NULL::bigint"
        };
        let query = Arc::new(format!(
            "SELECT DISTINCT ON (\"clientKey\") \"id\"::bigint, \"clientKey\"::text, \"val\"::text, {created}
             FROM \"AddonSettings\" WHERE \"key\" = $1 ORDER BY \"clientKey\", \"id\" DESC"
        ));
        let rows: Vec<Row> = self
            .run("listing the 2015 add-on's records", |client| {
                let query = query.clone();
                async move {
                    client
                        .query_typed(&query, &[(&CLIENT_INFO, Type::TEXT)])
                        .await
                        .map(|rows| {
                            rows.iter()
                                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                                .collect()
                        })
                }
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, oauth_id, text, created)| LegacyRecord {
                oauth_id: oauth_id.unwrap_or_default(),
                place: format!("PostgreSQL at {}, \"AddonSettings\" row {id}", self.address),
                info: parse_client_info(text.as_deref().unwrap_or("")),
                created_at: created.and_then(|c| u64::try_from(c).ok()),
                token: None,
            })
            .collect())
    }

    /// Whether the table exists.
    pub(in super::super) async fn legacy_present(&self) -> StoreResult<bool> {
        Ok(self.legacy_layout().await?.is_some())
    }

    /// Writes `tenant` as the adapter that made the table did (the old
    /// row deleted, a new one inserted); nothing when there is no table.
    pub(in super::super) async fn legacy_write(&self, tenant: &Tenant) -> StoreResult<()> {
        let Some(layout) = self.legacy_layout().await? else {
            return Ok(());
        };
        let text = record::sql_text(tenant);
        let (value, columns, values) = match (layout.json, layout.timestamps) {
            (true, true) => (
                "$2::json",
                ", \"createdAt\", \"updatedAt\"",
                ", now(), now()",
            ),
            (true, false) => ("$2::json", "", ""),
            (false, true) => ("$2", ", \"createdAt\", \"updatedAt\"", ", now(), now()"),
            (false, false) => ("$2", "", ""),
        };
        let insert = Arc::new(format!(
            "INSERT INTO \"AddonSettings\" (\"clientKey\", \"key\", \"val\"{columns}) VALUES ($1, $3, {value}{values})"
        ));
        self.run("writing the 2015 add-on's record", |mut client| {
            let (insert, text) = (insert.clone(), text.clone());
            async move {
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                tx.execute_typed(
                    "DELETE FROM \"AddonSettings\" WHERE \"clientKey\" = $1 AND \"key\" = $2",
                    &[(&tenant.oauth_id, Type::TEXT), (&CLIENT_INFO, Type::TEXT)],
                )
                .await?;
                tx.execute_typed(
                    &insert,
                    &[
                        (&tenant.oauth_id, Type::TEXT),
                        (&text, Type::TEXT),
                        (&CLIENT_INFO, Type::TEXT),
                    ],
                )
                .await?;
                tx.commit().await
            }
        })
        .await
    }

    /// Deletes every row of the installation (as `settings.del(clientKey)`).
    pub(in super::super) async fn legacy_delete(&self, oauth_id: &str) -> StoreResult<()> {
        if self.legacy_layout().await?.is_none() {
            return Ok(());
        }
        self.run(
            "deleting the 2015 add-on's records",
            |mut client| async move {
                let tx = client.transaction().await?;
                tx.batch_execute(SET_TIMEOUT).await?;
                tx.execute_typed(
                    "DELETE FROM \"AddonSettings\" WHERE \"clientKey\" = $1",
                    &[(&oauth_id, Type::TEXT)],
                )
                .await?;
                tx.commit().await
            },
        )
        .await
    }
}
