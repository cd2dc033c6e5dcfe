//! OAuth clients registered by hand, without a descriptor or an install
//! call: for driving an add-on's install callback with a hand-written or
//! recorded install body, and for rotating a client's secret.

use super::model::Credentials;
use super::state::{Credential, Shared};

/// Registers `credentials` with the token endpoint (replacing the secret of
/// a known oauthId, which also revokes every token the old one obtained),
/// granting `scopes`, limited to `room_id` when given (the room is created
/// if new).
pub(crate) fn register(
    shared: &Shared,
    credentials: &Credentials,
    scopes: &[&str],
    room_id: Option<u64>,
) {
    if let Some(room) = room_id {
        shared.ensure_room(room);
    }
    let mut inner = shared.lock();
    let id = &credentials.oauth_id;
    let previous = inner.credentials.get(id).cloned();
    // An installed add-on keeps the key and name its notifications show.
    let (key, display_name) = previous
        .as_ref()
        .map(|c| (c.key.clone(), c.display_name.clone()))
        .unwrap_or_else(|| (String::new(), id.clone()));
    if previous.is_some_and(|c| c.secret != credentials.oauth_secret) {
        let stale: Vec<String> = inner
            .grants
            .iter()
            .filter(|(_, g)| g.oauth_id == *id)
            .map(|(token, _)| token.clone())
            .collect();
        for token in stale {
            inner.grants.remove(&token);
            inner.limiter.forget_token(&token);
        }
    }
    inner.credentials.insert(
        id.clone(),
        Credential {
            secret: credentials.oauth_secret.clone(),
            key,
            display_name,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            room_id,
            revoked: false,
        },
    );
}
