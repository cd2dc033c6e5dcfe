//! Giving a new project its own git repository.
//!
//! The project gets `git init` and nothing more: nothing is staged or
//! committed on the user's behalf (as with `cargo new`), since a commit
//! needs their identity and is theirs to make. The template's `.gitignore`
//! keeps the development store out, so `git add -A` is safe.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Variables that would point git at another repository than the one in
/// the project (set, for instance, when `connect new` runs from a git hook).
const REPOSITORY_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// What became of the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `git init` made an empty repository.
    Initialised,
    /// `--no-git` was given.
    NotWanted,
    /// The project is inside this repository already.
    InsideRepository(PathBuf),
    /// git is not installed.
    NoGit,
    /// git failed; the project is complete all the same.
    Failed(String),
}

/// Runs `git init` in `dir` (an absolute path) unless it is inside a
/// repository already or git is missing.
pub fn init(dir: &Path) -> Outcome {
    if let Some(top) = enclosing_repository(dir) {
        return Outcome::InsideRepository(top);
    }
    match git(dir, &["init", "--quiet"]) {
        Ok(output) if output.status.success() => Outcome::Initialised,
        Ok(output) => Outcome::Failed(first_line(&String::from_utf8_lossy(&output.stderr))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Outcome::NoGit,
        Err(err) => Outcome::Failed(format!("could not run git: {err}")),
    }
}

/// The nearest directory at or above `dir` holding a `.git` (a directory,
/// or a file in worktrees and submodules). Looked up here rather than with
/// `git rev-parse`, which would cost a second git process, as much as the
/// rest of `connect new` put together.
fn enclosing_repository(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|ancestor| ancestor.join(".git").exists())
        .map(Path::to_path_buf)
}

fn git(dir: &Path, args: &[&str]) -> io::Result<Output> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).stdin(Stdio::null());
    for variable in REPOSITORY_VARIABLES {
        command.env_remove(variable);
    }
    command.output()
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    line.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_repository_a_directory_is_in_from_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(enclosing_repository(&deep), None);
        // A worktree or submodule has a `.git` file, not a directory.
        std::fs::write(dir.path().join("a/.git"), "gitdir: elsewhere\n").unwrap();
        assert_eq!(enclosing_repository(&deep), Some(dir.path().join("a")));
    }
}
