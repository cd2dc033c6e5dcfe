//! The 2015 stack's Redis layout (atlassian-connect-express-redis): string
//! keys `<oauthId>:<key>`, no prefix, no expiry; `<oauthId>:clientInfo`
//! and `<oauthId>:<scopes joined by |>` hold JSON. Its database is the
//! adapter's `db` option (0 by default: it ignored the URL's path).

use ::redis::aio::MultiplexedConnection;

use super::super::StoreResult;
use super::super::legacy::{CLIENT_INFO, LegacyRecord, parse_client_info, record};
use super::super::types::Tenant;
use super::RedisStore;
use super::bulk::glob_escape;

impl RedisStore {
    fn legacy_key(oauth_id: &str, key: &str) -> String {
        format!("{oauth_id}:{key}")
    }

    // Runs a command on the old layout's database.
    async fn legacy<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        command: ::redis::Cmd,
    ) -> StoreResult<T> {
        self.run_on(&self.legacy_conn, what, |mut c: MultiplexedConnection| {
            let command = command.clone();
            async move { command.query_async(&mut c).await }
        })
        .await
    }

    /// The installation's record and the cached token under `token_key`.
    pub(in super::super) async fn legacy_find(
        &self,
        oauth_id: &str,
        token_key: &str,
    ) -> StoreResult<Option<LegacyRecord>> {
        let key = Self::legacy_key(oauth_id, CLIENT_INFO);
        let mut command = ::redis::cmd("MGET");
        command.arg(&key).arg(Self::legacy_key(oauth_id, token_key));
        let values: Vec<Option<String>> = self
            .legacy("reading the 2015 add-on's record", command)
            .await?;
        let mut values = values.into_iter();
        let (info, token) = (values.next().flatten(), values.next().flatten());
        Ok(info.map(|text| LegacyRecord {
            oauth_id: oauth_id.to_owned(),
            place: format!("Redis key {key}"),
            info: parse_client_info(&text),
            created_at: None,
            token,
        }))
    }

    /// Every `*:clientInfo` record.
    pub(in super::super) async fn legacy_list(&self) -> StoreResult<Vec<LegacyRecord>> {
        let keys: Vec<String> = self
            .scan_on(
                &self.legacy_conn,
                "listing the 2015 add-on's records",
                &format!("*:{CLIENT_INFO}"),
            )
            .await?
            .into_iter()
            .filter(|k| !k.starts_with(&format!("{}:", self.prefix)))
            .collect();
        let mut records = Vec::new();
        for chunk in keys.chunks(500) {
            let mut command = ::redis::cmd("MGET");
            command.arg(chunk);
            let values: Vec<Option<String>> = self
                .legacy("listing the 2015 add-on's records", command)
                .await?;
            for (key, value) in chunk.iter().zip(values) {
                let Some(text) = value else { continue };
                let oauth_id = key
                    .strip_suffix(&format!(":{CLIENT_INFO}"))
                    .unwrap_or(key)
                    .to_owned();
                records.push(LegacyRecord {
                    oauth_id,
                    place: format!("Redis key {key}"),
                    info: parse_client_info(&text),
                    created_at: None,
                    token: None,
                });
            }
        }
        Ok(records)
    }

    /// Whether any `*:clientInfo` key exists (stops at the first).
    pub(in super::super) async fn legacy_present(&self) -> StoreResult<bool> {
        let pattern = format!("*:{CLIENT_INFO}");
        let mut cursor: u64 = 0;
        loop {
            let mut command = ::redis::cmd("SCAN");
            command
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self
                .legacy("looking for the 2015 add-on's records", command)
                .await?;
            if keys
                .iter()
                .any(|k| !k.starts_with(&format!("{}:", self.prefix)))
            {
                return Ok(true);
            }
            if next == 0 {
                return Ok(false);
            }
            cursor = next;
        }
    }

    /// Writes `tenant` as the Redis adapter did.
    pub(in super::super) async fn legacy_write(&self, tenant: &Tenant) -> StoreResult<()> {
        let mut command = ::redis::cmd("SET");
        command
            .arg(Self::legacy_key(&tenant.oauth_id, CLIENT_INFO))
            .arg(record::redis_text(tenant));
        self.legacy::<()>("writing the 2015 add-on's record", command)
            .await
    }

    /// Deletes every `<oauthId>:*` key (what the 2016 template's own
    /// `uninstalled` handler did).
    pub(in super::super) async fn legacy_delete(&self, oauth_id: &str) -> StoreResult<()> {
        let keys = self
            .scan_on(
                &self.legacy_conn,
                "deleting the 2015 add-on's records",
                &format!("{}:*", glob_escape(oauth_id)),
            )
            .await?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut command = ::redis::cmd("DEL");
        command.arg(&keys);
        self.legacy::<()>("deleting the 2015 add-on's records", command)
            .await
    }
}
