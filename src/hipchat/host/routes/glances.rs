//! The glance push calls: `POST addon/ui/room/{id}`, `addon/ui/user/{id}`
//! and `addon/ui` (the whole group), answered 204.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::people::find_user;
use super::{Caller, Limited, Refusal, authorize, authorize_group, json_body, room_id};
use crate::hipchat::host::glances;
use crate::hipchat::host::model::GlanceScope;
use crate::hipchat::host::state::Shared;

fn apply(
    shared: &Shared,
    caller: &Caller,
    scope: GlanceScope,
    body: &Bytes,
) -> Result<Response, Limited> {
    let body = json_body(caller, body)?;
    glances::push(shared, &caller.oauth_id, scope, &body).map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        caller.refuse(Refusal::BadRequest(format!(
            "Invalid glance update: {}",
            listed.join("; ")
        )))
    })?;
    Ok(caller.no_content())
}

/// For everyone in a room (scope `view_room`).
pub(crate) async fn room(
    State(shared): State<Arc<Shared>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let room = room_id(&room)?;
    let caller = authorize(&shared, &headers, query.as_deref(), &["view_room"], room)?;
    apply(&shared, &caller, GlanceScope::Room(room), &body)
}

/// For one user in every room (scope `view_group`).
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let (caller, _) = authorize_group(&shared, &headers, query.as_deref(), &["view_group"])?;
    let Some(user) = find_user(&shared, &raw) else {
        return Err(caller.refuse(Refusal::NotFound(format!("User {raw} not found"))));
    };
    apply(&shared, &caller, GlanceScope::User(user.id), &body)
}

/// For the whole group (scope `view_group`; not for room installs).
pub(crate) async fn group(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Limited> {
    let (caller, home) = authorize_group(&shared, &headers, query.as_deref(), &["view_group"])?;
    if let Some(home) = home {
        return Err(caller.refuse(Refusal::Forbidden(format!(
            "This add-on is installed in room {home} only; push with POST /addon/ui/room/{home}"
        ))));
    }
    apply(&shared, &caller, GlanceScope::Group, &body)
}
