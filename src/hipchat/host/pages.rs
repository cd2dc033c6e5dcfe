//! Signing what the host shows of an add-on (PROTOCOL.md, Signed iframes):
//! every page URL gets `signed_request` (a JWT with the viewer and room),
//! `theme` and `connect_client_api_version`; `HipChat.auth.withToken`
//! gets a fresh JWT of the same kind.

use serde::Serialize;

use super::deliver::claims_for;
use super::model::User;
use super::state::Shared;
use crate::hipchat::jwt::{self, Algorithm, Claims};
use crate::hipchat::modules::{Kind, Module};

/// Why a page or token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// No such installation (or its credentials were revoked).
    #[error("no add-on is installed with oauthId {0}")]
    NotInstalled(String),
    /// Its credentials were revoked.
    #[error("the installation {0} was revoked; its pages cannot be signed")]
    Revoked(String),
    /// The add-on has no module with this key.
    #[error("the add-on {addon} has no module {key:?}; its modules are {known}")]
    UnknownModule {
        /// The add-on's key.
        addon: String,
        /// The key asked for.
        key: String,
        /// Its module keys, comma-separated.
        known: String,
    },
    /// The module shows no page of its own.
    #[error("{0}")]
    NoPage(String),
    /// No such user.
    #[error("no user {0}; the users are listed by GET /_emulator/users")]
    UnknownUser(u64),
    /// A room install seen from another room.
    #[error("the add-on is installed in room {installed} only, not in room {asked}")]
    WrongRoom {
        /// Its room.
        installed: u64,
        /// The room asked for.
        asked: u64,
    },
    /// Signing failed.
    #[error("cannot sign the JWT: {0}")]
    Signing(String),
}

/// A JWT for an add-on, on behalf of a user in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedToken {
    /// The JWT (a secret: never log it).
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

/// A signed page URL of a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedPage {
    /// The module's URL with `signed_request`, `theme`,
    /// `connect_client_api_version` and, when given, `xdmhost`.
    pub url: String,
    /// The JWT in it, and its claims.
    pub signed: SignedToken,
    /// The module.
    pub module: Module,
}

/// `light` or `dark`, as HipChat passed it to pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// The light theme (HipChat's default).
    #[default]
    Light,
    /// The dark theme.
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// A fresh JWT for `oauth_id`, for `user_id` in `room_id`.
pub(crate) fn token(
    shared: &Shared,
    oauth_id: &str,
    user_id: u64,
    room_id: u64,
) -> Result<SignedToken, PageError> {
    let (secret, user) = {
        let inner = shared.lock();
        let record = inner
            .installs
            .get(oauth_id)
            .ok_or_else(|| PageError::NotInstalled(oauth_id.to_owned()))?;
        if let Some(installed) = record.installation.room_id.filter(|r| *r != room_id) {
            return Err(PageError::WrongRoom {
                installed,
                asked: room_id,
            });
        }
        let credential = inner
            .credentials
            .get(oauth_id)
            .filter(|c| !c.revoked)
            .ok_or_else(|| PageError::Revoked(oauth_id.to_owned()))?;
        let user: User = inner
            .users
            .get(&user_id)
            .cloned()
            .ok_or(PageError::UnknownUser(user_id))?;
        (credential.secret.clone(), user)
    };
    let claims = claims_for(oauth_id, Some(&user), Some(room_id));
    let token = jwt::sign(&claims, secret.as_bytes(), Algorithm::HS256)
        .map_err(|e| PageError::Signing(e.to_string()))?;
    Ok(SignedToken { token, claims })
}

/// The module `key` of an installation.
pub(crate) fn module(shared: &Shared, oauth_id: &str, key: &str) -> Result<Module, PageError> {
    let inner = shared.lock();
    let record = inner
        .installs
        .get(oauth_id)
        .ok_or_else(|| PageError::NotInstalled(oauth_id.to_owned()))?;
    let modules = &record.installation.modules;
    modules.get(key).cloned().ok_or_else(|| {
        let known: Vec<&str> = modules.all.iter().map(|m| m.key.as_str()).collect();
        PageError::UnknownModule {
            addon: record.installation.key.clone(),
            key: key.to_owned(),
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        }
    })
}

/// `url` with the page parameters HipChat added.
pub(crate) fn with_page_query(
    url: &str,
    token: Option<&str>,
    theme: Theme,
    xdmhost: Option<&str>,
) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    {
        let mut query = parsed.query_pairs_mut();
        if let Some(token) = token {
            query.append_pair("signed_request", token);
        }
        query.append_pair("theme", theme.as_str());
        query.append_pair("connect_client_api_version", "1");
        if let Some(host) = xdmhost {
            query.append_pair("xdmhost", host);
        }
    }
    parsed.into()
}

/// The signed URL of a module's page (a glance's `queryUrl`).
pub(crate) fn page(
    shared: &Shared,
    oauth_id: &str,
    key: &str,
    user_id: u64,
    room_id: u64,
    theme: Theme,
    xdmhost: Option<&str>,
) -> Result<SignedPage, PageError> {
    let module = module(shared, oauth_id, key)?;
    let Some(url) = module.url.clone() else {
        return Err(PageError::NoPage(match module.kind {
            Kind::Action => format!(
                "{key:?} is an action: it shows no page of its own but opens {}",
                module
                    .target
                    .as_ref()
                    .map_or("nothing".to_owned(), |t| format!("{:?}", t.key))
            ),
            _ => format!("{key:?} has no URL; a glance without queryUrl gets its content pushed"),
        }));
    };
    let signed = token(shared, oauth_id, user_id, room_id)?;
    let url = if module.signed {
        with_page_query(&url, Some(&signed.token), theme, xdmhost)
    } else {
        with_page_query(&url, None, theme, xdmhost)
    };
    Ok(SignedPage {
        url,
        signed,
        module,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parameters_are_appended_to_the_modules_own_query() {
        let url = with_page_query(
            "http://a:3000/sidebar?x=1",
            Some("t.o.k"),
            Theme::Dark,
            Some("http://127.0.0.1:8080"),
        );
        assert_eq!(
            url,
            "http://a:3000/sidebar?x=1&signed_request=t.o.k&theme=dark&connect_client_api_version=1&xdmhost=http%3A%2F%2F127.0.0.1%3A8080"
        );
        let unsigned = with_page_query("http://a/config", None, Theme::Light, None);
        assert_eq!(
            unsigned,
            "http://a/config?theme=light&connect_client_api_version=1"
        );
    }
}
