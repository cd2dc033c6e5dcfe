//! The add-on's output as `connect dev` shows it. `connect serve` started by
//! `connect dev` logs one JSON object a line; each becomes a short line in
//! `connect dev`'s style (`POST /message 200 1.2 ms`, or the message and its
//! fields as `key=value`). Any other line is shown as it is.

use serde_json::{Map, Value};

use super::status::Level;

/// Fields every JSON log line has, not worth repeating.
const OMITTED: &[&str] = &[
    "timestamp",
    "level",
    "target",
    "message",
    "fields",
    "span",
    "spans",
];

/// A line of the add-on's output, ready to print: its level and text.
pub fn render_line(line: &str) -> (Level, String) {
    let trimmed = line.trim_end();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
        && map.contains_key("level")
        && map.contains_key("message")
    {
        return render_json(&map);
    }
    (Level::Info, strip_ansi(trimmed))
}

fn render_json(map: &Map<String, Value>) -> (Level, String) {
    let level = match map.get("level").and_then(Value::as_str) {
        Some("ERROR") => Level::Error,
        Some("WARN") => Level::Warn,
        _ => Level::Info,
    };
    let message = map.get("message").map(text).unwrap_or_default();
    if message == "request"
        && let (Some(method), Some(path), Some(status)) =
            (map.get("method"), map.get("path"), map.get("status"))
    {
        let latency = map
            .get("latency_us")
            .and_then(Value::as_u64)
            .map(|us| format!(" {:.1} ms", us as f64 / 1000.0))
            .unwrap_or_default();
        return (
            level,
            format!("{} {} {}{latency}", text(method), text(path), text(status)),
        );
    }
    let mut out = message;
    for (key, value) in map {
        if OMITTED.contains(&key.as_str()) {
            continue;
        }
        let value = text(value);
        if value.contains(char::is_whitespace) || value.is_empty() {
            out.push_str(&format!(" {key}=\"{value}\""));
        } else {
            out.push_str(&format!(" {key}={value}"));
        }
    }
    (level, out)
}

// A value as a person reads it: strings without quotes, the rest as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Removes terminal colour codes (`ESC [ ... m`) from a line, so a child
/// that colours its output does not garble ours.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_reads_as_method_path_status_and_time() {
        let line = r#"{"timestamp":"2026-12-01T20:06:23Z","level":"INFO","message":"request","method":"POST","path":"/message","status":200,"latency_us":1234,"target":"connect::serve::app"}"#;
        assert_eq!(
            render_line(line),
            (Level::Info, "POST /message 200 1.2 ms".into())
        );
    }

    #[test]
    fn other_json_lines_keep_their_fields_without_debug_formatting() {
        let line = r#"{"level":"WARN","message":"blog search failed","tenant":"t-1","error":"the blog answered HTTP 503","room":1,"target":"x"}"#;
        assert_eq!(
            render_line(line),
            (
                Level::Warn,
                "blog search failed error=\"the blog answered HTTP 503\" room=1 tenant=t-1".into()
            )
        );
    }

    #[test]
    fn plain_lines_are_shown_as_they_are_without_colour_codes() {
        assert_eq!(
            render_line("Add-on server running at http://localhost:3000\n"),
            (
                Level::Info,
                "Add-on server running at http://localhost:3000".into()
            )
        );
        assert_eq!(
            render_line("\x1b[32mGET\x1b[0m / 200"),
            (Level::Info, "GET / 200".into())
        );
        assert_eq!(render_line("{not json"), (Level::Info, "{not json".into()));
    }
}
