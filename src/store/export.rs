//! The export file: JSON lines, a header, one line per installation, and
//! a closing line that says how many there were, so that a file cut short
//! anywhere (even between two lines) is refused whole.
//!
//! ```text
//! {"kind": "connect-store-export", "version": 1, "addon": "com.example.blog", "exportedAt": 1765000000, "secrets": true}
//! {"kind": "installation", "oauthId": "...", "oauthSecret": "...", "capabilitiesUrl": "...", "capabilitiesDoc": {...}, "roomId": 1, "groupId": 46617, "groupName": "Acme", "installedAt": 1765000000}
//! {"kind": "end", "installations": 1}
//! ```
//!
//! Without `--with-secrets` the installations carry no `oauthSecret`:
//! fine to read, useless to import (an installation cannot be served
//! without it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serve::store::Tenant;

/// The format's version.
pub const VERSION: u64 = 1;
/// The header's `kind`.
pub const HEADER: &str = "connect-store-export";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    kind: String,
    version: u64,
    addon: String,
    exported_at: u64,
    secrets: bool,
}

/// One installation line.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Line {
    kind: String,
    oauth_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth_secret: Option<String>,
    capabilities_url: String,
    capabilities_doc: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room_id: Option<u64>,
    group_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_name: Option<String>,
    installed_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale_since: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct End {
    kind: String,
    installations: usize,
}

/// Writes `tenants` of add-on `addon` as an export (with their secrets
/// only when `secrets`).
pub fn write(addon: &str, tenants: &[Tenant], secrets: bool, now: u64) -> String {
    fn push<T: Serialize>(out: &mut String, value: &T) {
        out.push_str(&serde_json::to_string(value).unwrap_or_default());
        out.push('\n');
    }
    let mut out = String::new();
    push(
        &mut out,
        &Header {
            kind: HEADER.into(),
            version: VERSION,
            addon: addon.into(),
            exported_at: now,
            secrets,
        },
    );
    for t in tenants {
        push(
            &mut out,
            &Line {
                kind: "installation".into(),
                oauth_id: t.oauth_id.clone(),
                oauth_secret: secrets.then(|| t.oauth_secret.clone()),
                capabilities_url: t.capabilities_url.clone(),
                capabilities_doc: t.capabilities.clone(),
                room_id: t.room_id,
                group_id: t.group_id,
                group_name: t.group_name.clone(),
                installed_at: t.installed_at,
                stale_since: t.stale_since,
            },
        );
    }
    push(
        &mut out,
        &End {
            kind: "end".into(),
            installations: tenants.len(),
        },
    );
    out
}

/// Reads an export of add-on `addon`: every installation, or the first
/// problem with its line number. Nothing partial: a file that does not end
/// with its closing line, or whose count differs, is refused.
pub fn read(text: &str, addon: &str) -> Result<Vec<Tenant>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let bad = |n: usize, why: String| format!("line {n}: {why}");
    let (n, first) = lines.next().ok_or(
        "the file is empty; an export starts with {\"kind\": \"connect-store-export\", ...}",
    )?;
    let header: Header = serde_json::from_str(first).map_err(|_| {
        bad(n, "this is not a connect store export (it starts with {\"kind\": \"connect-store-export\", ...}); make one with `connect store export`".into())
    })?;
    if header.kind != HEADER {
        return Err(bad(
            n,
            format!(
                "`kind` is `{}`, not `{HEADER}`: not a connect store export",
                header.kind
            ),
        ));
    }
    if header.version != VERSION {
        return Err(bad(
            n,
            format!(
                "the export is version {}; this connect reads version {VERSION}",
                header.version
            ),
        ));
    }
    if header.addon != addon {
        return Err(bad(
            n,
            format!(
                "the export is of the add-on `{}`, this project's is `{addon}`; import it into that add-on's project",
                header.addon
            ),
        ));
    }
    let mut tenants = Vec::new();
    for (n, text) in lines {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            bad(
                n,
                format!(
                    "not JSON ({}): the file is damaged or was cut short",
                    crate::serve::store::describe_json_error(&e)
                ),
            )
        })?;
        match value.get("kind").and_then(Value::as_str) {
            Some("end") => {
                let end: End = serde_json::from_value(value)
                    .map_err(|e| bad(n, format!("a bad closing line: {e}")))?;
                if end.installations != tenants.len() {
                    return Err(bad(
                        n,
                        format!(
                            "the file says it holds {} installations but has {}: it is damaged",
                            end.installations,
                            tenants.len()
                        ),
                    ));
                }
                return Ok(tenants);
            }
            Some("installation") => {
                let line: Line = serde_json::from_value(value)
                    .map_err(|e| bad(n, format!("not an installation: {}", describe(&e))))?;
                let secret = line.oauth_secret.filter(|s| !s.is_empty()).ok_or_else(|| {
                    bad(n, format!("installation {} has no oauthSecret: the export was made without --with-secrets, and an installation cannot be served without its secret", line.oauth_id))
                })?;
                if tenants.iter().any(|t: &Tenant| t.oauth_id == line.oauth_id) {
                    return Err(bad(
                        n,
                        format!("installation {} is in the file twice", line.oauth_id),
                    ));
                }
                tenants.push(Tenant {
                    oauth_id: line.oauth_id,
                    oauth_secret: secret,
                    capabilities_url: line.capabilities_url,
                    capabilities: line.capabilities_doc,
                    room_id: line.room_id,
                    group_id: line.group_id,
                    group_name: line.group_name,
                    installed_at: line.installed_at,
                    stale_since: line.stale_since,
                });
            }
            _ => {
                return Err(bad(
                    n,
                    "not an installation line (`kind` should be \"installation\")".into(),
                ));
            }
        }
    }
    Err("the file ends before its closing line ({\"kind\": \"end\", ...}): it was cut short; nothing was imported".into())
}

// serde's message without the value it quotes (it could be a secret).
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(", expected").or_else(|| text.find(" at line")) {
        Some(_) if text.starts_with("invalid type") => "a field of the wrong type".into(),
        _ => text.split(" at line").next().unwrap_or(&text).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Tenant {
        Tenant {
            oauth_id: id.into(),
            oauth_secret: format!("secret-of-{id}"),
            capabilities_url: "https://api.hipchat.com/v2/capabilities".into(),
            capabilities: serde_json::json!({"links": {"self": "https://api.hipchat.com/v2/capabilities"}}),
            room_id: Some(1),
            group_id: 7,
            group_name: Some("Acme".into()),
            installed_at: 1_700_000_000,
            stale_since: None,
        }
    }

    #[test]
    fn an_export_with_secrets_reads_back_whole() {
        let tenants = vec![tenant("a"), tenant("b")];
        let text = write("com.x", &tenants, true, 5);
        assert_eq!(text.lines().count(), 4);
        assert_eq!(read(&text, "com.x").unwrap(), tenants);
    }

    #[test]
    fn without_secrets_it_shows_no_secret_and_cannot_be_imported() {
        let text = write("com.x", &[tenant("a")], false, 5);
        assert!(!text.contains("secret-of-a"), "{text}");
        let err = read(&text, "com.x").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("--with-secrets"),
            "{err}"
        );
    }

    #[test]
    fn a_file_cut_short_anywhere_is_refused_whole() {
        let text = write("com.x", &[tenant("a"), tenant("b"), tenant("c")], true, 5);
        let lines: Vec<&str> = text.lines().collect();
        let between = lines[..3].join("\n");
        assert!(read(&between, "com.x").unwrap_err().contains("cut short"));
        let mid_line = &text[..text.len() - 40];
        let err = read(mid_line, "com.x").unwrap_err();
        assert!(err.contains("line 5") || err.contains("cut short"), "{err}");
    }

    #[test]
    fn another_file_or_another_addons_export_is_refused_naming_the_line() {
        assert!(read("hello\n", "com.x").unwrap_err().contains("line 1"));
        let other = write("com.other", &[tenant("a")], true, 5);
        assert!(read(&other, "com.x").unwrap_err().contains("com.other"));
        let doubled = write("com.x", &[tenant("a"), tenant("a")], true, 5);
        assert!(read(&doubled, "com.x").unwrap_err().contains("twice"));
        let extra = write("com.x", &[tenant("a")], true, 5).replace(
            "\"kind\":\"installation\"",
            "\"kind\":\"installation\",\"colour\":\"red\"",
        );
        let err = read(&extra, "com.x").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("secret-of-a"), "{err}");
    }
}
