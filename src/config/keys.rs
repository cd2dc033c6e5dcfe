//! Which settings a stage may have, and the warnings for the others: a
//! misspelt key is named with the key it probably meant.

use serde_json::{Map, Value};

/// The settings `connect` reads from a stage.
pub const STAGE_KEYS: &[&str] = &[
    "localBaseUrl",
    "port",
    "store",
    "whitelist",
    "maxTokenAge",
    "search",
    "searchHost",
    "searchBasePath",
    "tagBasePath",
    "maxResultsDisplayed",
    // The old stack restarted on descriptor changes when set; `connect dev`
    // always does, so the key is accepted and has nothing left to do.
    "watch",
];

/// atlassian-connect-express settings that have no meaning here: accepted
/// with a note rather than an "unknown key" warning.
pub const FOREIGN_KEYS: &[(&str, &str)] = &[
    (
        "hosts",
        "it listed products to install into at start; use `connect dev --emulate`",
    ),
    ("product", "connect serves HipChat add-ons only"),
    (
        "jwt",
        "JWT lifetimes come from HipChat's tokens and `maxTokenAge`",
    ),
    ("errorTemplate", "connect answers errors as JSON"),
    ("expressErrorHandling", "connect answers errors as JSON"),
    (
        "validateDescriptor",
        "connect always validates the descriptor",
    ),
    (
        "setupInstallRoute",
        "connect always serves the installable callback",
    ),
    ("appKey", "the descriptor's `key` names the add-on"),
];

/// The closest of `known` to `key`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    // A typo is a few edits away (one per four letters), or shares a long
    // enough prefix and most letters (Jaro-Winkler).
    known
        .iter()
        .filter_map(|k| {
            let candidate = k.to_ascii_lowercase();
            let edits = strsim::damerau_levenshtein(&lower, &candidate);
            let close = edits <= (candidate.len() / 4).max(1)
                || strsim::jaro_winkler(&lower, &candidate) >= 0.9
                // An abbreviation: `prod` for `production`, `dev` for `development`.
                || (lower.len() >= 3 && candidate.starts_with(&lower));
            close.then_some((edits, *k))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, k)| k)
}

/// Warnings for the keys of `values` (at `path`, `""` for a stage) that are
/// not in `known`.
pub fn unknown_keys(values: &Map<String, Value>, path: &str, known: &[&str]) -> Vec<String> {
    let mut warnings = Vec::new();
    for key in values.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        let shown = if path.is_empty() {
            format!("`{key}`")
        } else {
            format!("`{path}.{key}`")
        };
        if path.is_empty()
            && let Some((_, why)) = FOREIGN_KEYS.iter().find(|(k, _)| k == key)
        {
            warnings.push(format!(
                "{shown} is an atlassian-connect-express setting that connect ignores ({why})"
            ));
            continue;
        }
        match did_you_mean(key, known) {
            Some(close) => warnings.push(format!(
                "{shown} is not a setting connect knows, so it is ignored; did you mean `{close}`?"
            )),
            None => warnings.push(format!(
                "{shown} is not a setting connect knows, so it is ignored (known: {})",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_misspelt_key_is_named_with_the_key_it_meant() {
        assert_eq!(
            did_you_mean("maxResultDisplayed", STAGE_KEYS),
            Some("maxResultsDisplayed")
        );
        assert_eq!(
            did_you_mean("localbaseurl", STAGE_KEYS),
            Some("localBaseUrl")
        );
        assert_eq!(did_you_mean("whitelst", STAGE_KEYS), Some("whitelist"));
        assert_eq!(did_you_mean("colour", STAGE_KEYS), None);
        let stages = ["development", "production"];
        assert_eq!(did_you_mean("prod", &stages), Some("production"));
        assert_eq!(did_you_mean("dev", &stages), Some("development"));
        assert_eq!(did_you_mean("staging", &stages), None);
    }

    #[test]
    fn unknown_keys_warn_and_known_ones_do_not() {
        let stage = json!({"port": 1, "maxResultDisplayed": 5, "hosts": [], "zzz": 1});
        let warnings = unknown_keys(stage.as_object().unwrap(), "", STAGE_KEYS);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("did you mean `maxResultsDisplayed`"))
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("`hosts` is an atlassian-connect-express setting"))
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("`zzz`") && w.contains("known:"))
        );
    }

    #[test]
    fn nested_keys_are_shown_with_their_path() {
        let store = json!({"adapter": "redis", "ulr": "redis://x"});
        let warnings = unknown_keys(store.as_object().unwrap(), "store", &["adapter", "url"]);
        assert_eq!(
            warnings,
            vec![
                "`store.ulr` is not a setting connect knows, so it is ignored; did you mean `url`?"
            ]
        );
    }
}
