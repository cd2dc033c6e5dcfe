//! Room notifications (`POST {api}/room/{id}/notification`) and HipChat's
//! error envelope.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{FieldError, Obj};

/// HipChat's limit on a notification's `message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// HipChat's limit on `from`, in characters.
pub const MAX_FROM_CHARS: usize = 64;

/// How the message is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageFormat {
    /// A restricted HTML subset (HipChat's default).
    #[default]
    Html,
    /// Plain text, escaped on display.
    Text,
}

/// Background colour of the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// HipChat's default.
    #[default]
    Yellow,
    /// Green.
    Green,
    /// Red.
    Red,
    /// Purple.
    Purple,
    /// Gray.
    Gray,
    /// Chosen by the host.
    Random,
}

impl Color {
    /// Every accepted value, as spelled on the wire.
    pub const NAMES: &'static str = "yellow, green, red, purple, gray, random";

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "yellow" => Color::Yellow,
            "green" => Color::Green,
            "red" => Color::Red,
            "purple" => Color::Purple,
            "gray" => Color::Gray,
            "random" => Color::Random,
            _ => return None,
        })
    }
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// The body is not JSON.
    #[error("the notification body is not valid JSON: {0}")]
    NotJson(String),
    /// A field is missing or of the wrong type.
    #[error("invalid notification: {0}")]
    Field(#[from] FieldError),
    /// `message` is empty.
    #[error("`message` must not be empty")]
    EmptyMessage,
    /// `message` is over 10,000 characters.
    #[error("`message` is {0} characters long; HipChat accepts at most 10000")]
    MessageTooLong(usize),
    /// `message_format` is not html or text.
    #[error("`message_format` is {0:?}; use \"html\" or \"text\"")]
    BadFormat(String),
    /// `color` is not one of HipChat's.
    #[error("`color` is {0:?}; use one of: {names}", names = Color::NAMES)]
    BadColor(String),
    /// `from` is over 64 characters.
    #[error("`from` is {0} characters long; HipChat accepts at most 64")]
    FromTooLong(usize),
}

/// A room notification body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The message, 1..=10,000 characters.
    pub message: String,
    /// `html` (default) or `text`.
    #[serde(default)]
    pub message_format: MessageFormat,
    /// Background colour (default yellow).
    #[serde(default)]
    pub color: Color,
    /// Whether to notify room members.
    #[serde(default)]
    pub notify: bool,
    /// A label shown next to the add-on's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A card (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Value>,
}

impl Notification {
    /// An HTML notification with default colour, not notifying.
    pub fn html(message: impl Into<String>) -> Self {
        Notification {
            message: message.into(),
            message_format: MessageFormat::Html,
            color: Color::Yellow,
            notify: false,
            from: None,
            card: None,
        }
    }

    /// Parses and validates a body as HipChat did, naming the bad field.
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| NotificationError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Like [`Notification::parse`], from parsed JSON.
    pub fn from_value(value: &Value) -> Result<Self, NotificationError> {
        let root = Obj::root(value, "the notification body")?;
        let message = root
            .opt_str("message")?
            .ok_or_else(|| FieldError::Missing("message".into()))?
            .to_owned();
        let message_format = match root.opt_str("message_format")? {
            None | Some("html") => MessageFormat::Html,
            Some("text") => MessageFormat::Text,
            Some(other) => return Err(NotificationError::BadFormat(other.to_owned())),
        };
        let color = match root.opt_str("color")? {
            None => Color::Yellow,
            Some(c) => Color::parse(c).ok_or_else(|| NotificationError::BadColor(c.to_owned()))?,
        };
        let card = match root.get("card") {
            None => None,
            Some(card @ Value::Object(_)) => Some(card.clone()),
            Some(_) => {
                return Err(FieldError::WrongType {
                    path: "card".into(),
                    expected: "an object",
                }
                .into());
            }
        };
        let notification = Notification {
            message,
            message_format,
            color,
            notify: root.opt_bool("notify")?.unwrap_or(false),
            from: root.opt_str("from")?.map(str::to_owned),
            card,
        };
        notification.validate()?;
        Ok(notification)
    }

    /// Checks the limits HipChat enforced.
    pub fn validate(&self) -> Result<(), NotificationError> {
        let len = self.message.chars().count();
        if self.message.trim().is_empty() {
            return Err(NotificationError::EmptyMessage);
        }
        if len > MAX_MESSAGE_CHARS {
            return Err(NotificationError::MessageTooLong(len));
        }
        if let Some(from) = &self.from {
            let len = from.chars().count();
            if len > MAX_FROM_CHARS {
                return Err(NotificationError::FromTooLong(len));
            }
        }
        Ok(())
    }
}

/// HipChat's error envelope: `{"error": {"code", "message", "type"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The inside of [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status.
    pub code: u16,
    /// A human message.
    pub message: String,
    /// The status's reason phrase, e.g. `Unauthorized`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ErrorEnvelope {
    /// An envelope for `code`, with the reason phrase HipChat used as `type`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        let kind = match code {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Request Entity Too Large",
            415 => "Unsupported Media Type",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        ErrorEnvelope {
            error: ErrorBody {
                code,
                message: message.into(),
                kind: kind.into(),
            },
        }
    }

    /// Parses an error answer, if it is one.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Notification, NotificationError> {
        Notification::parse(v.to_string().as_bytes())
    }

    #[test]
    fn parses_a_full_body_and_defaults_the_rest() {
        let n = parse(
            json!({"message": "<b>hi</b>", "color": "green", "notify": true,
                             "message_format": "text", "from": "bot", "card": {"style": "link"}}),
        )
        .expect("valid");
        assert_eq!(n.color, Color::Green);
        assert_eq!(n.message_format, MessageFormat::Text);
        assert!(n.notify);
        let d = parse(json!({"message": "x"})).expect("valid");
        assert_eq!(
            (d.color, d.message_format, d.notify),
            (Color::Yellow, MessageFormat::Html, false)
        );
    }

    #[test]
    fn enforces_one_to_ten_thousand_characters() {
        assert_eq!(
            parse(json!({"message": ""})),
            Err(NotificationError::EmptyMessage)
        );
        assert!(parse(json!({"message": "é".repeat(10_000)})).is_ok());
        assert_eq!(
            parse(json!({"message": "a".repeat(10_001)})),
            Err(NotificationError::MessageTooLong(10_001))
        );
        let err = parse(json!({"color": "red"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid notification: `message` is missing"
        );
    }

    #[test]
    fn rejects_unknown_enums_and_wrong_types_naming_the_field() {
        let err = parse(json!({"message": "x", "color": "blue"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`color`") && err.contains("purple"), "{err}");
        let err = parse(json!({"message": "x", "message_format": "md"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("message_format"), "{err}");
        let err = parse(json!({"message": "x", "notify": "yes"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`notify`"), "{err}");
        let err = parse(json!({"message": "x", "from": "f".repeat(65)})).unwrap_err();
        assert_eq!(err, NotificationError::FromTooLong(65));
        assert!(matches!(
            Notification::parse(b"nope"),
            Err(NotificationError::NotJson(_))
        ));
    }

    #[test]
    fn serializes_enums_in_lowercase() {
        let v = serde_json::to_value(Notification::html("hi")).expect("json");
        assert_eq!(
            v,
            json!({"message": "hi", "message_format": "html", "color": "yellow", "notify": false})
        );
    }

    #[test]
    fn builds_hipchats_error_envelope() {
        let v =
            serde_json::to_value(ErrorEnvelope::new(401, "Invalid OAuth session")).expect("json");
        assert_eq!(
            v,
            json!({"error": {"code": 401, "message": "Invalid OAuth session", "type": "Unauthorized"}})
        );
        let back = ErrorEnvelope::parse(v.to_string().as_bytes()).expect("envelope");
        assert_eq!(back.error.code, 401);
    }
}
