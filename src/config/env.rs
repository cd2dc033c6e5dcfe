//! A snapshot of the environment, taken once, so configuration code is pure
//! and testable and nothing below it re-reads the process environment.

use std::collections::BTreeMap;

/// Environment variables as seen when the command started.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// This environment with `name` set to `value` (replacing it).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The current process environment (variables that are not valid
    /// UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of the given pairs only (for tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Replaces every `$NAME` and `${NAME}` in `text` with the variable's value.
/// `extra` is consulted first (for `$port`, which names the resolved port).
/// Returns the name of the first variable that is not set.
pub fn substitute(text: &str, env: &Env, extra: &[(&str, &str)]) -> Result<String, String> {
    let mut missing = Vec::new();
    let out = expand(text, env, extra, &mut missing);
    match missing.into_iter().next() {
        Some(name) => Err(name),
        None => Ok(out),
    }
}

/// The names of every variable `text` uses that is neither in `extra` nor
/// set, in order of appearance, each once.
pub fn missing_variables(text: &str, env: &Env, extra: &[(&str, &str)]) -> Vec<String> {
    let mut missing = Vec::new();
    expand(text, env, extra, &mut missing);
    missing
}

fn expand(text: &str, env: &Env, extra: &[(&str, &str)], missing: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) if is_name(&braced[..end]) => (&braced[..end], end + 2),
                _ => ("", 0),
            }
        } else {
            let end = after
                .char_indices()
                .find(|&(i, c)| {
                    !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
                })
                .map_or(after.len(), |(i, _)| i);
            (&after[..end], end)
        };
        if name.is_empty() {
            // A lone `$` (e.g. in a regex or a price) is kept as it is.
            out.push('$');
            rest = after;
            continue;
        }
        let value = extra
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .or_else(|| env.get(name));
        match value {
            Some(value) => out.push_str(value),
            None if !missing.iter().any(|m| m == name) => missing.push(name.to_string()),
            None => {}
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_pairs([
            ("PORT", "8080"),
            ("REDIS_URL", "redis://r:6379"),
            ("EMPTY", ""),
        ])
    }

    #[test]
    fn replaces_plain_and_braced_variables_anywhere_in_a_string() {
        assert_eq!(substitute("$PORT", &env(), &[]).unwrap(), "8080");
        assert_eq!(
            substitute("url=${REDIS_URL}/0 on $PORT!", &env(), &[]).unwrap(),
            "url=redis://r:6379/0 on 8080!"
        );
    }

    #[test]
    fn extra_values_take_precedence_over_the_environment() {
        assert_eq!(
            substitute("http://localhost:$port", &env(), &[("port", "3000")]).unwrap(),
            "http://localhost:3000"
        );
    }

    #[test]
    fn names_the_first_missing_or_empty_variable() {
        assert_eq!(substitute("$NOPE", &env(), &[]).unwrap_err(), "NOPE");
        assert_eq!(substitute("x${EMPTY}", &env(), &[]).unwrap_err(), "EMPTY");
    }

    #[test]
    fn lists_every_missing_variable_once() {
        assert_eq!(
            missing_variables("$A ${B} $PORT $A $port", &env(), &[("port", "1")]),
            vec!["A", "B"]
        );
        assert!(missing_variables("no variables", &env(), &[]).is_empty());
    }

    #[test]
    fn keeps_a_dollar_that_starts_no_name() {
        assert_eq!(
            substitute("^/cost \\$5 $", &env(), &[]).unwrap(),
            "^/cost \\$5 $"
        );
        assert_eq!(substitute("${1bad}", &env(), &[]).unwrap(), "${1bad}");
    }
}
