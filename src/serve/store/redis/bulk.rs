//! The Redis store's operations on many tenants: counting and listing them
//! (SCAN over the tenant keys, never KEYS), inserting one only if absent
//! (SET NX), storing many at once (MULTI/EXEC).

use ::redis::{RedisResult, Value};

use super::super::types::{decode, encode};
use super::super::{StoreResult, StoredTenant, Tenant};
use super::RedisStore;

/// Keys asked for per SCAN step and per MGET.
const BATCH: usize = 500;

/// `pattern` with the glob characters Redis's MATCH knows escaped.
pub fn glob_escape(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisStore {
    /// Every key matching `pattern` (a MATCH glob).
    pub(super) async fn scan(&self, what: &str, pattern: &str) -> StoreResult<Vec<String>> {
        self.scan_on(&self.conn, what, pattern).await
    }

    /// [`RedisStore::scan`] on a given connection.
    pub(super) async fn scan_on(
        &self,
        conn: &super::connection::Reconnecting,
        what: &str,
        pattern: &str,
    ) -> StoreResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .run_on(conn, what, |mut c| {
                    let pattern = pattern.to_owned();
                    async move {
                        ::redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(&pattern)
                            .arg("COUNT")
                            .arg(BATCH)
                            .query_async(&mut c)
                            .await
                    }
                })
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The values of `keys`, in order (`None` for one deleted meanwhile).
    pub(super) async fn get_many(
        &self,
        what: &str,
        keys: &[String],
    ) -> StoreResult<Vec<Option<String>>> {
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let batch: Vec<Option<String>> = self
                .run(what, |mut c| {
                    let chunk = chunk.to_vec();
                    async move { ::redis::cmd("MGET").arg(&chunk).query_async(&mut c).await }
                })
                .await?;
            values.extend(batch);
        }
        Ok(values)
    }

    fn tenant_pattern(&self) -> String {
        format!("{}:tenant:*", glob_escape(&self.prefix))
    }

    pub(super) async fn count(&self) -> StoreResult<u64> {
        Ok(self
            .scan("counting the tenants", &self.tenant_pattern())
            .await?
            .len() as u64)
    }

    pub(super) async fn list(&self) -> StoreResult<Vec<StoredTenant>> {
        let keys = self
            .scan("listing the tenants", &self.tenant_pattern())
            .await?;
        let values = self.get_many("listing the tenants", &keys).await?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(key, value)| {
                let value = value?;
                let escaped = key
                    .rsplit_once(":tenant:")
                    .map_or(key.as_str(), |(_, id)| id);
                Some(StoredTenant {
                    oauth_id: escaped.replace("%3A", ":").replace("%25", "%"),
                    tenant: decode(&value, &format!("tenant record {key:?}"), "Redis")
                        .map_err(|e| e.to_string()),
                    place: format!("Redis at {}, key {key}", self.address),
                })
            })
            .collect())
    }

    pub(super) async fn insert_if_absent(&self, tenant: &Tenant) -> StoreResult<bool> {
        let key = self.tenant_key(&tenant.oauth_id);
        let data = encode(tenant)?;
        let answer: Value = self
            .run("storing a tenant", |mut c| {
                let (key, data) = (key.clone(), data.clone());
                async move {
                    ::redis::cmd("SET")
                        .arg(&key)
                        .arg(&data)
                        .arg("NX")
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        Ok(matches!(answer, Value::Okay))
    }

    pub(super) async fn put_many(&self, tenants: &[Tenant]) -> StoreResult<()> {
        let pairs: Vec<(String, String)> = tenants
            .iter()
            .map(|t| Ok((self.tenant_key(&t.oauth_id), encode(t)?)))
            .collect::<StoreResult<_>>()?;
        self.run("storing tenants", |mut c| {
            let pairs = pairs.clone();
            async move {
                let mut pipe = ::redis::pipe();
                pipe.atomic();
                for (key, data) in &pairs {
                    pipe.cmd("SET").arg(key).arg(data).ignore();
                }
                let done: RedisResult<()> = pipe.exec_async(&mut c).await;
                done
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_a_prefix_match_only_themselves() {
        assert_eq!(
            glob_escape("connect:com.x*y?[z]"),
            "connect:com.x\\*y\\?\\[z\\]"
        );
    }
}
