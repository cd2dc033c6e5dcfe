//! `POST /v2/room/{id}/notification` and `GET /v2/room/{id}`.

use std::sync::Arc;

use super::{
    Limited, Refusal, authorize, query_param, room_id, with_flood_headers, with_rate_headers,
};
use crate::hipchat::host::shapes::room_full;
use crate::hipchat::host::state::Shared;
use crate::hipchat::jwt::unix_now;
use crate::hipchat::notification::Notification;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

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
    crate::hipchat::host::deliver::post_notification(
        &shared,
        room,
        &caller.oauth_id,
        &notification,
    );
    let response = StatusCode::NO_CONTENT.into_response();
    Ok(with_rate_headers(
        with_flood_headers(response, &flood),
        &caller.quota,
    ))
}

/// A room's details, in HipChat's shape (`?expand=participants` gives the
/// participants in full).
pub(crate) async fn get_room(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let scopes = ["view_room", "view_group", "admin_room", "manage_rooms"];
    let caller = authorize(&shared, &headers, query.as_deref(), &scopes, room)?;
    let expand = query_param(query.as_deref(), "expand")
        .is_some_and(|v| v.split(',').any(|e| e.trim() == "participants"));
    let body = room_details(&shared, room, expand);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// `GET room/{id}` of an existing room.
pub(crate) fn room_details(shared: &Shared, room: u64, expand: bool) -> serde_json::Value {
    let (details, topic, participants, owner) = {
        let inner = shared.lock();
        let details = inner
            .rooms
            .get(&room)
            .cloned()
            .unwrap_or(crate::hipchat::host::Room {
                id: room,
                name: format!("Room {room}"),
            });
        let topic = inner.topics.get(&room).cloned().unwrap_or_default();
        let participants: Vec<_> = inner
            .participants
            .get(&room)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| inner.users.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default();
        let owner = inner.users.values().find(|u| u.is_admin).cloned();
        (details, topic, participants, owner)
    };
    room_full(
        &shared.api_url(),
        &details,
        &topic,
        &participants,
        owner.as_ref(),
        expand,
    )
}
