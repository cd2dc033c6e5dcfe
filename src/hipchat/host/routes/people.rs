//! Users and who is in a room: `GET user`, `GET user/{id}`,
//! `GET room/{id}/participant`, `GET room/{id}/member`, `PUT room/{id}/topic`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{
    Limited, Refusal, authorize, authorize_group, json_body, paging, query_param, room_id,
    with_rate_headers,
};
use crate::hipchat::host::model::User;
use crate::hipchat::host::people::{self, PeopleError, TopicSetter};
use crate::hipchat::host::shapes::{page, user_brief, user_full};
use crate::hipchat::host::state::Shared;

const VIEW_ROOM: &[&str] = &["view_room", "view_group", "admin_room", "manage_rooms"];
const VIEW_GROUP: &[&str] = &["view_group", "admin_group"];

/// A page of users in brief.
fn user_page(shared: &Shared, users: &[User], start: usize, max: usize, self_url: &str) -> Value {
    let api = shared.api_url();
    let items = users
        .iter()
        .skip(start)
        .take(max)
        .map(|u| user_brief(&api, u))
        .collect();
    page(items, start, max, self_url)
}

/// `GET room/{id}/participant`: who is in the room now.
pub(crate) async fn participants(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), VIEW_ROOM, room)?;
    let (start, max) = paging(&caller, query.as_deref(), 100)?;
    let users: Vec<User> = {
        let inner = shared.lock();
        inner
            .participants
            .get(&room)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| inner.users.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let url = format!("{}/room/{room}/participant", shared.api_url());
    let body = user_page(&shared, &users, start, max, &url);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// `GET room/{id}/member`: the room's members (every user of the group
/// but guests; the emulator's rooms are public).
pub(crate) async fn members(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), VIEW_ROOM, room)?;
    let (start, max) = paging(&caller, query.as_deref(), 100)?;
    let users: Vec<User> = shared
        .lock()
        .users
        .values()
        .filter(|u| !u.is_guest)
        .cloned()
        .collect();
    let url = format!("{}/room/{room}/member", shared.api_url());
    let body = user_page(&shared, &users, start, max, &url);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// `PUT room/{id}/topic {"topic"}`: 204; the other add-ons in the room get
/// `room_topic_change`.
pub(crate) async fn topic(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), &["admin_room"], room)?;
    let body = json_body(&caller, &body)?;
    let Some(topic) = body.get("topic").and_then(Value::as_str) else {
        return Err(caller.refuse(Refusal::BadRequest(
            "topic is missing; send {\"topic\": \"New topic\"}".into(),
        )));
    };
    people::set_topic(
        &shared,
        room,
        TopicSetter::AddOn(caller.oauth_id.clone()),
        topic,
    )
    .await
    .map_err(|e| match e {
        PeopleError::UnknownRoom(_) => {
            caller.refuse(Refusal::NotFound(format!("Room {room} not found")))
        }
        other => caller.refuse(Refusal::BadRequest(other.to_string())),
    })?;
    Ok(caller.no_content())
}

/// A user by id, e-mail or `@mention_name`.
pub(crate) fn find_user(shared: &Shared, raw: &str) -> Option<User> {
    let inner = shared.lock();
    if let Ok(id) = raw.parse::<u64>() {
        return inner.users.get(&id).cloned();
    }
    if let Some(mention) = raw.strip_prefix('@') {
        return inner
            .users
            .values()
            .find(|u| u.mention_name.eq_ignore_ascii_case(mention))
            .cloned();
    }
    inner
        .users
        .values()
        .find(|u| u.email.eq_ignore_ascii_case(raw))
        .cloned()
}

/// `GET user/{id_or_email_or_@mention}`.
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let (caller, _) = authorize_group(&shared, &headers, query.as_deref(), VIEW_GROUP)?;
    let Some(user) = find_user(&shared, &raw) else {
        return Err(caller.refuse(Refusal::NotFound(format!("User {raw} not found"))));
    };
    let body = user_full(
        &shared.api_url(),
        &user,
        shared.options.group_id,
        &shared.options.group_name,
    );
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}

/// `GET user`: the group's users (`?include-guests=true` for guests too).
pub(crate) async fn users(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Limited> {
    let (caller, _) = authorize_group(&shared, &headers, query.as_deref(), VIEW_GROUP)?;
    let (start, max) = paging(&caller, query.as_deref(), 100)?;
    let guests = query_param(query.as_deref(), "include-guests").is_some_and(|v| v == "true");
    let users: Vec<User> = shared
        .lock()
        .users
        .values()
        .filter(|u| guests || !u.is_guest)
        .cloned()
        .collect();
    let url = format!("{}/user", shared.api_url());
    let body = user_page(&shared, &users, start, max, &url);
    Ok(with_rate_headers(Json(body).into_response(), &caller.quota))
}
