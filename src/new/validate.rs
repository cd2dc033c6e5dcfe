//! What makes each value valid. Every error says what is wrong and what
//! would be valid; nothing here changes a value behind the user's back.

/// The longest add-on key HipChat accepts.
const MAX_KEY_LEN: usize = 64;
/// The longest project name: plenty for a directory, and it leaves room for
/// the `com.example.` of the default key.
const MAX_NAME_LEN: usize = 50;
/// Names Windows cannot use for a file or directory; refused so a project
/// can be checked out anywhere.
const WINDOWS_RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Checks a project name; the error says what is wrong and what would do.
pub fn check_name(name: &str) -> Result<(), String> {
    // A suggestion that drops letters (`café` -> `caf`) would mislead.
    let suggestion = || match suggest_name(name).filter(|_| name.is_ascii()) {
        Some(s) if s != name => format!(" (for example `{s}`)"),
        _ => String::new(),
    };
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
    if let Some(c) = bad {
        let what = if c.is_whitespace() {
            "a space".to_owned()
        } else if !c.is_ascii() {
            format!("`{c}`, which is not ASCII (the name is also used in the add-on key and URLs)")
        } else {
            format!("`{c}`")
        };
        return Err(format!(
            "the name `{name}` contains {what}; use only ASCII letters, digits, `-`, `_` and `.`{}",
            suggestion()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "the name `{name}` must start with a letter or digit{}",
            suggestion()
        ));
    }
    if name.ends_with('.') {
        return Err(format!(
            "the name `{name}` must not end with `.`{}",
            suggestion()
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the name `{name}` is {} characters long; use at most {MAX_NAME_LEN}",
            name.len()
        ));
    }
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    if WINDOWS_RESERVED.contains(&stem.as_str()) {
        return Err(format!(
            "the name `{name}` is reserved on Windows; choose another, such as `{stem}-addon`"
        ));
    }
    Ok(())
}

/// A valid name close to `raw` (lowercase, runs of other characters as
/// `-`), offered in messages; never applied without the user choosing it.
pub fn suggest_name(raw: &str) -> Option<String> {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(MAX_NAME_LEN).collect();
    let out = out.trim_end_matches('-').to_owned();
    // Never empty, so checking it cannot ask for another suggestion.
    (!out.is_empty() && check_name(&out).is_ok()).then_some(out)
}

/// Checks an add-on key: reverse-DNS, lowercase, at most 64 characters.
pub fn check_key(key: &str) -> Result<(), String> {
    const RULE: &str = "a key is two or more dot-separated parts of lowercase letters, digits, `-` and `_`, each starting and ending with a letter or digit, like `com.example.blogsearch`";
    if key.is_empty() {
        return Err(format!("the key is empty; {RULE}"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "the key `{key}` is {} characters long; HipChat accepts at most {MAX_KEY_LEN}",
            key.len()
        ));
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() < 2 {
        return Err(format!("the key `{key}` is not reverse-DNS; {RULE}"));
    }
    if let Some(part) = parts.iter().find(|part| !is_key_part(part)) {
        let hint = if part.chars().any(|c| c.is_ascii_uppercase()) {
            format!(" (`{}` would do)", key.to_ascii_lowercase())
        } else {
            String::new()
        };
        return Err(format!(
            "the key `{key}` has an invalid part `{part}`; {RULE}{hint}"
        ));
    }
    Ok(())
}

fn is_key_part(part: &str) -> bool {
    let inner_ok = part
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    inner_ok && edge(part.chars().next()) && edge(part.chars().last())
}

/// The default key `com.example.NAME`, only when NAME is already a valid
/// key part; otherwise the key must be chosen, never quietly derived.
pub fn default_key(name: &str) -> Option<String> {
    let key = format!("com.example.{name}");
    (is_key_part(name) && check_key(&key).is_ok()).then_some(key)
}

/// A key to offer when NAME cannot be used as it is: shown as the prompt's
/// default or in the error, so the user sees and chooses it.
pub fn suggest_key(name: &str) -> Option<String> {
    let part: String = suggest_name(name)?.replace('.', "-");
    default_key(&part)
}

/// Checks the description: one line, not empty.
pub fn check_description(text: &str) -> Result<(), String> {
    check_line("description", text, 1000)
}

/// Checks the vendor's name: one line, not empty.
pub fn check_vendor(text: &str) -> Result<(), String> {
    check_line("vendor name", text, 200)
}

fn check_line(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("the {what} is empty; give a short line of text"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "the {what} contains a line break or control character; give one line of text"
        ));
    }
    let len = text.chars().count();
    if len > max {
        return Err(format!(
            "the {what} is {len} characters long; use at most {max}"
        ));
    }
    Ok(())
}

/// Checks the vendor's URL: absolute, http or https, with a host.
pub fn check_vendor_url(raw: &str) -> Result<(), String> {
    let example = "such as `https://example.com`";
    match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(url) => Err(format!(
            "the vendor URL `{raw}` uses `{}:`; give an http or https URL, {example}",
            url.scheme()
        )),
        Err(err) => Err(format!(
            "the vendor URL `{raw}` is not a URL ({err}); give an absolute http or https URL, {example}"
        )),
    }
}
