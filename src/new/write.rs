//! Putting a rendered project on disk: check the target first, then write
//! each file whole (temporary file + rename), and on failure remove what
//! this run created, so no half project is left behind.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};

use super::templates::RenderedFile;

/// How many existing entries an error lists before summarising the rest.
const LISTED: usize = 15;

/// What will be written where, once the target has been checked.
#[derive(Debug)]
pub struct Plan {
    root: PathBuf,
    files: Vec<RenderedFile>,
}

/// What writing did.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    /// Files that did not exist before.
    pub created: usize,
    /// Files of the template that replaced existing ones (`--force`).
    pub overwritten: usize,
}

/// Checks that `files` can be written under `root` and plans it. A
/// directory that is not empty is refused, listing the conflicting files,
/// unless `force`; a file of the template blocked by a directory (or a
/// directory blocked by a file) is refused even with `force`, since getting
/// past it would mean deleting something.
pub fn plan(root: &Path, files: Vec<RenderedFile>, force: bool) -> anyhow::Result<Plan> {
    let shown = root.display();
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Plan {
                root: root.to_path_buf(),
                files,
            });
        }
        Err(_) if root.exists() && !root.is_dir() => {
            return Err(anyhow!(
                "`{shown}` exists and is not a directory; choose another NAME"
            ));
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read the directory `{shown}`"));
        }
    };
    let mut existing: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir { format!("{name}/") } else { name }
        })
        .collect();
    existing.sort();
    if existing.is_empty() {
        return Ok(Plan {
            root: root.to_path_buf(),
            files,
        });
    }

    let mut overwrites = Vec::new();
    let mut blocked = Vec::new();
    for file in &files {
        match obstacle(root, &file.path) {
            Obstacle::None => {}
            Obstacle::File => overwrites.push(file.path.clone()),
            Obstacle::Blocked(why) => blocked.push(why),
        }
    }
    if !blocked.is_empty() {
        return Err(anyhow!(
            "cannot write the project into `{shown}` without deleting something:\n{}\nNothing was written; move those aside or choose another NAME.",
            indent(&blocked)
        ));
    }
    if !force {
        let detail = if overwrites.is_empty() {
            format!(
                "it holds {}, none of which the template would overwrite:\n{}",
                count(existing.len(), "entry", "entries"),
                indent(&existing)
            )
        } else {
            let listed: Vec<String> = overwrites.iter().map(|p| p.display().to_string()).collect();
            format!(
                "{} of the template already exist there:\n{}",
                count(listed.len(), "file", "files"),
                indent(&listed)
            )
        };
        return Err(anyhow!(
            "the directory `{shown}` is not empty; {detail}\nNothing was written. Use --force to write the template's files into it \
             (overwriting only those, deleting nothing), or choose another NAME."
        ));
    }
    Ok(Plan {
        root: root.to_path_buf(),
        files,
    })
}

/// Whether `root` can take a new project without `--force`: it does not
/// exist yet or is an empty directory. Lets the name prompt re-ask at once.
pub fn is_free(root: &Path) -> bool {
    match fs::read_dir(root) {
        Ok(mut entries) => entries.next().is_none(),
        Err(err) => err.kind() == io::ErrorKind::NotFound,
    }
}

enum Obstacle {
    None,
    File,
    Blocked(String),
}

/// What stands where `relative` would be written.
fn obstacle(root: &Path, relative: &Path) -> Obstacle {
    let mut path = root.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let Ok(meta) = fs::metadata(&path) else {
            return Obstacle::None;
        };
        let last = i + 1 == parts.len();
        let shown = path.strip_prefix(root).unwrap_or(&path).display();
        match (last, meta.is_dir()) {
            (true, true) => {
                return Obstacle::Blocked(format!(
                    "`{shown}` is a directory; the template has a file there"
                ));
            }
            (true, false) => return Obstacle::File,
            (false, false) => {
                return Obstacle::Blocked(format!(
                    "`{shown}` is a file; the template has a directory there"
                ));
            }
            (false, true) => {}
        }
    }
    Obstacle::None
}

impl Plan {
    /// Writes every file. On failure, removes the files and directories this
    /// call created; files it already overwrote stay overwritten (the
    /// error says how many).
    pub fn apply(self) -> anyhow::Result<Written> {
        let mut undo = Undo::default();
        match self.write_all(&mut undo) {
            Ok(written) => Ok(written),
            Err(err) => {
                let overwritten = undo.overwritten;
                undo.roll_back();
                let note = if overwritten == 0 {
                    "nothing was left behind".to_owned()
                } else {
                    format!(
                        "{} had already been overwritten",
                        count(overwritten, "file", "files")
                    )
                };
                Err(err.context(format!(
                    "could not write the project into `{}`; {note}",
                    self.root.display()
                )))
            }
        }
    }

    fn write_all(&self, undo: &mut Undo) -> anyhow::Result<Written> {
        create_dirs(&self.root, undo)?;
        for file in &self.files {
            let path = self.root.join(&file.path);
            if let Some(parent) = path.parent() {
                create_dirs(parent, undo)?;
            }
            let replaced = write_whole(&path, &file.contents)
                .with_context(|| format!("writing `{}`", path.display()))?;
            if replaced {
                undo.overwritten += 1;
            } else {
                undo.files.push(path);
            }
        }
        Ok(Written {
            created: undo.files.len(),
            overwritten: undo.overwritten,
        })
    }
}

/// What a failed write must remove.
#[derive(Default)]
struct Undo {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    overwritten: usize,
}

impl Undo {
    fn roll_back(self) {
        for file in self.files.iter().rev() {
            let _ = fs::remove_file(file);
        }
        // Only directories this run created, deepest first, and only if empty.
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Creates `dir` and any missing parents, remembering each one created.
fn create_dirs(dir: &Path, undo: &mut Undo) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for ancestor in dir.ancestors() {
        if ancestor.as_os_str().is_empty() || ancestor.is_dir() {
            break;
        }
        missing.push(ancestor.to_path_buf());
    }
    for dir in missing.into_iter().rev() {
        match fs::create_dir(&dir) {
            Ok(()) => undo.dirs.push(dir),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("creating the directory `{}`", dir.display()));
            }
        }
    }
    Ok(())
}

/// Writes `contents` to a temporary file beside `path`, then renames it
/// over `path`: a reader (or a crash) sees the old file or the new one,
/// never half of one. Keeps the permissions of a file it replaces. Returns
/// whether a file was replaced.
fn write_whole(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let previous = fs::metadata(path).ok();
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(contents)?;
        if let Some(meta) = &previous {
            file.set_permissions(meta.permissions())?;
        }
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| previous.is_some())
}

fn indent(lines: &[String]) -> String {
    let mut out: Vec<String> = lines
        .iter()
        .take(LISTED)
        .map(|line| format!("    {line}"))
        .collect();
    if lines.len() > LISTED {
        out.push(format!("    ... and {} more", lines.len() - LISTED));
    }
    out.join("\n")
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> RenderedFile {
        RenderedFile {
            path: PathBuf::from(path),
            contents: contents.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_failed_write_removes_every_file_and_directory_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/project");
        // A name longer than any file system allows fails after the first
        // file is written.
        let too_long = format!("sub/{}", "x".repeat(300));
        let files = vec![file("first.txt", "1"), file(&too_long, "2")];
        let err = plan(&root, files, false).unwrap().apply().unwrap_err();
        assert!(
            format!("{err:#}").contains("nothing was left behind"),
            "{err:#}"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "a/ must be gone too"
        );
    }

    #[test]
    fn a_failed_write_keeps_what_was_there_before() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("mine.txt"), "mine").unwrap();
        fs::write(dir.path().join("first.txt"), "old").unwrap();
        let files = vec![file("first.txt", "new"), file(&"y".repeat(300), "2")];
        let err = plan(dir.path(), files, true).unwrap().apply().unwrap_err();
        assert!(
            format!("{err:#}").contains("1 file had already been overwritten"),
            "{err:#}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("mine.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
    }

    #[test]
    fn overwriting_keeps_the_permissions_of_the_replaced_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o750)).unwrap();
        assert!(write_whole(&path, b"new").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o750
        );
    }
}
