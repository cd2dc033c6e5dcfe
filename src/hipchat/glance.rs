//! Glance content (PROTOCOL.md, Glances): what a glance's `queryUrl`
//! answers and what the push call (`POST /addon/ui/room/{id}`) sends,
//! validated with one error per bad field and reduced to what a page may
//! render (the label's HTML to `b`, `strong`, `em`, `i`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::modules::ModuleError;
use super::sanitize::sanitize_glance_label;

/// The longest label HipChat accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 1000;
/// The longest lozenge label, in characters.
pub const MAX_LOZENGE_CHARS: usize = 20;
/// The lozenge types HipChat styled.
pub const LOZENGE_TYPES: &[&str] = &["default", "success", "error", "current", "new", "moved"];

/// A glance's status, right of its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum Status {
    /// A coloured lozenge with a short label.
    Lozenge {
        /// Its text (1 to 20 characters).
        label: String,
        /// One of [`LOZENGE_TYPES`].
        #[serde(rename = "type")]
        kind: String,
    },
    /// An icon.
    Icon {
        /// Its URL.
        url: String,
        /// Its high-resolution URL, if any.
        #[serde(rename = "url@2x", skip_serializing_if = "Option::is_none")]
        url2x: Option<String>,
    },
}

/// Validated glance content, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlanceContent {
    /// The label as safe HTML (only `b`, `strong`, `em`, `i`; text escaped).
    pub label_html: String,
    /// Its status, if any.
    pub status: Option<Status>,
    /// Data for `glance_matches` conditions and `glance-update` events.
    pub metadata: Option<Map<String, Value>>,
}

impl GlanceContent {
    /// Validates `value` (at `path`, for error messages).
    pub fn parse(value: &Value, path: &str) -> Result<GlanceContent, Vec<ModuleError>> {
        let mut errors = Vec::new();
        let mut error = |field: String, problem: String| {
            errors.push(ModuleError { field, problem });
        };
        let Value::Object(map) = value else {
            error(
                path.to_owned(),
                "must be an object like {\"label\": {\"type\": \"html\", \"value\": \"3 open\"}}"
                    .into(),
            );
            return Err(errors);
        };
        let label_html = match map.get("label") {
            Some(Value::Object(label)) => {
                let kind = label.get("type").and_then(Value::as_str).unwrap_or("html");
                match label.get("value") {
                    Some(Value::String(text)) => {
                        let chars = text.chars().count();
                        if chars > MAX_LABEL_CHARS {
                            error(
                                format!("{path}.label.value"),
                                format!(
                                    "is {chars} characters long; HipChat accepts at most {MAX_LABEL_CHARS}"
                                ),
                            );
                            None
                        } else {
                            match kind {
                                "html" => Some(sanitize_glance_label(text)),
                                "text" => Some(html_escape::encode_text(text).into_owned()),
                                other => {
                                    error(
                                        format!("{path}.label.type"),
                                        format!("is {other:?}; use \"html\""),
                                    );
                                    None
                                }
                            }
                        }
                    }
                    _ => {
                        error(
                            format!("{path}.label.value"),
                            "is missing; the label's text or HTML, e.g. \"<b>3</b> open\"".into(),
                        );
                        None
                    }
                }
            }
            // A bare string is what people try first; HipChat wanted the object.
            Some(Value::String(_)) => {
                error(
                    format!("{path}.label"),
                    "must be {\"type\": \"html\", \"value\": \"...\"}, not a string".into(),
                );
                None
            }
            _ => {
                error(
                    format!("{path}.label"),
                    "is missing; e.g. {\"type\": \"html\", \"value\": \"<b>3</b> open\"}".into(),
                );
                None
            }
        };
        let status = match map.get("status") {
            None | Some(Value::Null) => None,
            Some(Value::Object(status)) => {
                parse_status(status, &format!("{path}.status"), &mut error)
            }
            Some(_) => {
                error(
                    format!("{path}.status"),
                    "must be {\"type\": \"lozenge\", \"value\": {\"label\": \"NEW\", \"type\": \"new\"}} or {\"type\": \"icon\", \"value\": {\"url\": ...}}".into(),
                );
                None
            }
        };
        let metadata = match map.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => {
                error(format!("{path}.metadata"), "must be an object".into());
                None
            }
        };
        match label_html {
            Some(label_html) if errors.is_empty() => Ok(GlanceContent {
                label_html,
                status,
                metadata,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_status(
    status: &Map<String, Value>,
    path: &str,
    error: &mut impl FnMut(String, String),
) -> Option<Status> {
    let value = status.get("value").and_then(Value::as_object);
    match status.get("type").and_then(Value::as_str) {
        Some("lozenge") => {
            let Some(value) = value else {
                error(
                    format!("{path}.value"),
                    "is missing; e.g. {\"label\": \"NEW\", \"type\": \"new\"}".into(),
                );
                return None;
            };
            let kind = value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let mut ok = true;
            if !LOZENGE_TYPES.contains(&kind) {
                error(
                    format!("{path}.value.type"),
                    format!("is {kind:?}; use one of {}", LOZENGE_TYPES.join(", ")),
                );
                ok = false;
            }
            let label = match value.get("label").and_then(Value::as_str) {
                Some(label) => {
                    let chars = label.trim().chars().count();
                    if chars == 0 || chars > MAX_LOZENGE_CHARS {
                        error(
                            format!("{path}.value.label"),
                            format!(
                                "is {chars} characters long; a lozenge says 1 to {MAX_LOZENGE_CHARS}"
                            ),
                        );
                        ok = false;
                    }
                    label.to_owned()
                }
                None => {
                    error(
                        format!("{path}.value.label"),
                        "is missing; e.g. \"NEW\"".into(),
                    );
                    return None;
                }
            };
            ok.then(|| Status::Lozenge {
                label,
                kind: kind.to_owned(),
            })
        }
        Some("icon") => {
            let url = value
                .and_then(|v| v.get("url"))
                .and_then(Value::as_str)
                .filter(|u| is_http_url(u));
            let Some(url) = url else {
                error(
                    format!("{path}.value.url"),
                    "must be the icon's http(s) URL".into(),
                );
                return None;
            };
            let url2x = value
                .and_then(|v| v.get("url@2x"))
                .and_then(Value::as_str)
                .filter(|u| is_http_url(u))
                .map(str::to_owned);
            Some(Status::Icon {
                url: url.to_owned(),
                url2x,
            })
        }
        other => {
            error(
                format!("{path}.type"),
                format!(
                    "is {}; use \"lozenge\" or \"icon\"",
                    other.map_or("missing".to_owned(), |o| format!("{o:?}"))
                ),
            );
            None
        }
    }
}

fn is_http_url(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<GlanceContent, Vec<ModuleError>> {
        GlanceContent::parse(&value, "content")
    }

    #[test]
    fn reads_the_templates_glance() {
        let content = parse(json!({
            "label": {"type": "html", "value": "Hello <b>World</b>!<script>x()</script>"},
            "status": {"type": "lozenge", "value": {"label": "NEW", "type": "error"}},
            "metadata": {"count": 3}
        }))
        .expect("valid");
        assert_eq!(content.label_html, "Hello <b>World</b>!");
        assert_eq!(
            content.status,
            Some(Status::Lozenge {
                label: "NEW".into(),
                kind: "error".into()
            })
        );
        assert_eq!(content.metadata.expect("metadata")["count"], 3);
    }

    #[test]
    fn an_icon_status_keeps_both_urls() {
        let content = parse(json!({
            "label": {"type": "html", "value": "x"},
            "status": {"type": "icon", "value": {"url": "https://a/i.png", "url@2x": "https://a/i2.png"}}
        }))
        .expect("valid");
        assert_eq!(
            content.status,
            Some(Status::Icon {
                url: "https://a/i.png".into(),
                url2x: Some("https://a/i2.png".into())
            })
        );
    }

    #[test]
    fn names_every_bad_field_at_once() {
        let errors = parse(json!({
            "label": {"type": "html", "value": "x".repeat(1001)},
            "status": {"type": "lozenge", "value": {"label": "A LABEL FAR TOO LONG TO FIT", "type": "purple"}},
            "metadata": [1]
        }))
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "content.label.value",
                "content.status.value.type",
                "content.status.value.label",
                "content.metadata"
            ]
        );
        assert!(errors[0].problem.contains("1001"), "{}", errors[0].problem);
        assert!(
            errors[1].problem.contains("success"),
            "{}",
            errors[1].problem
        );
    }

    #[test]
    fn a_label_given_as_a_string_says_what_shape_to_use() {
        let errors = parse(json!({"label": "3 open"})).expect_err("invalid");
        assert_eq!(errors[0].field, "content.label");
        assert!(errors[0].problem.contains("\"type\": \"html\""));
        let errors = parse(json!("x")).expect_err("invalid");
        assert_eq!(errors[0].field, "content");
    }

    #[test]
    fn an_empty_lozenge_or_unknown_status_type_is_refused() {
        let errors = parse(json!({"label": {"value": "x"}, "status": {"type": "lozenge", "value": {"label": " "}}}))
            .expect_err("invalid");
        assert_eq!(errors[0].field, "content.status.value.label");
        let errors = parse(json!({"label": {"value": "x"}, "status": {"type": "badge"}}))
            .expect_err("invalid");
        assert_eq!(errors[0].field, "content.status.type");
        let errors = parse(json!({"label": {"value": "x"}, "status": {"type": "icon", "value": {"url": "javascript:x"}}}))
            .expect_err("invalid");
        assert_eq!(errors[0].field, "content.status.value.url");
    }
}
