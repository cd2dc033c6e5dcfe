//! Reading ngrok's log lines (pure): the public URL, the address of its
//! local web service (inspector and agent API), and `ERR_NGROK_NNNN` codes.
//!
//! ngrok v3 writes one JSON object a line with `--log-format json`, or
//! logfmt (`key=value`, values quoted when they contain spaces). In older
//! v3 releases `addr` is a string (`"http://localhost:3000"`); in recent
//! ones it is an object (`{"Scheme":"http","Host":"localhost:3000"}`); we
//! only need `url`, so both work.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What one log line tells us.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// The public URL of a started tunnel.
    pub url: Option<String>,
    /// The local web service (inspector, agent API), `host:port`.
    pub web_addr: Option<String>,
    /// An `ERR_NGROK_NNNN` code anywhere in the line.
    pub code: Option<u32>,
    /// The message of an error-level line (`lvl=eror`/`crit`), or ngrok's
    /// plain `ERROR:` output.
    pub error: Option<String>,
}

static CODE: LazyLock<Regex> = LazyLock::new(|| {
    // Sound: a constant pattern.
    Regex::new(r"ERR_NGROK_(\d{1,5})").expect("constant regex")
});

/// Parses one line of ngrok output (JSON, logfmt or plain text).
pub fn parse_line(line: &str) -> LineInfo {
    let line = line.trim();
    let mut info = LineInfo {
        code: CODE
            .captures(line)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse().ok()),
        ..LineInfo::default()
    };
    let fields = if line.starts_with('{') {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    } else {
        logfmt(line)
    };
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match get("msg") {
        Some("started tunnel") => {
            info.url = get("url")
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(str::to_string);
        }
        Some("starting web service") => info.web_addr = get("addr").map(str::to_string),
        _ => {}
    }
    if matches!(get("lvl"), Some("eror" | "crit" | "error")) {
        info.error = get("err")
            .filter(|e| !e.is_empty() && *e != "<nil>")
            .or_else(|| get("msg"))
            .map(tidy);
    } else if let Some(rest) = line.strip_prefix("ERROR:") {
        info.error = Some(tidy(rest));
    }
    info
}

/// One line of an error message: ngrok embeds `\r\n` and long help text.
fn tidy(message: &str) -> String {
    message
        .split(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Splits a logfmt line into key/value pairs (quoted values unescaped).
pub fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            return pairs;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('r') => value.push('\r'),
                            Some('t') => value.push('\t'),
                            Some(other) => value.push(other),
                            None => break,
                        },
                        other => value.push(other),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    value.push(c);
                }
            }
        } else if key.is_empty() {
            // A stray character that is neither key nor `=`: skip it.
            chars.next();
            continue;
        }
        if !key.is_empty() {
            pairs.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_url_of_a_json_line_with_an_old_string_addr() {
        let line = r#"{"addr":"http://localhost:3000","lvl":"info","msg":"started tunnel","name":"command_line","obj":"tunnels","t":"2026-01-01T00:00:00Z","url":"https://ab12.ngrok-free.app"}"#;
        assert_eq!(
            parse_line(line).url.as_deref(),
            Some("https://ab12.ngrok-free.app")
        );
    }

    #[test]
    fn reads_the_url_of_a_json_line_with_a_new_object_addr() {
        let line = r#"{"addr":{"Scheme":"http","Host":"localhost:3000","Path":""},"lvl":"info","msg":"started tunnel","url":"https://x.ngrok.app"}"#;
        assert_eq!(parse_line(line).url.as_deref(), Some("https://x.ngrok.app"));
    }

    #[test]
    fn reads_the_url_and_web_address_of_logfmt_lines() {
        let started = r#"t=2026-01-01T00:00:00+0000 lvl=info msg="started tunnel" obj=tunnels name=command_line addr=http://localhost:3000 url=https://y.ngrok-free.app"#;
        assert_eq!(
            parse_line(started).url.as_deref(),
            Some("https://y.ngrok-free.app")
        );
        let web = r#"t=2026 lvl=info msg="starting web service" obj=web addr=127.0.0.1:4041 allow_hosts=[]"#;
        assert_eq!(parse_line(web).web_addr.as_deref(), Some("127.0.0.1:4041"));
    }

    #[test]
    fn finds_error_codes_and_the_first_line_of_the_message() {
        let line = r#"{"lvl":"eror","msg":"failed to reconnect session","err":"authentication failed: Usage of ngrok requires a verified account and authtoken.\r\n\r\nERR_NGROK_4018\r\n"}"#;
        let info = parse_line(line);
        assert_eq!(info.code, Some(4018));
        assert_eq!(
            info.error.as_deref(),
            Some(
                "authentication failed: Usage of ngrok requires a verified account and authtoken."
            )
        );
        let plain = parse_line("ERROR:  ERR_NGROK_108");
        assert_eq!(plain.code, Some(108));
        assert_eq!(plain.error.as_deref(), Some("ERR_NGROK_108"));
    }

    #[test]
    fn ordinary_lines_say_nothing() {
        assert_eq!(
            parse_line(r#"{"lvl":"info","msg":"client session established"}"#),
            LineInfo::default()
        );
        assert_eq!(parse_line("not a log line"), LineInfo::default());
        assert_eq!(parse_line(""), LineInfo::default());
    }

    #[test]
    fn logfmt_handles_quotes_escapes_and_bare_keys() {
        let pairs = logfmt(r#"a=1 b="two words" c="q\"uote" flag d="#);
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "q\"uote".into()),
                ("flag".into(), String::new()),
                ("d".into(), String::new()),
            ]
        );
    }
}
