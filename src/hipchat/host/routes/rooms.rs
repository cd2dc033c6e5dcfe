//! `POST /v2/room/{id}/notification` and `GET /v2/room/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Limited, Refusal, authorize, room_id, with_flood_headers, with_rate_headers};
use crate::hipchat::host::state::Shared;
use crate::hipchat::jwt::unix_now;
use crate::hipchat::notification::Notification;

/// Posts an add-on's notification to a room: 204, or HipChat's error
/// envelope (400 invalid body, 401 bad token, 403 scope or room, 404 room,
/// 429 limits with `Retry-After`).
pub(crate) async fn notify(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(
        &shared,
        &headers,
        query.as_deref(),
        &["send_notification"],
        room,
    )?;
    let notification = Notification::parse(&body)
        .map_err(|e| caller.refuse(Refusal::BadRequest(e.to_string())))?;
    let now = unix_now();
    let flood = {
        let limits = shared.options.limits;
        shared.lock().limiter.room_message(&limits, room, now)
    };
    if flood.exceeded {
        let refusal = caller.refuse(Refusal::TooMany {
            message: format!(
                "Room {room} accepts {} messages per {} s; retry later",
                flood.limit,
                shared.options.limits.room_window.as_secs()
            ),
            retry_after: flood.retry_after(now),
        });
        return Ok(with_flood_headers(refusal.into_response(), &flood));
    }
    shared.post_notification(room, &caller.oauth_id, &notification);
    let response = StatusCode::NO_CONTENT.into_response();
    Ok(with_rate_headers(
        with_flood_headers(response, &flood),
        &caller.quota,
    ))
}

/// A room's details, in HipChat's shape.
pub(crate) async fn get_room(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let scopes = ["view_room", "view_group", "admin_room", "manage_rooms"];
    let caller = authorize(&shared, &headers, query.as_deref(), &scopes, room)?;
    let name = shared
        .lock()
        .rooms
        .get(&room)
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let api = format!("{}/v2", shared.base_url().unwrap_or_default());
    let body = json!({
        "id": room,
        "name": name,
        "links": {
            "self": format!("{api}/room/{room}"),
            "webhooks": format!("{api}/room/{room}/webhook"),
            "members": format!("{api}/room/{room}/member"),
            "participants": format!("{api}/room/{room}/participant"),
        },
        "is_archived": false,
        "is_guest_accessible": false,
        "privacy": "public",
        "topic": "",
        "version": "00000000",
        "xmpp_jid": format!("{room}_room@conf.localhost"),
    });
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}
