//! The records a store keeps, and how they are spelled in storage.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult};

/// One installation of the add-on (a room or a whole group), as HipChat
/// announced it and as its capabilities document described it.
///
/// Stored as JSON in the old stack's `clientInfo` spelling (`clientKey`,
/// `oauthSecret`, `capabilitiesUrl`, `capabilitiesDoc`, `roomId`, `groupId`,
/// `groupName`) so records stay recognisable to users of that stack.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// The installation's OAuth client id, HipChat's `oauthId`.
    #[serde(rename = "clientKey", alias = "oauthId")]
    pub oauth_id: String,
    /// The shared secret: signs JWTs and fetches access tokens. Never logged.
    pub oauth_secret: String,
    /// Where the HipChat host's capabilities document lives (`links.self`).
    pub capabilities_url: String,
    /// The capabilities document fetched at install time.
    #[serde(rename = "capabilitiesDoc", alias = "capabilities")]
    pub capabilities: serde_json::Value,
    /// The room of a room install; `None` for a group-wide install.
    #[serde(default)]
    pub room_id: Option<u64>,
    /// The HipChat group (organisation) that installed the add-on.
    pub group_id: u64,
    /// The group's name, as the token endpoint reported it.
    #[serde(default)]
    pub group_name: Option<String>,
    /// When it was installed, in seconds since the Unix epoch.
    pub installed_at: u64,
    /// Set when HipChat refused the credentials of a record taken over
    /// from the 2015 stack's store (it had been uninstalled): seconds since
    /// the Unix epoch. Such a tenant is not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<u64>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("oauth_id", &self.oauth_id)
            .field("oauth_secret", &"<redacted>")
            .field("capabilities_url", &self.capabilities_url)
            .field("capabilities", &"<document>")
            .field("room_id", &self.room_id)
            .field("group_id", &self.group_id)
            .field("group_name", &self.group_name)
            .field("installed_at", &self.installed_at)
            .field("stale_since", &self.stale_since)
            .finish()
    }
}

/// A tenant as a listing finds it: where it is kept (`Redis key ...`,
/// `SQLite row ...`), and the record, or why it cannot be read.
#[derive(Clone, Debug)]
pub struct StoredTenant {
    /// The oauthId the record is kept under.
    pub oauth_id: String,
    /// Where the record is (for messages; never its content).
    pub place: String,
    /// The record, or why it cannot be read.
    pub tenant: Result<Tenant, String>,
}

/// An access token fetched from a tenant's token endpoint, kept until it
/// expires so that many requests share one token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedToken {
    /// The bearer token itself. Never logged.
    pub access_token: String,
    /// When the token stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The scope(s) it was granted for, as requested (e.g. `send_notification`).
    pub scope: String,
    /// The group the token belongs to.
    pub group_id: u64,
    /// The group's name, if the token endpoint gave one.
    #[serde(default)]
    pub group_name: Option<String>,
}

impl CachedToken {
    /// Whether the token has expired at `now` (seconds since the Unix epoch).
    pub fn is_expired_at(&self, now: u64) -> bool {
        self.expires_at <= now
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("group_id", &self.group_id)
            .field("group_name", &self.group_name)
            .finish()
    }
}

/// The current time in seconds since the Unix epoch (0 if the clock is set
/// before 1970, which only makes every token look expired).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Describes a JSON decoding failure without quoting the offending value
/// (serde_json quotes it, and it could be a secret).
pub(crate) fn describe_json_error(err: &serde_json::Error) -> String {
    let what = match err.classify() {
        serde_json::error::Category::Io => "an I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "a field of the wrong type or a missing field",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", err.line(), err.column())
}

/// Decodes a stored record; `what` and `place` name it in the error
/// (`tenant record "x"`, `/path/store.db`), never its content.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    data: &str,
    what: &str,
    place: &str,
) -> StoreResult<T> {
    serde_json::from_str(data).map_err(|e| {
        StoreError::Corrupt(format!(
            "the {what} in {place} cannot be read: {}",
            describe_json_error(&e)
        ))
    })
}

/// Encodes a record for storage.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    // Serializing these plain structs cannot fail; map it anyway rather than panic.
    serde_json::to_string(value).map_err(|e| {
        StoreError::Corrupt(format!(
            "cannot encode a record: {}",
            describe_json_error(&e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant {
            oauth_id: "client-1".into(),
            oauth_secret: "s3cret-value".into(),
            capabilities_url: "https://api.example/v2/capabilities".into(),
            capabilities: serde_json::json!({"links": {"self": "x"}}),
            room_id: Some(7),
            group_id: 42,
            group_name: Some("Acme".into()),
            installed_at: 1_700_000_000,
            stale_since: None,
        }
    }

    #[test]
    fn debug_output_of_a_tenant_hides_its_secret() {
        let shown = format!("{:?}", tenant());
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("client-1"), "{shown}");
    }

    #[test]
    fn debug_output_of_a_token_hides_the_token() {
        let token = CachedToken {
            access_token: "tok-abc".into(),
            expires_at: 5,
            scope: "send_notification".into(),
            group_id: 1,
            group_name: None,
        };
        assert!(!format!("{token:?}").contains("tok-abc"));
    }

    #[test]
    fn tenants_are_stored_in_the_old_client_info_spelling() {
        let json = serde_json::to_value(tenant()).unwrap();
        for key in [
            "clientKey",
            "oauthSecret",
            "capabilitiesUrl",
            "capabilitiesDoc",
            "roomId",
            "groupId",
            "groupName",
        ] {
            assert!(json.get(key).is_some(), "missing {key} in {json}");
        }
        let back: Tenant = serde_json::from_value(json).unwrap();
        assert_eq!(back, tenant());
    }

    #[test]
    fn json_errors_are_described_without_quoting_the_value() {
        let err = serde_json::from_str::<Tenant>(r#"{"clientKey": "a", "oauthSecret": 12345678}"#)
            .unwrap_err();
        let text = describe_json_error(&err);
        assert!(!text.contains("12345678"), "{text}");
        assert!(text.contains("wrong type"), "{text}");
    }

    #[test]
    fn a_token_expires_at_its_expiry_second() {
        let token = CachedToken {
            access_token: String::new(),
            expires_at: 100,
            scope: String::new(),
            group_id: 0,
            group_name: None,
        };
        assert!(!token.is_expired_at(99));
        assert!(token.is_expired_at(100));
    }
}
