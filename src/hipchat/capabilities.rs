//! The host's capabilities document (what an install's `capabilitiesUrl`
//! returns): building the full document for the host double, and reading
//! only what an add-on uses ([`HostEndpoints`]) from whatever a host sends.
//!
//! HipChat Server and Data Center installations do not all send the same
//! document as hipchat.com did, so an add-on requires only `links.self`,
//! `links.api` and `capabilities.oauth2Provider.tokenUrl`; every other field
//! is optional and unknown ones are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why a capabilities document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilitiesError {
    /// Not JSON, or JSON without the fields an add-on needs.
    #[error("the capabilities document is malformed: {0}")]
    Malformed(String),
    /// `links.self` differs from the URL it was fetched from.
    #[error(
        "the capabilities document's links.self is {found:?}, not the URL it came from ({expected:?})"
    )]
    SelfMismatch {
        /// The URL the document was fetched from.
        expected: String,
        /// Its `links.self`.
        found: String,
    },
}

/// A HipChat capabilities document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilitiesDoc {
    /// `hipchat`.
    #[serde(default)]
    pub key: String,
    /// `HipChat`.
    #[serde(default)]
    pub name: String,
    /// `self`, `api`, `homepage`.
    pub links: HostLinks,
    /// The OAuth2 and REST API providers.
    pub capabilities: HostCapabilities,
    /// HipChat sent 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_server_api_version: Option<u32>,
}

/// `links` of the capabilities document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLinks {
    /// The document's own URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// Base of the REST API, without a trailing slash (`.../v2`).
    pub api: String,
    /// The host's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// `capabilities` of the capabilities document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCapabilities {
    /// Where tokens come from.
    pub oauth2_provider: OAuth2Provider,
    /// The REST API and its scopes.
    #[serde(default)]
    pub hipchat_api_provider: ApiProvider,
}

/// `capabilities.oauth2Provider`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Provider {
    /// The client-credentials token endpoint.
    pub token_url: String,
    /// The (user) authorization page; unused by add-ons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
}

/// `capabilities.hipchatApiProvider`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiProvider {
    /// Base of the REST API, with a trailing slash (`.../v2/`).
    #[serde(default)]
    pub url: String,
    /// Scope id -> description.
    #[serde(default)]
    pub available_scopes: BTreeMap<String, ScopeInfo>,
}

/// One entry of `availableScopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInfo {
    /// The scope id, e.g. `send_notification`.
    #[serde(default)]
    pub id: String,
    /// Its display name.
    #[serde(default)]
    pub name: String,
}

/// What an add-on uses of a capabilities document: its own URL, the REST
/// API's base and the token endpoint. Everything else may be missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEndpoints {
    /// `links.self`.
    pub self_url: String,
    /// `links.api`, without a trailing slash.
    pub api: String,
    /// `capabilities.oauth2Provider.tokenUrl`.
    pub token_url: String,
}

impl HostEndpoints {
    /// Reads the three fields from a parsed document, naming the first one
    /// that is missing or not a string.
    pub fn from_value(doc: &serde_json::Value) -> Result<Self, CapabilitiesError> {
        let field = |pointer: &str, name: &str| -> Result<String, CapabilitiesError> {
            match doc.pointer(pointer) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                    Ok(s.trim().to_owned())
                }
                Some(serde_json::Value::String(_)) => {
                    Err(CapabilitiesError::Malformed(format!("`{name}` is empty")))
                }
                Some(_) => Err(CapabilitiesError::Malformed(format!(
                    "`{name}` is not a string"
                ))),
                None => Err(CapabilitiesError::Malformed(format!("`{name}` is missing"))),
            }
        };
        if !doc.is_object() {
            return Err(CapabilitiesError::Malformed(
                "it is not a JSON object".into(),
            ));
        }
        Ok(HostEndpoints {
            self_url: field("/links/self", "links.self")?,
            api: field("/links/api", "links.api")?
                .trim_end_matches('/')
                .to_owned(),
            token_url: field(
                "/capabilities/oauth2Provider/tokenUrl",
                "capabilities.oauth2Provider.tokenUrl",
            )?,
        })
    }

    /// Parses a document fetched from `fetched_from`, checks that its
    /// `links.self` is exactly that URL, and returns it with its endpoints
    /// (the document is kept whole, unknown fields included).
    pub fn parse_from(
        body: &[u8],
        fetched_from: &str,
    ) -> Result<(Self, serde_json::Value), CapabilitiesError> {
        let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            CapabilitiesError::Malformed(format!(
                "it is not JSON (at line {} column {})",
                e.line(),
                e.column()
            ))
        })?;
        let endpoints = Self::from_value(&doc)?;
        if endpoints.self_url != fetched_from {
            return Err(CapabilitiesError::SelfMismatch {
                expected: fetched_from.to_owned(),
                found: endpoints.self_url,
            });
        }
        Ok((endpoints, doc))
    }

    /// `{links.api}/room/{room_id}/notification`.
    pub fn notification_url(&self, room_id: u64) -> String {
        format!("{}/room/{room_id}/notification", self.api)
    }
}

/// The scopes HipChat's REST API v2 offered, with their display names.
pub const HIPCHAT_SCOPES: &[(&str, &str)] = &[
    ("admin_group", "Administer Group"),
    ("admin_room", "Administer Room"),
    ("manage_rooms", "Manage Rooms"),
    ("send_message", "Send Message"),
    ("send_notification", "Send Notification"),
    ("view_group", "View Group"),
    ("view_messages", "View Messages"),
    ("view_room", "View Room"),
];

impl CapabilitiesDoc {
    /// The document a host at `base_url` (e.g. `http://127.0.0.1:8080`, or
    /// with a path prefix) serves at `{base}/v2/capabilities`.
    pub fn for_host(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        let api = format!("{base}/v2");
        CapabilitiesDoc {
            key: "hipchat".into(),
            name: "HipChat".into(),
            links: HostLinks {
                self_url: format!("{api}/capabilities"),
                api: api.clone(),
                homepage: Some(format!("{base}/")),
            },
            capabilities: HostCapabilities {
                oauth2_provider: OAuth2Provider {
                    token_url: format!("{api}/oauth/token"),
                    authorization_url: Some(format!("{base}/users/authorize")),
                },
                hipchat_api_provider: ApiProvider {
                    url: format!("{api}/"),
                    available_scopes: HIPCHAT_SCOPES
                        .iter()
                        .map(|(id, name)| {
                            (
                                (*id).to_owned(),
                                ScopeInfo {
                                    id: (*id).to_owned(),
                                    name: (*name).to_owned(),
                                },
                            )
                        })
                        .collect(),
                },
            },
            connect_server_api_version: Some(1),
        }
    }

    /// Parses a capabilities document fetched from `fetched_from` and checks
    /// that its `links.self` is exactly that URL.
    pub fn parse_from(body: &[u8], fetched_from: &str) -> Result<Self, CapabilitiesError> {
        let doc: CapabilitiesDoc = serde_json::from_slice(body)
            .map_err(|e| CapabilitiesError::Malformed(e.to_string()))?;
        if doc.links.self_url != fetched_from {
            return Err(CapabilitiesError::SelfMismatch {
                expected: fetched_from.to_owned(),
                found: doc.links.self_url,
            });
        }
        Ok(doc)
    }

    /// The OAuth2 token endpoint.
    pub fn token_url(&self) -> &str {
        &self.capabilities.oauth2_provider.token_url
    }

    /// `{links.api}/room/{room_id}/notification`.
    pub fn notification_url(&self, room_id: u64) -> String {
        format!(
            "{}/room/{room_id}/notification",
            self.links.api.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_links_without_and_provider_url_with_a_trailing_slash() {
        let doc = CapabilitiesDoc::for_host("http://127.0.0.1:9000/");
        assert_eq!(doc.links.self_url, "http://127.0.0.1:9000/v2/capabilities");
        assert_eq!(doc.links.api, "http://127.0.0.1:9000/v2");
        assert_eq!(doc.token_url(), "http://127.0.0.1:9000/v2/oauth/token");
        assert_eq!(
            doc.capabilities.hipchat_api_provider.url,
            "http://127.0.0.1:9000/v2/"
        );
        assert_eq!(
            doc.notification_url(7),
            "http://127.0.0.1:9000/v2/room/7/notification"
        );
    }

    #[test]
    fn parses_hipchats_own_document() {
        let body = br#"{"key": "hipchat", "name": "HipChat",
 "links": {"self": "https://api.hipchat.com/v2/capabilities", "api": "https://api.hipchat.com/v2", "homepage": "https://www.hipchat.com"},
 "capabilities": {"oauth2Provider": {"tokenUrl": "https://api.hipchat.com/v2/oauth/token", "authorizationUrl": "https://www.hipchat.com/users/authorize"},
                  "hipchatApiProvider": {"url": "https://api.hipchat.com/v2/", "availableScopes": {"send_notification": {"id": "send_notification", "name": "Send Notification"}}}},
 "connect_server_api_version": 1}"#;
        let doc = CapabilitiesDoc::parse_from(body, "https://api.hipchat.com/v2/capabilities")
            .expect("valid");
        assert_eq!(doc.token_url(), "https://api.hipchat.com/v2/oauth/token");
    }

    #[test]
    fn an_add_on_needs_only_self_api_and_token_url() {
        let body = br#"{"links": {"self": "https://hc.example/v2/capabilities", "api": "https://hc.example/v2/"},
            "capabilities": {"oauth2Provider": {"tokenUrl": "https://hc.example/v2/oauth/token"},
                             "hipchatApiProvider": {"availableScopes": {"send_notification": {"id": "send_notification"}}}},
            "vendorExtension": {"anything": [1, 2]}}"#;
        let (endpoints, doc) =
            HostEndpoints::parse_from(body, "https://hc.example/v2/capabilities")
                .expect("minimal document");
        assert_eq!(endpoints.api, "https://hc.example/v2");
        assert_eq!(endpoints.token_url, "https://hc.example/v2/oauth/token");
        assert_eq!(
            endpoints.notification_url(3),
            "https://hc.example/v2/room/3/notification"
        );
        assert_eq!(doc["vendorExtension"]["anything"][1], 2, "kept whole");
    }

    #[test]
    fn the_full_document_gives_the_same_endpoints() {
        let doc = serde_json::to_value(CapabilitiesDoc::for_host("http://h:1")).unwrap();
        let endpoints = HostEndpoints::from_value(&doc).unwrap();
        assert_eq!(endpoints.self_url, "http://h:1/v2/capabilities");
        assert_eq!(endpoints.api, "http://h:1/v2");
        assert_eq!(endpoints.token_url, "http://h:1/v2/oauth/token");
    }

    #[test]
    fn names_the_field_an_add_on_needs_when_it_is_missing() {
        for (body, field) in [
            (
                r#"{"links": {"api": "x"}, "capabilities": {"oauth2Provider": {"tokenUrl": "t"}}}"#,
                "links.self",
            ),
            (
                r#"{"links": {"self": "s"}, "capabilities": {"oauth2Provider": {"tokenUrl": "t"}}}"#,
                "links.api",
            ),
            (
                r#"{"links": {"self": "s", "api": "a"}, "capabilities": {}}"#,
                "capabilities.oauth2Provider.tokenUrl",
            ),
            (
                r#"{"links": {"self": "s", "api": 7}, "capabilities": {}}"#,
                "links.api",
            ),
        ] {
            let err = HostEndpoints::parse_from(body.as_bytes(), "s")
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        let err = HostEndpoints::parse_from(b"<html>", "s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not JSON") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn round_trips_the_built_document() {
        let doc = CapabilitiesDoc::for_host("http://h:1");
        let body = serde_json::to_vec(&doc).expect("serialize");
        let back = CapabilitiesDoc::parse_from(&body, "http://h:1/v2/capabilities").expect("ok");
        assert_eq!(back, doc);
    }

    #[test]
    fn rejects_a_self_link_that_differs_from_the_fetched_url() {
        let body = serde_json::to_vec(&CapabilitiesDoc::for_host("http://evil:1")).expect("json");
        let err = CapabilitiesDoc::parse_from(&body, "http://good:1/v2/capabilities").unwrap_err();
        assert!(matches!(err, CapabilitiesError::SelfMismatch { .. }));
    }

    #[test]
    fn rejects_non_json_and_documents_without_a_token_url() {
        assert!(matches!(
            CapabilitiesDoc::parse_from(b"<html>", "x"),
            Err(CapabilitiesError::Malformed(_))
        ));
        let body = br#"{"key":"hipchat","name":"HipChat","links":{"self":"x","api":"y"},"capabilities":{}}"#;
        assert!(matches!(
            CapabilitiesDoc::parse_from(body, "x"),
            Err(CapabilitiesError::Malformed(_))
        ));
    }
}
