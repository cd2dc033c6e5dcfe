//! OAuth2 client-credentials token exchange: request and response bodies and
//! the `Authorization: Basic` credentials.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The only grant HipChat add-ons use.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// Why a token request was malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRequestError {
    /// Neither a form nor a JSON body.
    #[error("the token request body is neither a form nor JSON: {0}")]
    Unreadable(String),
    /// No `grant_type`.
    #[error("`grant_type` is missing; send grant_type=client_credentials")]
    MissingGrantType,
    /// Another grant.
    #[error("`grant_type` {0:?} is not supported; send grant_type=client_credentials")]
    UnsupportedGrantType(String),
}

/// A token request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `client_credentials`.
    #[serde(default)]
    pub grant_type: String,
    /// Space-separated scopes; absent means every scope the add-on declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenRequest {
    /// A client-credentials request for `scopes`.
    pub fn client_credentials<S: AsRef<str>>(scopes: &[S]) -> Self {
        TokenRequest {
            grant_type: CLIENT_CREDENTIALS.into(),
            scope: Some(join_scopes(scopes)),
        }
    }

    /// Parses a form body, or a JSON one when `is_json` (HipChat took both).
    pub fn parse(body: &[u8], is_json: bool) -> Result<Self, TokenRequestError> {
        let request: TokenRequest = if is_json {
            serde_json::from_slice(body)
                .map_err(|e| TokenRequestError::Unreadable(e.to_string()))?
        } else {
            let mut request = TokenRequest::default();
            for (key, value) in url::form_urlencoded::parse(body) {
                match key.as_ref() {
                    "grant_type" => request.grant_type = value.into_owned(),
                    "scope" => request.scope = Some(value.into_owned()),
                    _ => {}
                }
            }
            request
        };
        match request.grant_type.as_str() {
            "" => Err(TokenRequestError::MissingGrantType),
            CLIENT_CREDENTIALS => Ok(request),
            other => Err(TokenRequestError::UnsupportedGrantType(other.to_owned())),
        }
    }

    /// The requested scopes (split on spaces or commas), empty if none given.
    pub fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref().unwrap_or(""))
    }
}

/// Splits a scope string on spaces or commas.
pub fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Joins scopes with spaces, as OAuth2 does.
pub fn join_scopes<S: AsRef<str>>(scopes: &[S]) -> String {
    scopes
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A token answer. An add-on needs only `access_token` and `expires_in`;
/// the rest is optional (hosts differ) and unknown fields are ignored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// The tenant's group (0 when the host leaves it out).
    #[serde(default)]
    pub group_id: u64,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
    /// `bearer`.
    #[serde(default)]
    pub token_type: String,
}

impl fmt::Debug for TokenResponse {
    // Never print the token itself: Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("group_id", &self.group_id)
            .field("group_name", &self.group_name)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// `Basic base64(id:secret)` for an `Authorization` header.
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

/// The `(id, secret)` pair of an `Authorization: Basic` value, if well formed.
pub fn parse_basic_authorization(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_form_and_json_requests() {
        let form = TokenRequest::parse(
            b"grant_type=client_credentials&scope=send_notification+view_room",
            false,
        )
        .expect("form");
        assert_eq!(form.scopes(), vec!["send_notification", "view_room"]);
        let json = TokenRequest::parse(
            br#"{"grant_type":"client_credentials","scope":"a,b"}"#,
            true,
        )
        .expect("json");
        assert_eq!(json.scopes(), vec!["a", "b"]);
    }

    #[test]
    fn rejects_a_missing_or_other_grant_type() {
        assert_eq!(
            TokenRequest::parse(b"scope=x", false),
            Err(TokenRequestError::MissingGrantType)
        );
        assert_eq!(
            TokenRequest::parse(b"grant_type=password", false),
            Err(TokenRequestError::UnsupportedGrantType("password".into()))
        );
        assert!(matches!(
            TokenRequest::parse(b"{", true),
            Err(TokenRequestError::Unreadable(_))
        ));
    }

    #[test]
    fn round_trips_basic_credentials() {
        let header = basic_authorization("f3100c47", "se:cret");
        assert_eq!(
            parse_basic_authorization(&header),
            Some(("f3100c47".into(), "se:cret".into()))
        );
        assert_eq!(parse_basic_authorization("Bearer abc"), None);
        assert_eq!(parse_basic_authorization("Basic !!!"), None);
        assert_eq!(parse_basic_authorization("Basic"), None);
    }

    #[test]
    fn a_minimal_token_answer_is_enough() {
        let response: TokenResponse =
            serde_json::from_str(r#"{"access_token": "t", "expires_in": 60, "extra": {"x": 1}}"#)
                .expect("minimal answer");
        assert_eq!((response.expires_in, response.group_id), (60, 0));
        assert_eq!(response.group_name, None);
    }

    #[test]
    fn never_prints_the_access_token() {
        let response: TokenResponse = serde_json::from_str(
            r#"{"access_token": "s3cr3t-token", "expires_in": 3599, "group_id": 46617, "group_name": "Acme", "scope": "send_notification", "token_type": "bearer"}"#,
        )
        .expect("json");
        assert_eq!(response.group_id, 46_617);
        assert!(!format!("{response:?}").contains("s3cr3t"));
    }
}
