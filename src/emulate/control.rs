//! The control API under `/_emulator/` (see README.md beside this file):
//! what the page and CI scripts use to install add-ons, talk in rooms and
//! read what happened.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, json_rejection};
use super::server::AppState;
use super::views::{DeliveryView, ExchangeView, InstallView, MessageView, RoomView};
use crate::hipchat::host::User;
use crate::hipchat::host::{InstallError, MessageError, UninstallError};

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// The control API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator", get(info))
        .route("/_emulator/rooms", get(rooms).post(create_room))
        .route(
            "/_emulator/rooms/{room_id}/messages",
            get(super::history::room_messages).post(post_message),
        )
        .route("/_emulator/install", post(install))
        .route("/_emulator/installs", get(installs))
        .route(
            "/_emulator/installs/{oauth_id}",
            get(one_install).delete(uninstall),
        )
        .route(
            "/_emulator/installs/{oauth_id}/revoke",
            post(super::faults::revoke),
        )
        .route(
            "/_emulator/rate-limit",
            post(super::faults::force_rate_limit),
        )
        .route(
            "/_emulator/faults/capabilities",
            post(super::faults::capabilities_fault),
        )
        .route(
            "/_emulator/exchanges",
            get(exchanges).delete(clear_exchanges),
        )
        .route("/_emulator/events", get(super::events::stream))
        .route("/_emulator/{*rest}", axum::routing::any(unknown))
        .method_not_allowed_fallback(wrong_method)
}

async fn info(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "chatUrl": state.chat_url,
        "capabilitiesUrl": state.host.capabilities_url(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// Every call, for the errors that answer a call that does not exist.
const CALLS: &str = "GET /_emulator, GET|POST /_emulator/rooms, GET /_emulator/rooms/{roomId}, \
    GET|POST /_emulator/rooms/{roomId}/messages, POST /_emulator/rooms/{roomId}/participants, \
    DELETE /_emulator/rooms/{roomId}/participants/{userId}, PUT /_emulator/rooms/{roomId}/topic, \
    GET /_emulator/users, GET /_emulator/users/{userId}/messages, POST /_emulator/install, \
    GET /_emulator/installs, GET|DELETE /_emulator/installs/{oauthId}, \
    POST /_emulator/installs/{oauthId}/revoke, POST /_emulator/installs/{oauthId}/modules/{key}/url, \
    POST /_emulator/installs/{oauthId}/call, GET /_emulator/installs/{oauthId}/glances, \
    GET /_emulator/glances, POST /_emulator/rate-limit, POST /_emulator/faults/capabilities, \
    GET|DELETE /_emulator/exchanges, GET /_emulator/events";

async fn unknown(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no control API call at {}; the calls are {CALLS}",
        uri.path()
    ))
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not a control API call on {}; the calls are {CALLS}",
            uri.path()
        ),
    )
}

async fn rooms(State(state): State<AppState>) -> Json<Vec<RoomView>> {
    Json(state.host.rooms().iter().map(RoomView::from).collect())
}

/// Body of `POST /_emulator/rooms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    /// The room's name.
    name: String,
}

async fn create_room(
    State(state): State<AppState>,
    body: Result<Json<NewRoom>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RoomView>)> {
    let Json(body) = body.map_err(json_rejection)?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request(
            "the room name is blank; send {\"name\": \"Ops\"}",
        ));
    }
    let room = state.host.create_room(name);
    Ok((StatusCode::CREATED, Json(RoomView::from(&room))))
}

pub(super) fn room_path(path: Result<Path<String>, PathRejection>) -> ApiResult<u64> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    raw.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "room id {raw:?} is not a number; GET /_emulator/rooms lists the rooms"
        ))
    })
}

pub(super) fn existing_room(state: &AppState, room_id: u64) -> ApiResult<()> {
    if state.host.rooms().iter().any(|r| r.id == room_id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no room {room_id}; GET /_emulator/rooms lists the rooms \
             (installing into a room id creates it)"
        )))
    }
}

/// Body of `POST /_emulator/rooms/{roomId}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewMessage {
    /// What the user types.
    message: String,
    /// The user's display name (default: the emulator's user).
    from: Option<String>,
    /// Or the id of one of the group's users (`GET /_emulator/users`).
    user_id: Option<u64>,
}

/// The user a message is sent as: the default one, or one named `from`
/// with a stable id so JWT `sub` stays the same across messages.
pub fn user_named(from: Option<&str>) -> User {
    match from.map(str::trim).filter(|n| !n.is_empty()) {
        None => User::default(),
        Some(name) => User::named(name),
    }
}

async fn post_message(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let room_id = room_path(path)?;
    let Json(body) = body.map_err(json_rejection)?;
    existing_room(&state, room_id)?;
    let user = match (body.user_id, body.from.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "send either userId or from, not both",
            ));
        }
        (Some(id), None) => state.host.user(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "no user {id}; GET /_emulator/users lists the users"
            ))
        })?,
        (None, from) => user_named(from),
    };
    let posted = state
        .host
        .post_message(room_id, &user, &body.message)
        .await
        .map_err(|e| match e {
            MessageError::Empty | MessageError::TooLong(_) => {
                ApiError::bad_request(format!("{e}; send a message of 1 to 10000 characters"))
            }
        })?;
    let deliveries: Vec<DeliveryView> = posted.deliveries.iter().map(DeliveryView::from).collect();
    state
        .deliveries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keep(&posted.entry.id, deliveries.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "message": MessageView::from(&posted.entry),
            "deliveries": deliveries,
        })),
    ))
}

/// Body of `POST /_emulator/install`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewInstall {
    /// Where the add-on serves its descriptor.
    descriptor_url: String,
    /// The room to install into; absent or null for a global install.
    room_id: Option<u64>,
}

/// The control API's status for each way an install can fail.
fn install_status(error: &InstallError) -> StatusCode {
    match error {
        InstallError::BadDescriptorUrl(_) => StatusCode::BAD_REQUEST,
        InstallError::AlreadyInstalled { .. } => StatusCode::CONFLICT,
        InstallError::BadDescriptor { .. }
        | InstallError::RoomInstallNotAllowed(_)
        | InstallError::GlobalInstallNotAllowed(_) => StatusCode::UNPROCESSABLE_ENTITY,
        InstallError::DescriptorUnreachable { .. }
        | InstallError::DescriptorStatus { .. }
        | InstallError::DescriptorRedirected { .. }
        | InstallError::CallbackUnreachable { .. }
        | InstallError::Rejected { .. } => StatusCode::BAD_GATEWAY,
        InstallError::NoBaseUrl => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn install(
    State(state): State<AppState>,
    body: Result<Json<NewInstall>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<InstallView>)> {
    let Json(body) = body.map_err(json_rejection)?;
    let installation = state
        .host
        .install(body.descriptor_url.trim(), body.room_id)
        .await
        .map_err(|e| ApiError::new(install_status(&e), e.to_string()))?;
    Ok((StatusCode::CREATED, Json(InstallView::from(&installation))))
}

/// An installation with whether it answers.
fn install_view(
    state: &AppState,
    installation: &crate::hipchat::host::Installation,
) -> InstallView {
    InstallView {
        health: Some(state.health.of(&installation.oauth_id)),
        ..InstallView::from(installation)
    }
}

async fn installs(State(state): State<AppState>) -> Json<Vec<InstallView>> {
    Json(
        state
            .host
            .installations()
            .iter()
            .map(|i| install_view(&state, i))
            .collect(),
    )
}

async fn clear_exchanges(State(state): State<AppState>) -> StatusCode {
    state.host.clear_exchanges();
    StatusCode::NO_CONTENT
}

pub(super) fn not_installed(oauth_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no add-on is installed with oauthId {oauth_id}; GET /_emulator/installs lists them"
    ))
}

async fn one_install(
    State(state): State<AppState>,
    Path(oauth_id): Path<String>,
) -> ApiResult<Json<InstallView>> {
    state
        .host
        .installations()
        .iter()
        .find(|i| i.oauth_id == oauth_id)
        .map(|i| Json(install_view(&state, i)))
        .ok_or_else(|| not_installed(&oauth_id))
}

async fn uninstall(
    State(state): State<AppState>,
    Path(oauth_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let done = state.host.uninstall(&oauth_id).await.map_err(|e| match e {
        UninstallError::NotInstalled(id) => not_installed(&id),
    })?;
    Ok(Json(json!({
        "oauthId": done.installation.oauth_id,
        "key": done.installation.key,
        "status": done.status,
        "exchangeId": done.exchange_id,
    })))
}

/// Query of `GET /_emulator/exchanges`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExchangeFilter {
    /// Only this installation's exchanges.
    oauth_id: Option<String>,
    /// Only exchanges with a greater id (to poll for new ones).
    after: Option<u64>,
}

async fn exchanges(
    State(state): State<AppState>,
    query: Result<Query<ExchangeFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<ExchangeView>>> {
    let Query(filter) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; the filters are ?oauthId=ID and ?after=N",
            e.body_text()
        ))
    })?;
    let list = state
        .host
        .exchanges()
        .iter()
        .filter(|e| filter.after.is_none_or(|after| e.id > after))
        .filter(|e| {
            filter
                .oauth_id
                .as_deref()
                .is_none_or(|id| e.oauth_id.as_deref() == Some(id))
        })
        .map(ExchangeView::from)
        .collect();
    Ok(Json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_without_a_sender_come_from_the_default_user() {
        assert_eq!(user_named(None), User::default());
        assert_eq!(user_named(Some("  ")), User::default());
    }

    #[test]
    fn a_named_sender_keeps_one_id_and_a_mention_name_without_spaces() {
        let alice = user_named(Some("Alice Smith"));
        assert_eq!(alice.name, "Alice Smith");
        assert_eq!(alice.mention_name, "AliceSmith");
        assert_eq!(alice.id, user_named(Some("Alice Smith")).id);
        assert_ne!(alice.id, user_named(Some("Bob")).id);
        assert_ne!(alice.id, User::default().id);
    }

    #[test]
    fn install_failures_map_to_the_status_that_tells_whose_fault_it_is() {
        assert_eq!(
            install_status(&InstallError::BadDescriptorUrl("x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            install_status(&InstallError::DescriptorStatus {
                url: "u".into(),
                status: 404
            }),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            install_status(&InstallError::AlreadyInstalled {
                key: "k".into(),
                oauth_id: "o".into()
            }),
            StatusCode::CONFLICT
        );
    }
}
