//! Which file-system events restart the add-on: a pure classification,
//! tested without touching the disk.
//!
//! A path is ignored when any of its components is an ignored folder
//! (`.git`, `target`, `node_modules`), when it is one of the embedded
//! store's files (the database and its `-wal`, `-shm`, `-journal`
//! companions: the running add-on writes them, so watching them would make
//! every request restart it), an editor's scratch file, a `--ignore` glob,
//! a `.gitignore`d path, or (with `--ext`) a file of another extension.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::EventKind;

/// Folders never worth a restart, wherever they appear.
pub const IGNORED_DIRS: &[&str] = &[".git", "target", "node_modules"];

/// Editors' swap, backup and probe files (vim writes `4913` to test a
/// folder is writable).
const SCRATCH_GLOBS: &[&str] = &["*.swp", "*.swx", "*.swo", "*~", ".#*", "**/4913"];

/// The embedded store's companions, appended to the database's file name.
const STORE_SUFFIXES: &[&str] = &["", "-wal", "-shm", "-journal"];

/// Everything the classifier needs, built once from the command line and
/// the project.
#[derive(Debug)]
pub struct Rules {
    root: PathBuf,
    ignored_dirs: Vec<OsString>,
    ignored_files: Vec<PathBuf>,
    globs: GlobSet,
    extensions: Vec<String>,
    gitignore: Gitignore,
    muted: BTreeSet<PathBuf>,
}

impl Rules {
    /// Rules for the project at `root` (absolute, canonical). `store` is the
    /// embedded database file if the project uses one; `ignore_globs` come
    /// from `--ignore`, `extensions` from `--ext` (empty: every file).
    pub fn new(
        root: &Path,
        store: Option<&Path>,
        ignore_globs: &[String],
        extensions: &[String],
        gitignore: Gitignore,
    ) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        for pattern in SCRATCH_GLOBS {
            builder.add(Glob::new(pattern).map_err(|e| e.to_string())?);
        }
        for pattern in ignore_globs {
            let glob = Glob::new(pattern).map_err(|e| {
                format!("--ignore `{pattern}` is not a valid glob ({e}); e.g. --ignore '*.log' or --ignore 'logs/**'")
            })?;
            builder.add(glob);
        }
        let globs = builder.build().map_err(|e| e.to_string())?;
        let ignored_files = store
            .map(|db| {
                STORE_SUFFIXES
                    .iter()
                    .map(|suffix| {
                        let mut name = db.as_os_str().to_owned();
                        name.push(suffix);
                        PathBuf::from(name)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            root: root.to_path_buf(),
            ignored_dirs: IGNORED_DIRS.iter().map(OsString::from).collect(),
            ignored_files,
            globs,
            extensions: extensions
                .iter()
                .flat_map(|e| e.split(','))
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            gitignore,
            muted: BTreeSet::new(),
        })
    }

    /// Replaces the `.gitignore` matcher (after `.gitignore` itself changed).
    pub fn set_gitignore(&mut self, gitignore: Gitignore) {
        self.gitignore = gitignore;
    }

    /// Stops restarting for these files (a restart loop was found).
    pub fn mute(&mut self, paths: &BTreeSet<PathBuf>) {
        self.muted.extend(paths.iter().cloned());
    }

    /// Restarts for every file again; returns whether any was muted.
    pub fn unmute(&mut self) -> bool {
        let any = !self.muted.is_empty();
        self.muted.clear();
        any
    }

    /// Whether a change to `path` should restart the add-on. `is_dir`
    /// says whether the path is a folder (for `dir/` patterns). The
    /// project's `.env` always does (it is usually git-ignored).
    pub fn is_relevant(&self, path: &Path, is_dir: bool) -> bool {
        if self.muted.contains(path) {
            return false;
        }
        if path == self.root.join(crate::dev::dotenv::FILE) {
            return true;
        }
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        if relative
            .components()
            .any(|c| self.ignored_dirs.iter().any(|d| c.as_os_str() == d))
        {
            return false;
        }
        if self.ignored_files.iter().any(|f| f == path) {
            return false;
        }
        if self.globs.is_match(relative) || path.file_name().is_some_and(|n| self.globs.is_match(n))
        {
            return false;
        }
        // The matcher panics on paths outside its root (an extra --watch).
        if path.starts_with(&self.root)
            && self
                .gitignore
                .matched_path_or_any_parents(path, is_dir)
                .is_ignore()
        {
            return false;
        }
        if !self.extensions.is_empty() {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            return ext.is_some_and(|e| self.extensions.contains(&e));
        }
        true
    }
}

/// Builds the `.gitignore` matcher of `root` (its `.gitignore` and
/// `.git/info/exclude`); a missing file ignores nothing, a bad line is
/// skipped with a warning returned to the caller.
pub fn load_gitignore(root: &Path) -> (Gitignore, Option<String>) {
    let mut builder = GitignoreBuilder::new(root);
    let mut warning = None;
    for file in [root.join(".gitignore"), root.join(".git/info/exclude")] {
        if file.is_file()
            && let Some(err) = builder.add(&file)
        {
            warning = Some(format!("{}: {err}", file.display()));
        }
    }
    match builder.build() {
        Ok(gitignore) => (gitignore, warning),
        Err(err) => (Gitignore::empty(), Some(err.to_string())),
    }
}

/// Whether an event kind can change what the add-on serves. Reads and
/// closes cannot; neither can a new folder by itself (the files written
/// into it have events of their own, which the ignore rules then judge).
pub fn is_change(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(_) | EventKind::Create(notify::event::CreateKind::Folder)
    )
}

/// The first relevant path of an event, if the event is a change at all.
pub fn trigger<'a>(
    rules: &Rules,
    kind: &EventKind,
    paths: &'a [PathBuf],
    is_dir: impl Fn(&Path) -> bool,
) -> Option<&'a PathBuf> {
    if !is_change(kind) {
        return None;
    }
    paths.iter().find(|p| rules.is_relevant(p, is_dir(p)))
}

/// Whether an event touched a `.gitignore`, so the matcher must be rebuilt.
pub fn touches_gitignore(paths: &[PathBuf]) -> bool {
    paths
        .iter()
        .any(|p| p.file_name().is_some_and(|n| n == ".gitignore"))
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, CreateKind, ModifyKind, RenameMode};

    use super::*;

    fn rules_with(globs: &[&str], exts: &[&str], gitignore_lines: &[&str]) -> Rules {
        let root = Path::new("/p");
        let mut gi = GitignoreBuilder::new(root);
        for line in gitignore_lines {
            gi.add_line(None, line).expect("valid gitignore line");
        }
        Rules::new(
            root,
            Some(Path::new("/p/store.db")),
            &globs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &exts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            gi.build().expect("gitignore builds"),
        )
        .expect("rules build")
    }

    fn rules() -> Rules {
        rules_with(&[], &[], &[])
    }

    fn relevant(r: &Rules, p: &str) -> bool {
        r.is_relevant(Path::new(p), false)
    }

    #[test]
    fn an_edit_to_a_project_file_is_relevant() {
        assert!(relevant(&rules(), "/p/atlassian-connect.json"));
        assert!(relevant(&rules(), "/p/templates/reply.html"));
    }

    #[test]
    fn version_control_build_and_dependency_folders_are_ignored() {
        let r = rules();
        assert!(!relevant(&r, "/p/.git/index"));
        assert!(!relevant(&r, "/p/.git"));
        assert!(!relevant(&r, "/p/target/debug/connect"));
        assert!(!relevant(&r, "/p/sub/node_modules/x/index.js"));
    }

    #[test]
    fn the_embedded_store_and_its_journal_files_are_ignored() {
        let r = rules();
        for f in [
            "store.db",
            "store.db-wal",
            "store.db-shm",
            "store.db-journal",
        ] {
            assert!(!relevant(&r, &format!("/p/{f}")), "{f}");
        }
        assert!(relevant(&r, "/p/store.dbx"));
    }

    #[test]
    fn editor_scratch_files_are_ignored() {
        let r = rules();
        assert!(!relevant(&r, "/p/.atlassian-connect.json.swp"));
        assert!(!relevant(&r, "/p/config.json~"));
        assert!(!relevant(&r, "/p/templates/4913"));
        assert!(!relevant(&r, "/p/.#reply.html"));
    }

    #[test]
    fn ignore_globs_match_relative_paths_and_names() {
        let r = rules_with(&["*.log", "tmp/**"], &[], &[]);
        assert!(!relevant(&r, "/p/server.log"));
        assert!(!relevant(&r, "/p/logs/a.log"));
        assert!(!relevant(&r, "/p/tmp/x/y.json"));
        assert!(relevant(&r, "/p/tmpl.json"));
    }

    #[test]
    fn a_bad_ignore_glob_is_reported_with_an_example() {
        let err = Rules::new(
            Path::new("/p"),
            None,
            &["a[".into()],
            &[],
            Gitignore::empty(),
        )
        .expect_err("bad glob");
        assert!(err.contains("--ignore `a[`"), "{err}");
    }

    #[test]
    fn gitignored_files_and_folders_are_ignored() {
        let r = rules_with(&[], &[], &["*.tmp", "dist/", "/secret.json"]);
        assert!(!relevant(&r, "/p/a.tmp"));
        assert!(!relevant(&r, "/p/dist/bundle.js"));
        assert!(!relevant(&r, "/p/secret.json"));
        assert!(relevant(&r, "/p/sub/secret.json"));
        assert!(relevant(&r, "/p/dist.json"));
    }

    #[test]
    fn paths_outside_the_project_skip_the_gitignore_instead_of_panicking() {
        let r = rules_with(&[], &[], &["*.json"]);
        assert!(relevant(&r, "/elsewhere/a.json"));
    }

    #[test]
    fn extensions_restrict_to_the_listed_kinds_with_or_without_dots() {
        let r = rules_with(&[], &["json,.HTML"], &[]);
        assert!(relevant(&r, "/p/config.json"));
        assert!(relevant(&r, "/p/templates/reply.html"));
        assert!(!relevant(&r, "/p/README.md"));
        assert!(!relevant(&r, "/p/Procfile"));
    }

    #[test]
    fn reads_never_trigger_but_writes_creates_and_renames_do() {
        let r = rules();
        let paths = vec![PathBuf::from("/p/config.json")];
        let read = EventKind::Access(AccessKind::Any);
        assert_eq!(trigger(&r, &read, &paths, |_| false), None);
        let folder = EventKind::Create(CreateKind::Folder);
        assert_eq!(trigger(&r, &folder, &paths, |_| true), None);
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Remove(notify::event::RemoveKind::File),
        ] {
            assert_eq!(trigger(&r, &kind, &paths, |_| false), Some(&paths[0]));
        }
    }

    #[test]
    fn an_atomic_save_is_reported_by_its_destination() {
        let r = rules();
        let paths = vec![
            PathBuf::from("/p/.config.json.swp"),
            PathBuf::from("/p/config.json"),
        ];
        let kind = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(trigger(&r, &kind, &paths, |_| false), Some(&paths[1]));
    }

    #[test]
    fn the_env_file_restarts_even_when_git_ignores_it_and_muted_files_do_not() {
        let mut r = rules_with(&[], &["html"], &[".env", "*.log"]);
        assert!(relevant(&r, "/p/.env"));
        assert!(!relevant(&r, "/p/sub/.env"));
        assert!(relevant(&r, "/p/templates/reply.html"));
        r.mute(
            &[PathBuf::from("/p/templates/reply.html")]
                .into_iter()
                .collect(),
        );
        assert!(!relevant(&r, "/p/templates/reply.html"));
    }

    #[test]
    fn a_gitignore_change_is_noticed() {
        assert!(touches_gitignore(&[PathBuf::from("/p/.gitignore")]));
        assert!(!touches_gitignore(&[PathBuf::from("/p/gitignore.md")]));
    }
}
