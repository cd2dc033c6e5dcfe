//! The values a project is made from: where each comes from (flag, `-d`,
//! prompt, default), and what makes each one valid.

use std::path::{Component, Path, PathBuf};

use crate::error::usage;

pub use super::validate::{
    check_description, check_key, check_name, check_vendor, check_vendor_url, default_key,
    suggest_key,
};

/// A value a template is rendered with, settable by its flag or `-d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The project's name (NAME).
    Name,
    /// The add-on key (`--key`).
    Key,
    /// The add-on's one-line description (`--description`).
    Description,
    /// The vendor's name (`--vendor`).
    Vendor,
    /// The vendor's web site (`--vendor-url`).
    VendorUrl,
}

impl Field {
    /// Every field, in the order they are asked for.
    pub const ALL: [Field; 5] = [
        Field::Name,
        Field::Key,
        Field::Description,
        Field::Vendor,
        Field::VendorUrl,
    ];

    /// The name used by `-d` (and, but for `name`, the flag's name).
    pub fn id(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Key => "key",
            Field::Description => "description",
            Field::Vendor => "vendor",
            Field::VendorUrl => "vendor-url",
        }
    }

    /// How a user passes this value on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            Field::Name => "NAME",
            Field::Key => "--key",
            Field::Description => "--description",
            Field::Vendor => "--vendor",
            Field::VendorUrl => "--vendor-url",
        }
    }

    fn from_id(id: &str) -> Option<Field> {
        let id = id.trim().to_ascii_lowercase().replace('_', "-");
        match id.as_str() {
            "vendor-name" => Some(Field::Vendor),
            _ => Field::ALL.into_iter().find(|field| field.id() == id),
        }
    }
}

/// One `-d KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    /// The value being set.
    pub field: Field,
    /// What it is set to.
    pub value: String,
}

/// Parses `KEY=VALUE` for `-d`; clap reports the error as a usage error.
pub fn parse_define(raw: &str) -> Result<Define, String> {
    let valid = Field::ALL.map(Field::id).join(", ");
    let Some((key, value)) = raw.split_once('=') else {
        return Err(format!("expected KEY=VALUE; valid keys: {valid}"));
    };
    match Field::from_id(key) {
        Some(field) => Ok(Define {
            field,
            value: value.to_owned(),
        }),
        None => Err(format!("unknown key `{key}`; valid keys: {valid}")),
    }
}

/// The values given on the command line, before prompts and defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
    /// NAME as typed: a name or a path.
    pub name: Option<String>,
    /// `--key`.
    pub key: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// `--vendor`.
    pub vendor: Option<String>,
    /// `--vendor-url`.
    pub vendor_url: Option<String>,
}

impl Given {
    /// Merges flags and `-d`s; the same value given twice differently is a
    /// usage error, since either choice would surprise.
    pub fn merge(mut self, defines: &[Define]) -> anyhow::Result<Given> {
        for define in defines {
            let slot = self.slot(define.field);
            match slot {
                Some(existing) if *existing != define.value => {
                    return Err(usage(format!(
                        "{} is given twice: `{existing}` and `{}`; give it once",
                        define.field.id(),
                        define.value
                    )));
                }
                _ => *slot = Some(define.value.clone()),
            }
        }
        Ok(self)
    }

    /// The given value of `field`.
    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::Name => self.name.as_deref(),
            Field::Key => self.key.as_deref(),
            Field::Description => self.description.as_deref(),
            Field::Vendor => self.vendor.as_deref(),
            Field::VendorUrl => self.vendor_url.as_deref(),
        }
    }

    fn slot(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::Name => &mut self.name,
            Field::Key => &mut self.key,
            Field::Description => &mut self.description,
            Field::Vendor => &mut self.vendor,
            Field::VendorUrl => &mut self.vendor_url,
        }
    }
}

/// Every value a template is rendered with, each one validated.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Values {
    /// The project's name (the last part of its directory).
    pub name: String,
    /// The add-on key.
    pub key: String,
    /// One line describing the add-on.
    pub description: String,
    /// The vendor's name.
    pub vendor_name: String,
    /// The vendor's web site.
    pub vendor_url: String,
}

/// Where the project goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The project's name: the directory's last part.
    pub name: String,
    /// The directory: as the user gave it, or the absolute current
    /// directory for `.`.
    pub dir: PathBuf,
    /// Whether NAME was `.`: the next steps then need no `cd`.
    pub is_current_dir: bool,
}

/// Turns NAME into a location. `cwd` is used only for `.`.
pub fn locate(raw: &str, cwd: &Path) -> Result<Location, String> {
    if raw.trim().is_empty() {
        return Err("NAME is empty; give the project a name such as `blogsearch`".into());
    }
    let path = Path::new(raw);
    if path.components().all(|c| c == Component::CurDir) {
        let name = cwd.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            format!(
                "the current directory `{}` has no usable name; run `connect new NAME` to create a new directory",
                cwd.display()
            )
        })?;
        check_name(name).map_err(|e| {
            format!("`.` names the project after the current directory, but {e}; run `connect new NAME` elsewhere instead")
        })?;
        return Ok(Location {
            name: name.to_owned(),
            // Absolute, so messages name the directory rather than `.`.
            dir: cwd.to_path_buf(),
            is_current_dir: true,
        });
    }
    let name = path
        .file_name()
        .ok_or_else(|| {
            format!(
                "`{raw}` does not end in a directory name; give the new directory's name last, as in `blogsearch` or `../blogsearch`"
            )
        })?
        .to_str()
        .ok_or_else(|| {
            format!("`{raw}` is not valid UTF-8; use letters, digits, `-`, `_` and `.`")
        })?;
    check_name(name)?;
    Ok(Location {
        name: name.to_owned(),
        dir: path.to_path_buf(),
        is_current_dir: false,
    })
}

/// Checks one value of `field` (not NAME, which [`locate`] checks).
pub fn check(field: Field, value: &str) -> Result<(), String> {
    match field {
        Field::Name => check_name(value),
        Field::Key => check_key(value),
        Field::Description => check_description(value),
        Field::Vendor => check_vendor(value),
        Field::VendorUrl => check_vendor_url(value),
    }
}

/// Defaults for the values a user may leave out; the template sets the
/// description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// The add-on's description.
    pub description: String,
    /// The vendor's name.
    pub vendor: String,
    /// The vendor's web site.
    pub vendor_url: String,
}

impl Defaults {
    /// The defaults, with the template's own description.
    pub fn with_description(description: &str) -> Defaults {
        Defaults {
            description: description.to_owned(),
            vendor: "Example".to_owned(),
            vendor_url: "https://example.com".to_owned(),
        }
    }
}

/// Completes the values without asking: given values are checked, missing
/// ones take their defaults, and a missing value without a default is a
/// usage error naming its flag.
pub fn resolve(
    given: &Given,
    defaults: &Defaults,
    cwd: &Path,
) -> anyhow::Result<(Location, Values)> {
    let raw_name = given.name.as_deref().ok_or_else(|| {
        usage("NAME is missing: give the project's name, as in `connect new -t hipchat blogsearch`")
    })?;
    let location = locate(raw_name, cwd).map_err(usage)?;
    let key = match given.key.as_deref() {
        Some(key) => key.to_owned(),
        None => default_key(&location.name).ok_or_else(|| {
            let example = suggest_key(&location.name).unwrap_or_else(|| "com.example.blogsearch".into());
            usage(format!(
                "the default key `com.example.{}` is not a valid key, since `{}` is not a valid key part \
                 (lowercase letters, digits, `-`, `_`); choose the key with --key, e.g. --key {example}",
                location.name, location.name
            ))
        })?,
    };
    let pick = |field: Field, default: &str| given.get(field).unwrap_or(default).to_owned();
    let values = Values {
        name: location.name.clone(),
        key,
        description: pick(Field::Description, &defaults.description),
        vendor_name: pick(Field::Vendor, &defaults.vendor),
        vendor_url: pick(Field::VendorUrl, &defaults.vendor_url),
    };
    values.check().map_err(usage)?;
    Ok((location, values))
}

impl Values {
    /// Checks every value; the first problem is the error.
    pub fn check(&self) -> Result<(), String> {
        check_name(&self.name)?;
        check_key(&self.key)?;
        check_description(&self.description)?;
        check_vendor(&self.vendor_name)?;
        check_vendor_url(&self.vendor_url)
    }
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
