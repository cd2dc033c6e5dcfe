//! Glance content: pushed by add-ons (`POST /addon/ui/...`) and kept per
//! group, room or user, or queried from a glance's signed `queryUrl`.

use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::exchange::{self, Outgoing};
use super::model::{ExchangeKind, GlanceScope, HostEvent};
use super::pages::{self, PageError, Theme};
use super::state::Shared;
use crate::hipchat::glance::GlanceContent;
use crate::hipchat::modules::{Kind, ModuleError};

/// Applies a push body `{"glance": [{"key", "content"}]}` for `oauth_id`:
/// every key must be one of its glances and every content valid, or
/// nothing changes. `"content": null` clears what was pushed.
pub(crate) fn push(
    shared: &Shared,
    oauth_id: &str,
    scope: GlanceScope,
    body: &Value,
) -> Result<usize, Vec<ModuleError>> {
    let known: Vec<String> = {
        let inner = shared.lock();
        inner
            .installs
            .get(oauth_id)
            .map(|r| {
                r.installation
                    .modules
                    .of(Kind::Glance)
                    .iter()
                    .map(|m| m.key.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut updates = Vec::new();
    match body.get("glance") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("glance[{i}]");
                let key = item.get("key").and_then(Value::as_str);
                match key {
                    Some(key) if known.iter().any(|k| k == key) => {}
                    Some(key) => {
                        errors.push(ModuleError {
                            field: format!("{path}.key"),
                            problem: format!(
                                "is {key:?}, not a glance of this add-on; its glances are {}",
                                if known.is_empty() {
                                    "none (declare one under capabilities.glance)".to_owned()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        });
                        continue;
                    }
                    None => {
                        errors.push(ModuleError {
                            field: format!("{path}.key"),
                            problem: "is missing; the glance's key from the descriptor".into(),
                        });
                        continue;
                    }
                }
                let key = key.unwrap_or_default().to_owned();
                match item.get("content") {
                    None => errors.push(ModuleError {
                        field: format!("{path}.content"),
                        problem: "is missing; e.g. {\"label\": {\"type\": \"html\", \"value\": \"3 open\"}} (null clears it)".into(),
                    }),
                    Some(Value::Null) => updates.push((key, None)),
                    Some(content) => match GlanceContent::parse(content, &format!("{path}.content")) {
                        Ok(parsed) => updates.push((key, Some(parsed))),
                        Err(mut e) => errors.append(&mut e),
                    },
                }
            }
        }
        _ => errors.push(ModuleError {
            field: "glance".into(),
            problem: "must be a list of {\"key\": ..., \"content\": ...}".into(),
        }),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let count = updates.len();
    for (key, content) in updates {
        {
            let mut inner = shared.lock();
            let slot = (oauth_id.to_owned(), key.clone(), scope);
            match &content {
                Some(c) => inner.glances.insert(slot, c.clone()),
                None => inner.glances.remove(&slot),
            };
        }
        shared.publish(HostEvent::Glance {
            oauth_id: oauth_id.to_owned(),
            key,
            scope,
            content: content.map(Box::new),
        });
    }
    Ok(count)
}

/// The content pushed for one glance as `user_id` sees it in `room_id`:
/// for the user, else for the room, else for the group.
pub(crate) fn pushed(
    shared: &Shared,
    oauth_id: &str,
    key: &str,
    room_id: u64,
    user_id: u64,
) -> Option<(GlanceScope, GlanceContent)> {
    let inner = shared.lock();
    [
        GlanceScope::User(user_id),
        GlanceScope::Room(room_id),
        GlanceScope::Group,
    ]
    .into_iter()
    .find_map(|scope| {
        inner
            .glances
            .get(&(oauth_id.to_owned(), key.to_owned(), scope))
            .map(|c| (scope, c.clone()))
    })
}

/// Where a glance's current content came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GlanceSource {
    /// Pushed by the add-on.
    Push,
    /// Answered by its `queryUrl` just now.
    Query,
    /// Nothing: no push and no `queryUrl`, or the query failed.
    None,
}

/// One glance as a user sees it in a room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlanceState {
    /// Its key.
    pub key: String,
    /// Its name (shown when there is no content).
    pub name: String,
    /// Where the content came from.
    pub source: GlanceSource,
    /// For pushed content, whom it was pushed for.
    pub scope: Option<GlanceScope>,
    /// The content, when there is some.
    pub content: Option<GlanceContent>,
    /// Why there is none (the query's failure).
    pub error: Option<String>,
    /// The exchange of the query, when one was made.
    pub exchange_id: Option<u64>,
}

/// Every glance of an installation as `user_id` sees it in `room_id`: the
/// pushed content, or what its `queryUrl` answers now (signed, recorded).
pub(crate) async fn current(
    shared: &Arc<Shared>,
    oauth_id: &str,
    room_id: u64,
    user_id: u64,
) -> Result<Vec<GlanceState>, PageError> {
    let glances: Vec<_> = {
        let inner = shared.lock();
        let record = inner
            .installs
            .get(oauth_id)
            .ok_or_else(|| PageError::NotInstalled(oauth_id.to_owned()))?;
        record
            .installation
            .modules
            .of(Kind::Glance)
            .into_iter()
            .cloned()
            .collect()
    };
    let mut out = Vec::new();
    for glance in glances {
        let mut state = GlanceState {
            key: glance.key.clone(),
            name: glance.name.clone(),
            source: GlanceSource::None,
            scope: None,
            content: None,
            error: None,
            exchange_id: None,
        };
        if let Some((scope, content)) = pushed(shared, oauth_id, &glance.key, room_id, user_id) {
            state.source = GlanceSource::Push;
            state.scope = Some(scope);
            state.content = Some(content);
        } else if glance.url.is_some() {
            let page = pages::page(
                shared,
                oauth_id,
                &glance.key,
                user_id,
                room_id,
                Theme::Light,
                None,
            )?;
            let (mut record, answer) = exchange::send(
                shared,
                Outgoing {
                    kind: ExchangeKind::Glance,
                    oauth_id: Some(oauth_id.to_owned()),
                    method: Method::GET,
                    url: page.url,
                    headers: vec![("accept".into(), "application/json".into())],
                    body: None,
                    jwt_claims: Some(page.signed.claims),
                    timeout: shared.options.request_timeout,
                },
            )
            .await;
            let result = match answer {
                Err(reason) => Err(reason),
                Ok(a) if !(200..300).contains(&a.status) => {
                    Err(format!("the queryUrl answered HTTP {}", a.status))
                }
                Ok(a) => match serde_json::from_slice::<Value>(&a.body) {
                    Err(e) => Err(format!("the queryUrl did not answer JSON: {e}")),
                    Ok(value) => GlanceContent::parse(&value, "the answer").map_err(|errors| {
                        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
                        format!(
                            "the queryUrl's answer is not glance content: {}",
                            listed.join("; ")
                        )
                    }),
                },
            };
            match result {
                Ok(content) => {
                    state.source = GlanceSource::Query;
                    state.content = Some(content);
                }
                Err(e) => {
                    record.error = Some(e.clone());
                    state.error = Some(e);
                }
            }
            state.exchange_id = Some(shared.record(record));
        }
        out.push(state);
    }
    Ok(out)
}
