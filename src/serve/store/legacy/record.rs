//! The records the 2015 stack keeps (PROTOCOL.md, "What the old stack
//! keeps in its store"), read as they are and written as it writes them:
//!
//! - `clientInfo`: `{clientKey, oauthSecret, capabilitiesUrl,
//!   capabilitiesDoc, roomId, groupId, groupName}` (atlassian-connect-
//!   express-hipchat 0.2/0.3), in that order; `roomId` absent for a global
//!   install, `groupId`/`groupName` absent when the token answer had none;
//! - a cached token under the scopes joined by `|`: HipChat's token answer
//!   with `created` (seconds, a float) added.

use serde::Serialize;
use serde_json::Value;

use super::super::types::{CachedToken, Tenant, describe_json_error};

/// The `key` of an installation's record.
pub const CLIENT_INFO: &str = "clientInfo";

/// An installation as the 2015 stack recorded it.
#[derive(Clone, PartialEq)]
pub struct ClientInfo {
    /// The installation's oauthId.
    pub client_key: String,
    /// Its secret (never shown).
    pub oauth_secret: String,
    /// Where the host's capabilities document is.
    pub capabilities_url: String,
    /// That document, whole.
    pub capabilities_doc: Value,
    /// The room of a room install.
    pub room_id: Option<u64>,
    /// The group, when the token answer named it.
    pub group_id: Option<u64>,
    /// Its name.
    pub group_name: Option<String>,
}

impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInfo")
            .field("client_key", &self.client_key)
            .field("oauth_secret", &"<redacted>")
            .field("capabilities_url", &self.capabilities_url)
            .field("room_id", &self.room_id)
            .field("group_id", &self.group_id)
            .finish_non_exhaustive()
    }
}

/// A number as the old stack may have stored it: a JSON number, or a
/// numeric string (form-encoded install bodies).
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a `clientInfo` value; the error names the field (never a value).
pub fn parse_client_info(text: &str) -> Result<ClientInfo, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| describe_json_error(&e))?;
    let obj = value.as_object().ok_or(
        "not a JSON object (a clientInfo record is {\"clientKey\", \"oauthSecret\", ...})",
    )?;
    let text = |key: &str| -> Result<String, String> {
        obj.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("`{key}` is missing or not a string"))
    };
    let (client_key, oauth_secret, capabilities_url) = (
        text("clientKey")?,
        text("oauthSecret")?,
        text("capabilitiesUrl")?,
    );
    let capabilities_doc = obj
        .get("capabilitiesDoc")
        .filter(|d| d.is_object())
        .cloned()
        .ok_or("`capabilitiesDoc` is missing or not an object")?;
    Ok(ClientInfo {
        client_key,
        oauth_secret,
        capabilities_url,
        capabilities_doc,
        room_id: number(obj.get("roomId")),
        group_id: number(obj.get("groupId")),
        group_name: obj
            .get("groupName")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

impl ClientInfo {
    /// The installation as connect keeps it (`installed_at`: when it was
    /// installed, if known, else now).
    pub fn to_tenant(&self, installed_at: u64) -> Tenant {
        Tenant {
            oauth_id: self.client_key.clone(),
            oauth_secret: self.oauth_secret.clone(),
            capabilities_url: self.capabilities_url.clone(),
            capabilities: self.capabilities_doc.clone(),
            room_id: self.room_id,
            group_id: self.group_id.unwrap_or(0),
            group_name: self.group_name.clone(),
            installed_at,
            stale_since: None,
        }
    }
}

/// The fields in the order the HipChat layer wrote them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientInfoOut<'a> {
    client_key: &'a str,
    oauth_secret: &'a str,
    capabilities_url: &'a str,
    capabilities_doc: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_name: Option<&'a str>,
}

fn out(tenant: &Tenant) -> ClientInfoOut<'_> {
    ClientInfoOut {
        client_key: &tenant.oauth_id,
        oauth_secret: &tenant.oauth_secret,
        capabilities_url: &tenant.capabilities_url,
        capabilities_doc: &tenant.capabilities,
        room_id: tenant.room_id,
        group_id: (tenant.group_id != 0).then_some(tenant.group_id),
        group_name: tenant.group_name.as_deref(),
    }
}

/// A tenant as atlassian-connect-express-redis stores it:
/// `JSON.stringify(clientInfo, null, 2)`.
pub fn redis_text(tenant: &Tenant) -> String {
    serde_json::to_string_pretty(&out(tenant)).unwrap_or_default()
}

/// A tenant as the SQL adapters store it: `JSON.stringify(clientInfo)`.
pub fn sql_text(tenant: &Tenant) -> String {
    serde_json::to_string(&out(tenant)).unwrap_or_default()
}

/// The key of a cached token: the scopes joined by `|`, in the
/// descriptor's order.
pub fn token_key(scopes: &[String]) -> String {
    scopes.join("|")
}

/// A cached token record, unless it is unreadable or expired at `now`:
/// `expires_in + created` is when it stops working.
pub fn parse_token(text: &str, scope: &str, now: u64) -> Option<CachedToken> {
    let value: Value = serde_json::from_str(text).ok()?;
    let access_token = value.get("access_token")?.as_str()?.to_owned();
    let expires_in = value.get("expires_in")?.as_f64()?;
    let created = value.get("created")?.as_f64()?;
    let expires_at = (created + expires_in).floor();
    if !expires_at.is_finite() || expires_at <= now as f64 || access_token.is_empty() {
        return None;
    }
    Some(CachedToken {
        access_token,
        expires_at: expires_at as u64,
        scope: scope.to_owned(),
        group_id: number(value.get("group_id")).unwrap_or(0),
        group_name: value
            .get("group_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // As the 2015 Node stack wrote it to Redis (redis-cli monitor).
    const REDIS: &str = "{\n  \"clientKey\": \"ck-1\",\n  \"oauthSecret\": \"s3cr3t\",\n  \"capabilitiesUrl\": \"https://api.hipchat.com/v2/capabilities\",\n  \"capabilitiesDoc\": {\n    \"links\": {\n      \"self\": \"https://api.hipchat.com/v2/capabilities\"\n    }\n  },\n  \"roomId\": 42,\n  \"groupId\": 7,\n  \"groupName\": \"Grp\"\n}";

    #[test]
    fn reads_the_record_the_hipchat_layer_wrote() {
        let info = parse_client_info(REDIS).unwrap();
        assert_eq!(info.client_key, "ck-1");
        assert_eq!(info.room_id, Some(42));
        assert_eq!(
            (info.group_id, info.group_name.as_deref()),
            (Some(7), Some("Grp"))
        );
        assert!(!format!("{info:?}").contains("s3cr3t"));
        let tenant = info.to_tenant(1_500_000_000);
        assert_eq!(tenant.group_id, 7);
        assert_eq!(tenant.installed_at, 1_500_000_000);
    }

    #[test]
    fn writes_it_back_byte_for_byte_as_the_redis_adapter_did() {
        let tenant = parse_client_info(REDIS).unwrap().to_tenant(0);
        assert_eq!(redis_text(&tenant), REDIS);
        assert_eq!(
            parse_client_info(&sql_text(&tenant)).unwrap(),
            parse_client_info(REDIS).unwrap()
        );
    }

    #[test]
    fn a_global_install_and_a_token_answer_without_a_group_leave_the_keys_out() {
        let text = r#"{"clientKey": "g", "oauthSecret": "s", "capabilitiesUrl": "u", "capabilitiesDoc": {}}"#;
        let tenant = parse_client_info(text).unwrap().to_tenant(0);
        assert_eq!((tenant.room_id, tenant.group_id), (None, 0));
        let written = sql_text(&tenant);
        assert!(
            !written.contains("roomId") && !written.contains("groupId"),
            "{written}"
        );
    }

    #[test]
    fn a_broken_record_names_the_field_and_never_the_secret() {
        for (text, needle) in [
            (
                r#"{"clientKey": "a", "oauthSecret": "hunter2"}"#,
                "capabilitiesUrl",
            ),
            (
                r#"{"oauthSecret": "hunter2", "capabilitiesUrl": "u", "capabilitiesDoc": {}}"#,
                "clientKey",
            ),
            ("[1]", "not a JSON object"),
            ("{\"clientKey\": \"hunter2", "truncated"),
        ] {
            let err = parse_client_info(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_cached_token_is_taken_until_created_plus_expires_in() {
        let text =
            r#"{"access_token": "tok", "expires_in": 3599, "group_id": 7, "created": 1000.5}"#;
        let token = parse_token(text, "send_notification", 4000).unwrap();
        assert_eq!((token.expires_at, token.group_id), (4599, 7));
        assert!(parse_token(text, "send_notification", 4600).is_none());
        assert!(parse_token(r#"{"error": {"code": 401}}"#, "x", 0).is_none());
        assert_eq!(
            token_key(&["send_notification".into(), "view_group".into()]),
            "send_notification|view_group"
        );
    }
}
