//! Asking for the values not given on the command line, in a terminal only.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::Context as _;
use dialoguer::Input;
use dialoguer::theme::ColorfulTheme;

use super::values::{self, Defaults, Field, Given, Location, Values};
use super::write;
use crate::error::usage;

/// Whether `connect new` may ask questions: only when a person can answer
/// (stdin and stderr, where prompts are drawn, are terminals), CI is not
/// set, and `--yes` was not given. Anything else must never wait for input.
pub fn may_ask(
    yes: bool,
    stdin_is_terminal: bool,
    stderr_is_terminal: bool,
    ci: Option<&OsStr>,
) -> bool {
    !yes && stdin_is_terminal && stderr_is_terminal && !is_ci(ci)
}

/// `CI` set to anything but an empty string, `0` or `false` (the values CI
/// services and people use to turn it off).
fn is_ci(ci: Option<&OsStr>) -> bool {
    ci.is_some_and(|value| !matches!(value.to_str(), Some("" | "0" | "false" | "FALSE" | "False")))
}

/// Asks for every value not given, showing its default, and re-asks until
/// the answer is valid. Given values are checked, not asked again.
pub fn ask(
    given: &Given,
    defaults: &Defaults,
    cwd: &Path,
    force: bool,
) -> anyhow::Result<(Location, Values)> {
    let theme = ColorfulTheme::default();
    let location = match given.name.as_deref() {
        Some(raw) => values::locate(raw, cwd).map_err(usage)?,
        None => {
            let raw: String = Input::with_theme(&theme)
                .with_prompt("Project name (its directory)")
                .validate_with(|input: &String| {
                    let location = values::locate(input, cwd)?;
                    if force || write::is_free(&location.dir) {
                        Ok(())
                    } else {
                        Err(format!(
                            "`{input}` exists and is not empty; choose another name (or run again with --force)"
                        ))
                    }
                })
                .interact_text()
                .context("reading the project name")?;
            values::locate(&raw, cwd).map_err(usage)?
        }
    };
    let key_default =
        values::default_key(&location.name).or_else(|| values::suggest_key(&location.name));
    let key = answer(
        &theme,
        given,
        Field::Key,
        "Add-on key (reverse-DNS)",
        key_default.as_deref(),
    )?;
    let description = answer(
        &theme,
        given,
        Field::Description,
        "Description",
        Some(&defaults.description),
    )?;
    let vendor_name = answer(
        &theme,
        given,
        Field::Vendor,
        "Vendor name",
        Some(&defaults.vendor),
    )?;
    let vendor_url = answer(
        &theme,
        given,
        Field::VendorUrl,
        "Vendor URL",
        Some(&defaults.vendor_url),
    )?;
    let values = Values {
        name: location.name.clone(),
        key,
        description,
        vendor_name,
        vendor_url,
    };
    values.check().map_err(usage)?;
    Ok((location, values))
}

/// The given value of `field`, or the user's answer to `prompt`.
fn answer(
    theme: &ColorfulTheme,
    given: &Given,
    field: Field,
    prompt: &str,
    default: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(value) = given.get(field) {
        values::check(field, value).map_err(usage)?;
        return Ok(value.to_owned());
    }
    let mut input = Input::<String>::with_theme(theme)
        .with_prompt(prompt)
        .validate_with(move |input: &String| values::check(field, input));
    if let Some(default) = default {
        input = input.default(default.to_owned());
    }
    input
        .interact_text()
        .with_context(|| format!("reading the {}", field.id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_only_when_both_ends_are_terminals_outside_ci_without_yes() {
        assert!(may_ask(false, true, true, None));
        assert!(!may_ask(true, true, true, None));
        assert!(!may_ask(false, false, true, None));
        assert!(!may_ask(false, true, false, None));
        assert!(!may_ask(false, true, true, Some(OsStr::new("true"))));
        assert!(!may_ask(false, true, true, Some(OsStr::new("1"))));
    }

    #[test]
    fn ci_turned_off_explicitly_still_allows_asking() {
        for off in ["", "0", "false"] {
            assert!(
                may_ask(false, true, true, Some(OsStr::new(off))),
                "CI={off:?}"
            );
        }
    }
}
