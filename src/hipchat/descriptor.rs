//! The add-on descriptor (`atlassian-connect.json`): parsing, validation with
//! errors that name the field, and `{{localBaseUrl}}` substitution.

use serde::Serialize;
use serde_json::Value;

use super::fields::{FieldError, Obj};
use super::modules::{ModuleError, Modules};

/// The placeholder the old stack's descriptors use for the add-on's base URL.
pub const BASE_URL_PLACEHOLDER: &str = "{{localBaseUrl}}";

/// Why a descriptor was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    /// The text is not JSON at all.
    #[error("the descriptor is not valid JSON: {0}")]
    NotJson(String),
    /// A field is missing or has the wrong type.
    #[error("invalid descriptor: {0}")]
    Field(#[from] FieldError),
    /// A field is present but its value is unusable.
    #[error("invalid descriptor: `{field}` {problem}")]
    Invalid {
        /// Full path of the field.
        field: String,
        /// What is wrong with it and, where possible, how to fix it.
        problem: String,
    },
    /// Its UI modules have bad fields, every one of them listed.
    #[error("invalid descriptor: {}", list_module_errors(.0))]
    Modules(Vec<ModuleError>),
}

fn list_module_errors(errors: &[ModuleError]) -> String {
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    match shown.len() {
        1 => shown.join(""),
        n => format!("{n} problems: {}", shown.join("; ")),
    }
}

/// The scopes HipChat knew (PROTOCOL.md, "More REST calls").
pub const SCOPES: &[&str] = &[
    "send_notification",
    "send_message",
    "view_room",
    "view_group",
    "view_messages",
    "admin_room",
    "admin_group",
    "manage_rooms",
    "import_data",
];

/// The capabilities HipChat knew; a key close to one of them is a typo.
pub const CAPABILITIES: &[&str] = &[
    "hipchatApiConsumer",
    "installable",
    "webhook",
    "configurable",
    "glance",
    "webPanel",
    "dialog",
    "action",
    "externalPage",
    "oauth2Provider",
];

/// How HipChat authenticates a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WebhookAuth {
    /// Unsigned (HipChat's default when `authentication` is absent).
    #[default]
    None,
    /// `Authorization: JWT <token>` signed with the tenant's oauthSecret.
    Jwt,
}

/// One `capabilities.webhook` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Where HipChat POSTs the event.
    pub url: String,
    /// The event name, e.g. `room_message`.
    pub event: String,
    /// Regex searched in the message text (room_message only).
    pub pattern: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// Whether deliveries are signed.
    pub authentication: WebhookAuth,
}

/// A parsed, validated add-on descriptor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Descriptor {
    /// Unique add-on key (reverse DNS, e.g. `com.example.blogsearch`).
    pub key: String,
    /// Human name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// `links.self`: the descriptor's own URL.
    pub self_url: String,
    /// `links.homepage`, if any.
    pub homepage: Option<String>,
    /// `capabilities.hipchatApiConsumer.scopes`.
    pub scopes: Vec<String>,
    /// `capabilities.hipchatApiConsumer.fromName`, if any.
    pub from_name: Option<String>,
    /// `capabilities.installable.callbackUrl`.
    pub callback_url: String,
    /// `capabilities.installable.allowRoom` (default true).
    pub allow_room: bool,
    /// `capabilities.installable.allowGlobal` (default true).
    pub allow_global: bool,
    /// Every webhook, whatever its event.
    pub webhooks: Vec<Webhook>,
    /// Its UI modules (glances, sidebars, dialogs, actions, pages).
    pub modules: Modules,
    /// The whole document as parsed, for UI modules and anything else.
    pub raw: Value,
}

impl Descriptor {
    /// Parses and validates descriptor JSON (already substituted, see
    /// [`substitute_base_url`]).
    pub fn parse(text: &str) -> Result<Self, DescriptorError> {
        let raw: Value =
            serde_json::from_str(text).map_err(|e| DescriptorError::NotJson(e.to_string()))?;
        Self::from_value(raw)
    }

    /// Validates an already parsed descriptor document.
    pub fn from_value(raw: Value) -> Result<Self, DescriptorError> {
        let root = Obj::root(&raw, "the descriptor")?;
        let key = root.req_str("key")?.to_owned();
        let name = root.req_str("name")?.to_owned();
        let description = root.opt_str("description")?.map(str::to_owned);
        let (links, links_path) = root.req_obj("links")?;
        let links = Obj::at(links, &links_path);
        let self_url = http_url(&links, "self")?;
        let homepage = links.opt_str("homepage")?.map(str::to_owned);

        // The old stack accepted `modules` as an alias of `capabilities`.
        let caps_key = if root.get("capabilities").is_none() && root.get("modules").is_some() {
            "modules"
        } else {
            "capabilities"
        };
        let (caps, caps_path) = root.req_obj(caps_key)?;
        let caps = Obj::at(caps, &caps_path);

        let (consumer, consumer_path) = caps.req_obj("hipchatApiConsumer")?;
        let consumer = Obj::at(consumer, &consumer_path);
        let scopes = consumer
            .opt_str_array("scopes")?
            .ok_or_else(|| FieldError::Missing(consumer.path_of("scopes")))?;
        if scopes.is_empty() {
            return Err(DescriptorError::Invalid {
                field: consumer.path_of("scopes"),
                problem: "is empty; list at least one scope, e.g. [\"send_notification\"]".into(),
            });
        }
        if let Some((i, unknown)) = scopes
            .iter()
            .enumerate()
            .find(|(_, s)| !SCOPES.contains(&s.as_str()))
        {
            let hint = crate::config::keys::did_you_mean(unknown, SCOPES)
                .map(|s| format!("did you mean {s:?}? "))
                .unwrap_or_default();
            return Err(DescriptorError::Invalid {
                field: format!("{}[{i}]", consumer.path_of("scopes")),
                problem: format!(
                    "is {unknown:?}, not a HipChat scope; {hint}the scopes are {}",
                    SCOPES.join(", ")
                ),
            });
        }
        let from_name = consumer.opt_str("fromName")?.map(str::to_owned);

        let (installable, installable_path) = caps.req_obj("installable")?;
        let installable = Obj::at(installable, &installable_path);
        let callback_url = http_url(&installable, "callbackUrl")?;
        let allow_room = installable.opt_bool("allowRoom")?.unwrap_or(true);
        let allow_global = installable.opt_bool("allowGlobal")?.unwrap_or(true);

        let webhooks = parse_webhooks(&caps)?;
        let caps_map = caps.map();
        if let Some((typo, known)) = caps_map.keys().find_map(|k| {
            (!CAPABILITIES.contains(&k.as_str()))
                .then(|| crate::config::keys::did_you_mean(k, CAPABILITIES).map(|m| (k, m)))
                .flatten()
        }) {
            return Err(DescriptorError::Invalid {
                field: caps.path_of(typo),
                problem: format!("is not a HipChat capability; did you mean {known:?}?"),
            });
        }
        let modules = Modules::parse(caps_map, &caps_path).map_err(DescriptorError::Modules)?;
        Ok(Descriptor {
            key,
            name,
            description,
            self_url,
            homepage,
            scopes,
            from_name,
            callback_url,
            allow_room,
            allow_global,
            webhooks,
            modules,
            raw,
        })
    }

    /// The `room_message` webhooks: the ones a room message is delivered to
    /// when their pattern matches.
    pub fn room_message_webhooks(&self) -> impl Iterator<Item = &Webhook> {
        self.webhooks.iter().filter(|w| w.event == "room_message")
    }

    /// Whether every scope in `requested` was declared by the add-on.
    pub fn allows_scopes<S: AsRef<str>>(&self, requested: &[S]) -> bool {
        requested
            .iter()
            .all(|r| self.scopes.iter().any(|s| s == r.as_ref()))
    }
}

/// `webhook` may be one object or an array of them.
fn parse_webhooks(caps: &Obj<'_>) -> Result<Vec<Webhook>, DescriptorError> {
    let path = caps.path_of("webhook");
    let entries: Vec<(&serde_json::Map<String, Value>, String)> = match caps.get("webhook") {
        None => Vec::new(),
        Some(Value::Object(map)) => vec![(map, path)],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => Ok((map, format!("{path}[{i}]"))),
                _ => Err(FieldError::WrongType {
                    path: format!("{path}[{i}]"),
                    expected: "an object",
                }),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(FieldError::WrongType {
                path,
                expected: "an object or an array of objects",
            }
            .into());
        }
    };
    entries
        .iter()
        .map(|(map, path)| parse_webhook(&Obj::at(map, path)))
        .collect()
}

impl Webhook {
    /// Parses one webhook object on its own (the REST API's "create room
    /// webhook" body), with the same checks as in a descriptor.
    pub fn from_json(value: &Value) -> Result<Self, DescriptorError> {
        parse_webhook(&Obj::root(value, "the webhook")?)
    }

    /// Whether a message text triggers this webhook: its pattern is searched
    /// in the text (no pattern matches everything).
    pub fn matches(&self, text: &str) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|p| regex::Regex::new(p).is_ok_and(|re| re.is_match(text)))
    }
}

fn parse_webhook(hook: &Obj<'_>) -> Result<Webhook, DescriptorError> {
    let url = http_url(hook, "url")?;
    let event = hook.req_str("event")?.to_owned();
    let pattern = hook.opt_str("pattern")?.map(str::to_owned);
    if let Some(pattern) = &pattern {
        regex::Regex::new(pattern).map_err(|e| DescriptorError::Invalid {
            field: hook.path_of("pattern"),
            problem: format!("is not a valid regular expression: {e}"),
        })?;
    }
    let authentication = match hook.opt_str("authentication")? {
        None => WebhookAuth::None,
        Some(a) if a.eq_ignore_ascii_case("jwt") => WebhookAuth::Jwt,
        Some(a) if a.eq_ignore_ascii_case("none") => WebhookAuth::None,
        Some(other) => {
            return Err(DescriptorError::Invalid {
                field: hook.path_of("authentication"),
                problem: format!("is {other:?}; use \"jwt\" (signed) or \"none\""),
            });
        }
    };
    Ok(Webhook {
        url,
        event,
        pattern,
        name: hook.opt_str("name")?.map(str::to_owned),
        authentication,
    })
}

/// A required absolute http(s) URL.
fn http_url(obj: &Obj<'_>, key: &str) -> Result<String, DescriptorError> {
    let value = obj.req_str(key)?;
    let invalid = |problem: String| DescriptorError::Invalid {
        field: obj.path_of(key),
        problem,
    };
    if value.contains(BASE_URL_PLACEHOLDER) {
        return Err(invalid(format!(
            "still contains {BASE_URL_PLACEHOLDER}; substitute the base URL first"
        )));
    }
    let url = url::Url::parse(value)
        .map_err(|e| invalid(format!("is not an absolute URL ({value:?}: {e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "must be an http or https URL, not {value:?}"
        )));
    }
    Ok(value.to_owned())
}

/// Replaces every `{{localBaseUrl}}` in descriptor text with `base_url`
/// (without a trailing slash, so `{{localBaseUrl}}/installable` stays one
/// slash). The URL is JSON-escaped, as it lands inside JSON strings.
pub fn substitute_base_url(raw: &str, base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let quoted = serde_json::to_string(base).unwrap_or_default();
    let escaped = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(base);
    raw.replace(BASE_URL_PLACEHOLDER, escaped)
}

#[cfg(test)]
#[path = "descriptor_tests.rs"]
mod tests;
