//! Room webhooks made through the REST API (`/v2/room/{id}/webhook`),
//! owned by the calling add-on and delivered like descriptor webhooks.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::{Value, json};

use super::{Limited, Refusal, authorize, room_id, with_rate_headers};
use crate::hipchat::descriptor::Webhook;
use crate::hipchat::host::model::InstalledWebhook;
use crate::hipchat::host::state::Shared;

const SCOPES: &[&str] = &["admin_room"];

fn describe(api: &str, room: u64, hook: &InstalledWebhook) -> Value {
    json!({
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "event": hook.event,
        "pattern": hook.pattern,
        "authentication": hook.authentication,
        "links": {"self": format!("{api}/room/{room}/webhook/{}", hook.id)},
    })
}

fn api(shared: &Shared) -> String {
    format!("{}/v2", shared.base_url().unwrap_or_default())
}

/// The caller's webhooks in the room.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), SCOPES, room)?;
    let api = api(&shared);
    let items: Vec<Value> = shared
        .lock()
        .installs
        .get(&caller.oauth_id)
        .map(|r| {
            r.installation
                .webhooks
                .iter()
                .filter(|h| h.room_id.is_none_or(|r| r == room))
                .map(|h| describe(&api, room, h))
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "items": items,
        "startIndex": 0,
        "maxResults": 100,
        "links": {"self": format!("{api}/room/{room}/webhook")},
    });
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// Creates a webhook: 201 `{"id", "links": {"self"}}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), SCOPES, room)?;
    let bad = |message: String| caller.refuse(Refusal::BadRequest(message));
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let hook = Webhook::from_json(&value).map_err(|e| bad(e.to_string()))?;
    let id = shared.next_id();
    let installed = InstalledWebhook {
        id,
        url: hook.url,
        event: hook.event,
        pattern: hook.pattern,
        name: hook.name,
        authentication: hook.authentication,
        room_id: Some(room),
    };
    {
        let mut inner = shared.lock();
        let Some(record) = inner.installs.get_mut(&caller.oauth_id) else {
            // Credentials of an install still in flight: nothing to attach to yet.
            return Err(caller.refuse(Refusal::Forbidden(
                "the add-on's installation is not complete yet".into(),
            )));
        };
        if let Some(re) = installed
            .pattern
            .as_deref()
            .and_then(|p| Regex::new(p).ok())
        {
            record.patterns.insert(id, re);
        }
        record.installation.webhooks.push(installed);
    }
    let body =
        json!({"id": id, "links": {"self": format!("{}/room/{room}/webhook/{id}", api(&shared))}});
    Ok(with_rate_headers(
        (StatusCode::CREATED, Json(body)).into_response(),
        &caller.quota,
    ))
}

/// Deletes one of the caller's webhooks in the room: 204, or 404.
pub(crate) async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((room, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), SCOPES, room)?;
    let removed = id.parse::<u64>().ok().is_some_and(|id| {
        let mut inner = shared.lock();
        inner
            .installs
            .get_mut(&caller.oauth_id)
            .is_some_and(|record| {
                let before = record.installation.webhooks.len();
                record
                    .installation
                    .webhooks
                    .retain(|h| !(h.id == id && h.room_id == Some(room)));
                let removed = record.installation.webhooks.len() < before;
                if removed {
                    record.patterns.remove(&id);
                }
                removed
            })
    });
    if !removed {
        return Err(caller.refuse(Refusal::NotFound(format!(
            "Webhook {id} not found in room {room}"
        ))));
    }
    Ok(caller.no_content())
}
