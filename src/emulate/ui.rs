//! The control API of HipChat's other half (see README.md beside this
//! file): users, who is in a room, topics, private messages, signed URLs
//! of add-on pages, glance content, and the host side of the JavaScript
//! API that the page calls for its add-on iframes.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::control::{ApiResult, existing_room, not_installed, room_path};
use super::error::{ApiError, json_rejection};
use super::forward::{forwarded_url, forwarding_origin};
use super::server::AppState;
use super::views::{DeliveryView, MessageView};
use crate::hipchat::host::{PageError, PeopleError, Theme, User};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/users", get(users))
        .route("/_emulator/users/{user_id}/messages", get(private_messages))
        .route("/_emulator/rooms/{room_id}", get(room))
        .route("/_emulator/rooms/{room_id}/participants", post(enter))
        .route(
            "/_emulator/rooms/{room_id}/participants/{user_id}",
            delete(leave),
        )
        .route("/_emulator/rooms/{room_id}/topic", put(topic))
        .route(
            "/_emulator/installs/{oauth_id}/modules/{key}/url",
            post(module_url),
        )
        .route("/_emulator/installs/{oauth_id}/call", post(api_call))
        .route("/_emulator/installs/{oauth_id}/glances", get(glances))
        .route("/_emulator/glances", get(pushed_glances))
}

/// A user of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// Id (JWT `sub`).
    pub id: u64,
    /// Display name.
    pub name: String,
    /// `@name` without the `@`.
    pub mention_name: String,
    /// E-mail.
    pub email: String,
    /// Title.
    pub title: String,
    /// A group admin.
    pub is_admin: bool,
    /// A guest.
    pub is_guest: bool,
    /// Time zone.
    pub timezone: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            name: u.name.clone(),
            mention_name: u.mention_name.clone(),
            email: u.email.clone(),
            title: u.title.clone(),
            is_admin: u.is_admin,
            is_guest: u.is_guest,
            timezone: u.timezone.clone(),
        }
    }
}

async fn users(State(state): State<AppState>) -> Json<Vec<UserView>> {
    Json(state.host.users().iter().map(UserView::from).collect())
}

fn user_path(raw: &str) -> ApiResult<u64> {
    raw.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "user id {raw:?} is not a number; GET /_emulator/users lists the users"
        ))
    })
}

fn existing_user(state: &AppState, id: u64) -> ApiResult<User> {
    state.host.user(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no user {id}; GET /_emulator/users lists the users"
        ))
    })
}

async fn private_messages(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let id = user_path(&user_id)?;
    existing_user(&state, id)?;
    Ok(Json(
        state
            .host
            .private_messages(id)
            .iter()
            .map(MessageView::from)
            .collect(),
    ))
}

async fn room(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let room_id = room_path(path)?;
    existing_room(&state, room_id)?;
    let name = state
        .host
        .rooms()
        .into_iter()
        .find(|r| r.id == room_id)
        .map(|r| r.name)
        .unwrap_or_default();
    let participants: Vec<UserView> = state
        .host
        .participants(room_id)
        .iter()
        .map(UserView::from)
        .collect();
    Ok(Json(json!({
        "id": room_id,
        "name": name,
        "topic": state.host.topic(room_id),
        "participants": participants,
    })))
}

fn people_error(e: PeopleError) -> ApiError {
    match e {
        PeopleError::UnknownRoom(id) => ApiError::not_found(format!(
            "no room {id}; GET /_emulator/rooms lists the rooms"
        )),
        PeopleError::UnknownUser(id) => ApiError::not_found(format!(
            "no user {id}; GET /_emulator/users lists the users"
        )),
        PeopleError::TopicTooLong(_) => ApiError::bad_request(e.to_string()),
    }
}

/// Body of `POST /_emulator/rooms/{roomId}/participants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Entering {
    user_id: u64,
}

fn deliveries_json(deliveries: &[crate::hipchat::host::Delivery]) -> Value {
    json!({"deliveries": deliveries.iter().map(DeliveryView::from).collect::<Vec<_>>()})
}

async fn enter(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Entering>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let room_id = room_path(path)?;
    let Json(body) = body.map_err(json_rejection)?;
    let deliveries = state
        .host
        .enter_room(room_id, body.user_id)
        .await
        .map_err(people_error)?;
    Ok(Json(deliveries_json(&deliveries)))
}

async fn leave(
    State(state): State<AppState>,
    Path((room_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let room = room_id.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "room id {room_id:?} is not a number; GET /_emulator/rooms lists the rooms"
        ))
    })?;
    let user = user_path(&user_id)?;
    let deliveries = state
        .host
        .leave_room(room, user)
        .await
        .map_err(people_error)?;
    Ok(Json(deliveries_json(&deliveries)))
}

/// Body of `PUT /_emulator/rooms/{roomId}/topic`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewTopic {
    topic: String,
    /// Who sets it (default: user 1).
    user_id: Option<u64>,
}

async fn topic(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewTopic>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let room_id = room_path(path)?;
    let Json(body) = body.map_err(json_rejection)?;
    let deliveries = state
        .host
        .set_topic(room_id, body.user_id.unwrap_or(1), body.topic.trim())
        .await
        .map_err(people_error)?;
    Ok(Json(deliveries_json(&deliveries)))
}

/// Who looks at a page, and where.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Viewer {
    /// The room (default: the install's room, else 1).
    room_id: Option<u64>,
    /// The user (default: 1).
    user_id: Option<u64>,
    /// `light` (default) or `dark`.
    theme: Option<Theme>,
}

fn page_error(e: PageError) -> ApiError {
    match e {
        PageError::NotInstalled(id) => not_installed(&id),
        PageError::UnknownModule { .. } | PageError::UnknownUser(_) => {
            ApiError::not_found(e.to_string())
        }
        PageError::NoPage(_) | PageError::WrongRoom { .. } => ApiError::bad_request(e.to_string()),
        PageError::Revoked(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        PageError::Signing(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn viewer_room(state: &AppState, oauth_id: &str, asked: Option<u64>) -> ApiResult<u64> {
    let installation = state
        .host
        .installation(oauth_id)
        .ok_or_else(|| not_installed(oauth_id))?;
    Ok(asked.or(installation.room_id).unwrap_or(1))
}

/// The `Host` the request came to: where the browser reaches the emulator.
fn request_host(state: &AppState, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            state
                .chat_url
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_owned()
        })
}

async fn module_url(
    State(state): State<AppState>,
    Path((oauth_id, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Viewer>>,
) -> ApiResult<Json<Value>> {
    let viewer = body.map(|Json(v)| v).unwrap_or_default();
    let room_id = viewer_room(&state, &oauth_id, viewer.room_id)?;
    let host = request_host(&state, &headers);
    let xdmhost = format!("http://{host}");
    let page = state
        .host
        .sign_page(
            &oauth_id,
            &key,
            viewer.user_id.unwrap_or(1),
            room_id,
            viewer.theme.unwrap_or_default(),
            Some(&xdmhost),
        )
        .map_err(page_error)?;
    let direct = url::Url::parse(&page.url)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let add_on_key = state
        .host
        .installation(&oauth_id)
        .map(|i| i.key)
        .unwrap_or_default();
    let slug = state.origins.register(&add_on_key, &direct);
    let origin = forwarding_origin(&slug, &host);
    Ok(Json(json!({
        "url": forwarded_url(&direct, &origin),
        "directUrl": page.url,
        "origin": origin,
        "kind": page.module.kind,
        "module": page.module,
        "claims": page.signed.claims,
        "roomId": room_id,
    })))
}

/// Body of `POST /_emulator/installs/{oauthId}/call`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ApiCall {
    /// `auth.withToken`, `room.getRoomDetails`, `room.getParticipants` or
    /// `user.getCurrentUser`.
    call: String,
    room_id: Option<u64>,
    user_id: Option<u64>,
}

/// The calls of the JavaScript API that need the host: what the callback
/// gets, `{"result": ...}`, or `{"error": "..."}` as HipChat passed it
/// (e.g. a missing `view_room` scope).
async fn api_call(
    State(state): State<AppState>,
    Path(oauth_id): Path<String>,
    body: Result<Json<ApiCall>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(call) = body.map_err(json_rejection)?;
    let room_id = viewer_room(&state, &oauth_id, call.room_id)?;
    let user = existing_user(&state, call.user_id.unwrap_or(1))?;
    let needs_view_room = matches!(
        call.call.as_str(),
        "room.getRoomDetails" | "room.getParticipants" | "user.getCurrentUser"
    );
    if needs_view_room && !state.host.has_scope(&oauth_id, "view_room") {
        let have = state
            .host
            .installation(&oauth_id)
            .map(|i| i.scopes.join(", "))
            .unwrap_or_default();
        return Ok(Json(json!({
            "error": format!("Error executing API method - insufficient scopes, needed view_room have {have}")
        })));
    }
    let result = match call.call.as_str() {
        "auth.withToken" => {
            let signed = state
                .host
                .sign_token(&oauth_id, user.id, room_id)
                .map_err(page_error)?;
            json!(signed.token)
        }
        "room.getRoomDetails" => {
            existing_room(&state, room_id)?;
            let details = state.host.page_room_details(room_id);
            json!({
                "id": details["id"],
                "name": details["name"],
                "privacy": details["privacy"],
                "topic": details["topic"],
                "is_archived": details["is_archived"],
                "xmpp_jid": details["xmpp_jid"],
            })
        }
        "room.getParticipants" => {
            let participants = state.host.participants(room_id);
            let (guests, members): (Vec<&User>, Vec<&User>) =
                participants.iter().partition(|u| u.is_guest);
            json!({
                "members": members.iter().map(|u| state.host.page_user(u)).collect::<Vec<_>>(),
                "guests": guests.iter().map(|u| state.host.page_user(u)).collect::<Vec<_>>(),
            })
        }
        "user.getCurrentUser" => state.host.page_user(&user),
        other => {
            return Err(ApiError::bad_request(format!(
                "{other:?} is not a call of the host; the calls are auth.withToken, \
                 room.getRoomDetails, room.getParticipants and user.getCurrentUser"
            )));
        }
    };
    Ok(Json(json!({"result": result})))
}

/// Query of the glance calls.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GlanceQuery {
    room_id: Option<u64>,
    user_id: Option<u64>,
}

async fn glances(
    State(state): State<AppState>,
    Path(oauth_id): Path<String>,
    query: Result<Query<GlanceQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the parameters are ?roomId=N&userId=N",
            e.body_text()
        ))
    })?;
    let room_id = viewer_room(&state, &oauth_id, query.room_id)?;
    let glances = state
        .host
        .glances(&oauth_id, room_id, query.user_id.unwrap_or(1))
        .await
        .map_err(page_error)?;
    Ok(Json(json!(glances)))
}

async fn pushed_glances(
    State(state): State<AppState>,
    query: Result<Query<GlanceQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the parameters are ?roomId=N&userId=N",
            e.body_text()
        ))
    })?;
    let room_id = query.room_id.unwrap_or(1);
    let user_id = query.user_id.unwrap_or(1);
    let mut out = Vec::new();
    for install in state.host.installations() {
        if install.room_id.is_some_and(|r| r != room_id) {
            continue;
        }
        for glance in install.modules.of(crate::hipchat::modules::Kind::Glance) {
            if let Some((scope, content)) =
                state
                    .host
                    .pushed_glance(&install.oauth_id, &glance.key, room_id, user_id)
            {
                out.push(json!({"oauthId": install.oauth_id, "key": glance.key, "scope": scope, "content": content}));
            }
        }
    }
    Ok(Json(json!(out)))
}
