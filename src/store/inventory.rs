//! Every installation a store holds, from connect's own records and the
//! 2015 stack's layout beside them, merged by oauthId: where each record
//! lives, and whether it is served.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::serve::store::{Store, StoreResult, Tenant, TenantStore};

/// Where an installation's records are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Places {
    /// connect's own record (`Redis key connect:...:tenant:X`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    /// The 2015 stack's `clientInfo` record.
    #[serde(rename = "2015", skip_serializing_if = "Option::is_none")]
    pub legacy: Option<String>,
}

impl Places {
    /// `connect`, `2015 layout`, or `connect + 2015 layout`.
    pub fn summary(&self) -> &'static str {
        match (&self.connect, &self.legacy) {
            (Some(_), Some(_)) => "connect + 2015 layout",
            (Some(_), None) => "connect",
            (None, Some(_)) => "2015 layout only",
            (None, None) => "-",
        }
    }
}

/// Whether an installation is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Served (or served once its first webhook has proven it).
    Ok,
    /// HipChat refused its credentials at this time (seconds since the
    /// Unix epoch): not served.
    Stale(u64),
    /// A record that cannot be read (why).
    Unreadable(String),
}

/// One installation.
#[derive(Clone, Debug)]
pub struct Installation {
    /// Its oauthId.
    pub oauth_id: String,
    /// The record to serve it with: connect's, else the 2015 one read as
    /// connect would take it over (`None` when unreadable).
    pub tenant: Option<Tenant>,
    /// Where its records are.
    pub places: Places,
    /// Whether it is served.
    pub state: State,
    /// Only the 2015 layout has it: connect takes it over at its first
    /// webhook.
    pub not_yet_converted: bool,
}

/// Reads both layouts of `store`.
pub async fn read(store: &Store) -> StoreResult<Vec<Installation>> {
    let mut all: BTreeMap<String, Installation> = BTreeMap::new();
    for stored in store.list_tenants().await? {
        let (oauth_id, tenant, state) = match stored.tenant {
            Ok(t) => {
                let state = t.stale_since.map_or(State::Ok, State::Stale);
                (t.oauth_id.clone(), Some(t), state)
            }
            Err(why) => (stored.oauth_id.clone(), None, State::Unreadable(why)),
        };
        all.insert(
            oauth_id.clone(),
            Installation {
                oauth_id,
                tenant,
                places: Places {
                    connect: Some(stored.place),
                    legacy: None,
                },
                state,
                not_yet_converted: false,
            },
        );
    }
    for record in store.legacy_list().await? {
        match all.get_mut(&record.oauth_id) {
            Some(known) => known.places.legacy = Some(record.place),
            None => {
                let (tenant, state) = match record.info {
                    Ok(info) => (
                        Some(info.to_tenant(record.created_at.unwrap_or(0))),
                        State::Ok,
                    ),
                    Err(why) => (None, State::Unreadable(why)),
                };
                all.insert(
                    record.oauth_id.clone(),
                    Installation {
                        oauth_id: record.oauth_id,
                        tenant,
                        places: Places {
                            connect: None,
                            legacy: Some(record.place),
                        },
                        state,
                        not_yet_converted: true,
                    },
                );
            }
        }
    }
    Ok(all.into_values().collect())
}
