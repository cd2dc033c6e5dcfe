//! The project templates, embedded in the binary so `connect new` needs no
//! network, and their rendering into files held in memory.
//!
//! Each directory under `templates/` is a template, described by its
//! `connect-template.json`. A file whose name ends in `.tera` is rendered
//! with Tera and written without that suffix; every other file is copied
//! byte for byte (so Tera syntax meant for `connect serve`, such as the
//! room reply templates, arrives intact).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use include_dir::{Dir, include_dir};
use serde::Deserialize;

use super::values::{Defaults, Values};
use crate::error::usage;

/// Every template, as built into the binary.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The template used when `-t` is not given.
pub const DEFAULT: &str = "hipchat";
/// The file describing a template; it is not part of the project.
const MANIFEST: &str = "connect-template.json";
/// The suffix of files rendered with Tera.
const RENDERED_SUFFIX: &str = ".tera";

/// A template's `connect-template.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// One line for `--list`.
    summary: String,
    /// Defaults the template supplies.
    defaults: ManifestDefaults,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestDefaults {
    description: String,
}

/// One embedded template.
#[derive(Clone, Debug)]
pub struct Template {
    /// Its name, as given to `-t`.
    pub name: &'static str,
    /// One line saying what it makes.
    pub summary: String,
    /// The defaults for values not given.
    pub defaults: Defaults,
    dir: &'static Dir<'static>,
}

/// A file of the project, rendered and ready to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// Its path inside the project (relative, `/`-separated parts).
    pub path: PathBuf,
    /// Its exact contents.
    pub contents: Vec<u8>,
}

/// The names of the embedded templates, sorted.
/// A file of the hipchat template as embedded (`templates/reply.html`):
/// the reply templates of a project that has none of its own.
pub fn builtin_file(path: &str) -> Option<&'static str> {
    TEMPLATES
        .get_file(format!("hipchat/{path}"))
        .and_then(|f| f.contents_utf8())
}

/// The names of the built-in templates.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = TEMPLATES
        .dirs()
        .filter(|dir| dir.get_file(dir.path().join(MANIFEST)).is_some())
        .filter_map(|dir| dir.path().file_name()?.to_str())
        .collect();
    names.sort_unstable();
    names
}

/// Every embedded template, sorted by name.
pub fn all() -> anyhow::Result<Vec<Template>> {
    names().into_iter().map(find).collect()
}

/// The template called `name`; an unknown name is a usage error listing
/// the valid ones.
pub fn find(name: &str) -> anyhow::Result<Template> {
    let dir = TEMPLATES
        .get_dir(name)
        .filter(|_| names().contains(&name))
        .ok_or_else(|| {
            usage(format!(
                "there is no template `{name}`; the templates are: {} (see `connect new --list`)",
                names().join(", ")
            ))
        })?;
    let raw = dir
        .get_file(dir.path().join(MANIFEST))
        .and_then(|file| file.contents_utf8())
        .ok_or_else(|| anyhow!("template `{name}` has no readable {MANIFEST}"))?;
    let manifest: Manifest = serde_json::from_str(raw)
        .with_context(|| format!("template `{name}` has an invalid {MANIFEST}"))?;
    Ok(Template {
        name: dir
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(DEFAULT),
        summary: manifest.summary,
        defaults: Defaults::with_description(&manifest.defaults.description),
        dir,
    })
}

impl Template {
    /// Renders every file of the template with `values`, in memory, sorted
    /// by path. Nothing touches the disk.
    pub fn render(&self, values: &Values) -> anyhow::Result<Vec<RenderedFile>> {
        let mut sources = Vec::new();
        collect_files(self.dir, self.dir.path(), &mut sources);

        let mut tera = tera::Tera::default();
        // Each template escapes for its own format (`json_encode` in JSON);
        // HTML escaping would corrupt JSON and Markdown.
        tera.autoescape_on(Vec::new());
        let mut to_render = Vec::new();
        let mut outputs: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        let mut targets = BTreeSet::new();
        for (path, contents) in sources {
            if path == Path::new(MANIFEST) {
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            let rendered = name.strip_suffix(RENDERED_SUFFIX).map(PathBuf::from);
            let target = rendered.clone().unwrap_or_else(|| path.clone());
            if !targets.insert(target.clone()) {
                bail!(
                    "template `{}` makes `{}` twice",
                    self.name,
                    target.display()
                );
            }
            if rendered.is_some() {
                let text = std::str::from_utf8(contents)
                    .with_context(|| format!("template file `{name}` is not UTF-8"))?;
                tera.add_raw_template(&name, text)
                    .with_context(|| format!("template file `{name}` does not parse"))?;
                to_render.push((name, target));
            } else {
                outputs.insert(target, contents.to_vec());
            }
        }

        let context = tera::Context::from_serialize(values)
            .context("the values cannot be given to the templates")?;
        for (name, target) in to_render {
            let text = tera
                .render(&name, &context)
                .with_context(|| format!("rendering `{name}` of template `{}`", self.name))?;
            outputs.insert(target, text.into_bytes());
        }
        for (path, contents) in &outputs {
            check_output(path, contents)
                .with_context(|| format!("template `{}` is broken", self.name))?;
        }
        Ok(outputs
            .into_iter()
            .map(|(path, contents)| RenderedFile { path, contents })
            .collect())
    }
}

/// Every file under `dir`, with its path relative to `root`.
fn collect_files(dir: &'static Dir<'static>, root: &Path, out: &mut Vec<(PathBuf, &'static [u8])>) {
    for file in dir.files() {
        if let Ok(relative) = file.path().strip_prefix(root) {
            out.push((relative.to_path_buf(), file.contents()));
        }
    }
    for sub in dir.dirs() {
        collect_files(sub, root, out);
    }
}

/// Catches a template that renders something broken before anything is
/// written: every JSON file of a project must parse, strictly (the
/// descriptor, read by HipChat) or with comments (`config.json` and the
/// articles file, read by connect).
fn check_output(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if path.extension().is_none_or(|ext| ext != "json") {
        return Ok(());
    }
    let lenient = matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("config.json" | "articles.json")
    );
    if lenient {
        let text = std::str::from_utf8(contents)
            .with_context(|| format!("`{}` is not UTF-8", path.display()))?;
        crate::config::parse_text(text).map_err(|e| anyhow!("`{}`: {e}", path.display()))?;
    } else {
        serde_json::from_slice::<serde_json::Value>(contents)
            .with_context(|| format!("`{}` is not valid JSON", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "templates_tests.rs"]
mod tests;
